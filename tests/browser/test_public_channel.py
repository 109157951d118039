"""The public web channel and the callback agent in chromium: a citizen on a phone-sized
screen submits a request with a photo and looks up its status; the survey link of a reviewed
web ticket records an answer; a callback agent logs in, presses 拨打 (refused while they have
no phone; with a seat, the call cannot be placed without Asterisk and the row says so) and
rates a ticket (不满意: 重办)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.seats.service import bind_seat
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user
from hotline.web.pages.public import PublicConsole
from tests.browser.conftest import PASSWORD, Console
from tests.browser.test_unit_handler import png
from tests.unit.test_public_pages import reviewed_web_ticket

PHONE_VIEW = {"width": 390, "height": 844}
AGENT_SEAT = "PJSIP/seat3"
# The form refuses what comes back faster than a person fills it (PublicConsole.min_fill).
FILL_MS = int(PublicConsole.__dataclass_fields__["min_fill"].default.total_seconds()  # type: ignore[union-attr]
              * 1000) + 300


def _reviewed(console: Console, phone: str, text: str) -> str:
    return reviewed_web_ticket(console.hotline.engine, console.hotline.clock(), phone=phone,
                               text=text, reply="已约谈商户，噪音已停止")


def _status(console: Console, number: str) -> str:
    with session_scope(console.hotline.engine) as session:
        return service.get_by_number(session=session, number=number).status


def test_given_a_citizen_on_a_phone_when_submitting_with_a_photo_then_the_status_found(
    console: Console, page: Any
) -> None:
    page.set_viewport_size(PHONE_VIEW)
    page.goto(f"{console.url}/public")
    page.fill("input[name=name]", "王先生")
    page.fill("input[name=phone]", "13800002222")
    page.select_option("select[name=request_type]", "help")
    page.fill("input[name=location]", "解放路与人民路交叉口")
    page.fill("textarea[name=description]", "路口井盖缺失，夜间行人容易踩空，请尽快处理。")
    page.set_input_files("input[name=photo]", files=[
        {"name": "现场.png", "mimeType": "image/png", "buffer": png(32, 32)}])
    console.screenshot(page, "public-form")
    page.wait_for_timeout(FILL_MS)
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#submitted")
    number = page.inner_text("#ticket-number")
    assert re.fullmatch(r"\d{8}-\d{5}", number)
    console.screenshot(page, "public-submitted")
    with session_scope(console.hotline.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        assert ticket.channel == "web" and ticket.caller_phone == "13800002222"

    page.click("a[href='/public/status']")
    page.fill("input[name=number]", number)
    page.fill("input[name=phone]", "13900009999")  # not the caller's phone
    page.wait_for_timeout(FILL_MS)
    page.click("#status-form button")
    page.wait_for_selector("#not-found")
    assert page.locator("#found").count() == 0
    page.fill("input[name=phone]", "13800002222")
    page.wait_for_timeout(FILL_MS)
    page.click("#status-form button")
    page.wait_for_selector("#found")
    assert page.inner_text("#public-status") == "已受理，等待派单"
    assert "13800002222" not in page.content()
    console.screenshot(page, "public-status")


def test_given_a_reviewed_web_ticket_when_the_citizen_answers_the_survey_then_closed(
    console: Console, page: Any
) -> None:
    number = _reviewed(console, "13800003333", "楼下商户夜间噪音扰民")
    page.set_viewport_size(PHONE_VIEW)
    page.goto(f"{console.url}/public/status")
    page.fill("input[name=number]", number)
    page.fill("input[name=phone]", "13800003333")
    page.wait_for_timeout(FILL_MS)
    page.click("#status-form button")
    page.wait_for_selector("#survey-link")
    assert "噪音已停止" in page.inner_text("#reply")
    page.click("#survey-link")
    page.wait_for_selector("#survey-form")
    page.check("input[name=result][value=满意]")
    page.fill("textarea[name=comment]", "处理及时，谢谢")
    console.screenshot(page, "public-survey")
    page.wait_for_timeout(FILL_MS)
    page.click("#survey-form button")
    page.wait_for_selector("#thanks")
    console.screenshot(page, "public-survey-thanks")
    assert _status(console, number) == lc.Status.CLOSED
    page.reload()
    page.wait_for_selector("#closed")  # one answer


def test_given_a_callback_agent_when_rating_unsatisfied_then_redo(
    console: Console, page: Any
) -> None:
    with session_scope(console.hotline.engine) as session:
        agent = create_user(session=session, user_create=UserCreate(
            username="cb", role=Role.callback_agent, password=PASSWORD))
    number = _reviewed(console, "13800004444", "小区垃圾清运不及时")
    console.log_in(page, "cb")
    assert page.url.endswith("/callback")
    row = page.locator(f"tr.revisit-row[data-number='{number}']")
    assert "13800004444" in row.inner_text()

    row.locator(".dial-form button").click()  # 拨打: I have no phone to ring yet
    refused = row.locator(".dial .refused")
    refused.wait_for()
    assert refused.get_attribute("data-error-id") == "agent-has-no-phone"
    assert "您没有可振铃的话机" in refused.inner_text()
    console.screenshot(page, "callback-dial-no-phone")
    with session_scope(console.hotline.engine) as session:  # I sit at seat3 (its phone rings)
        bind_seat(session=session, user=agent, interface=AGENT_SEAT, seats=[AGENT_SEAT],
                  now=console.hotline.clock())
    row.locator(".dial-form button").click()  # stored, then the Originate finds no Asterisk
    failed = row.locator(".dial .agent-call[data-state=failed]")
    failed.wait_for()
    assert "呼叫失败" in failed.inner_text() and row.locator(".dial .refused").count() == 0
    with Session(console.hotline.engine) as session:
        [call] = session.exec(select(OutboundCall).where(OutboundCall.number == number)).all()
        [attempt] = session.exec(select(OutboundAttempt)
                                 .where(OutboundAttempt.call_id == call.id)).all()
    assert (call.purpose, call.phone, call.active_number) == ("agent", "13800004444", None)
    assert (attempt.outcome, attempt.detail["agent_phone"]) == ("failed", AGENT_SEAT)
    assert attempt.detail["error"] in failed.inner_text()  # what the AMI client said
    console.screenshot(page, "callback-dial-failed")

    row.locator("input[name=result][value=不满意]").check()
    row.locator("input[name=comment]").fill("垃圾仍未清运")
    console.screenshot(page, "callback-queue")
    row.locator(".rate-form button").click()
    page.wait_for_selector(f"#rated[data-number='{number}']")
    assert "已转重办" in page.inner_text("#rated")
    assert page.locator(f"tr.revisit-row[data-number='{number}']").count() == 0
    console.screenshot(page, "callback-rated")
    assert _status(console, number) == lc.Status.IN_PROGRESS
