"""The unit handler in chromium: the inbox with lights and time left, signing, a reply with a
photo (checked by content: a text file named .jpg is refused), the photo served back only to
roles that may see the ticket."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx

from hotline.db import session_scope
from hotline.tickets.models import TicketCreate, TicketType
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
