"""The unit handler in chromium: the inbox with lights and time left, signing, a reply with a
photo (checked by content: a text file named .jpg is refused), the photo served back only to
roles that may see the ticket; a ticket returned with a reason (退回), an extension asked for
(申请延期) and shown waiting for approval."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx
from sqlmodel import Session, col, select

from hotline.db import session_scope
from hotline.tickets.models import (
    ExtensionRequest,
    Ticket,
    TicketCreate,
    TicketEvent,
    TicketType,
)
from hotline.tickets.service import create_ticket, dispatch
from tests.browser.conftest import PASSWORD, Console


def png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _open_new_ticket(console: Console, page: Any) -> str:
    """A ticket dispatched to 市城管局, opened from cg's inbox."""
    number = _dispatched_to_cg(console)
    console.log_in(page, "cg")
    page.locator(f"tr.ticket-row[data-number='{number}'] a").click()
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=dispatched]")
    return number


def _dispatched_to_cg(console: Console) -> str:
    with session_scope(console.hotline.engine) as session:
        ticket = create_ticket(session=session, draft=TicketCreate(
            caller_phone="13800001111", request_type=TicketType.HELP, location="解放路",
            description="解放路井盖缺失，有安全隐患"), now=console.hotline.clock(), actor="op")
        assert ticket.id is not None
        dispatch(session=session, ticket_id=ticket.id, main_unit="市城管局", actor="op",
                 now=console.hotline.clock())
        return ticket.number


def test_given_a_dispatched_ticket_when_the_unit_signs_and_replies_with_a_photo_then_stored(
    console: Console, page: Any
) -> None:
    number = _dispatched_to_cg(console)
    console.log_in(page, "cg")
    assert page.url.endswith("/unit")
    row = page.locator(f"tr.ticket-row[data-number='{number}']")
    assert row.locator(".light-green").count() == 1
    assert "小时" in row.inner_text() or "分钟" in row.inner_text()  # time left shown
    row.locator("a").click()
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=dispatched]")
    console.screenshot(page, "unit-inbox")

    page.keyboard.press("Alt+S")
    page.wait_for_selector("#ticket[data-status=signed]")

    page.fill("#reply-form textarea[name=text]", "已安排人员补装井盖，现场已恢复。")
    page.set_input_files("#reply-form input[name=files]", files=[
        {"name": "not-a-photo.jpg", "mimeType": "image/jpeg", "buffer": b"just text"}])
    page.click("#reply-form button")
    page.wait_for_selector("#ticket .error")
    assert page.get_attribute("#ticket .error", "data-error-id") == "attachment-refused"
    assert page.get_attribute("#ticket", "data-status") == "signed"  # nothing written

    page.fill("#reply-form textarea[name=text]", "已安排人员补装井盖，现场已恢复。")
    page.set_input_files("#reply-form input[name=files]", files=[
        {"name": "现场.png", "mimeType": "image/png", "buffer": png()}])
    page.click("#reply-form button")
    page.wait_for_selector("#ticket[data-status=replied]")
    # The inbox row follows the reply (its refresh is never dropped behind an earlier one).
    row = page.locator(f"tr.ticket-row[data-number='{number}'][data-status=replied]")
    row.wait_for()
    assert row.locator("td.status").inner_text() == "已答复"
    assert "已安排人员补装井盖" in page.inner_text("#ticket .reply")
    link = page.locator("#ticket a.attachment")
    assert link.inner_text() == "现场.png"
    href = link.get_attribute("href")
    served = page.request.get(f"{console.url}{href}")
    assert served.status == 200 and served.headers["content-type"] == "image/png"
    assert served.body() == png()
    console.screenshot(page, "unit-replied")

    # Another unit's handler may not fetch it; nobody without a session may.
    assert httpx.get(f"{console.url}{href}", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=console.url) as other:
        other.post("/login", data={"username": "zj", "password": PASSWORD})
        assert other.get(href).status_code == 403


def test_given_a_ticket_not_ours_when_the_unit_returns_it_with_a_reason_then_returned(
    console: Console, page: Any
) -> None:
    number = _open_new_ticket(console, page)
    page.fill("#return-form input[name=reason]", "井盖属市政公司管养，非本单位职责")
    console.screenshot(page, "unit-return-reason")
    page.click("#return-form button")
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=returned]")
    row = page.locator(f"tr.ticket-row[data-number='{number}'][data-status=returned]")
    row.wait_for()
    assert row.locator("td.status").inner_text() == "已退回"
    assert "已退回" in page.inner_text("#ticket h2")
    with Session(console.hotline.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        event = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                             .order_by(col(TicketEvent.seq).desc())).first()
        assert event is not None and event.action == "return"
        assert event.reason == "井盖属市政公司管养，非本单位职责"
    console.screenshot(page, "unit-returned")


def test_given_a_signed_ticket_when_the_unit_asks_for_an_extension_then_it_waits_for_approval(
    console: Console, page: Any
) -> None:
    number = _open_new_ticket(console, page)
    page.keyboard.press("Alt+S")
    page.wait_for_selector("#ticket[data-status=signed]")
    page.fill("#extension-form input[name=days]", "5")
    page.fill("#extension-form input[name=reason]", "需协调市政公司更换井座")
    page.click("#extension-form button")
    request = page.locator("#ticket .extension[data-decision=pending]")
    request.wait_for()
    assert "5 个工作日" in request.inner_text() and "待审批" in request.inner_text()
    with Session(console.hotline.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        asked = session.exec(select(ExtensionRequest)
                             .where(ExtensionRequest.ticket_id == ticket.id)).one()
        assert (asked.days, asked.decision, asked.requested_by) == (5, "pending", "cg")
    console.screenshot(page, "unit-extension-requested")
