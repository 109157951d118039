"""The seat operator's other ways to take a call, in chromium: 即办 from the knowledge base
(answered and closed), merge into the caller's earlier ticket, and the emergency transfer
button. Each call arrives as the AMI events Asterisk sends (through the controller's handler)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.knowledge.models import KnowledgeArticleCreate
from hotline.knowledge.service import add_article
from hotline.tickets.models import Ticket, TicketCreate, TicketType
from hotline.tickets.service import create_ticket
from tests.browser.conftest import Console

SEAT = "PJSIP/seat1"


def _ring_and_answer(console: Console, page: Any, caller: str) -> str:
    """My seat is bound (the page loads again: its pop stream follows the seat); a queue call
    from ``caller`` rings it and is answered: it pops, and the pop's redraws are over (a key
    pressed while htmx swaps the pop would click a button being replaced)."""
    console.log_in(page, "op")
    page.select_option("#seat select[name=interface]", SEAT)
    with page.expect_navigation():  # HX-Refresh
        page.click("#seat form[hx-post='/seat/bind'] button")
    page.wait_for_selector("#seat-state")
    page.wait_for_selector("body.live")
    uid = f"1700000001.{uuid.uuid4().int % 100000}"
    console.ami_event({"Event": "Newchannel", "Context": "hotline-in", "Uniqueid": uid,
                       "Linkedid": uid, "Channel": "PJSIP/citizen1-00000002",
                       "CallerIDNum": caller, "CallerIDName": caller, "Exten": "12345"})
    for event in ("AgentCalled", "AgentConnect"):
        console.ami_event({"Event": event, "Queue": "hotline", "Uniqueid": uid,
                           "Interface": SEAT, "MemberName": "seat1", "HoldTime": "2",
                           "CallerIDNum": caller, "CallerIDName": caller})
    page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=answered]")
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    return uid


def _ticket(console: Console, number: str | None) -> Ticket:
    assert number
    with Session(console.hotline.engine) as session:
        return session.exec(select(Ticket).where(Ticket.number == number)).one()


def test_given_a_question_in_the_knowledge_base_when_i_answer_from_it_then_closed_at_once(
    console: Console, page: Any
) -> None:
    with session_scope(console.hotline.engine) as session:
        article = add_article(session=session, article=KnowledgeArticleCreate(
            title="居住证办理",
            body="居住证请携带身份证和居住证明到户籍所在地派出所办理，当场受理。",
            keywords=["居住证"], unit_name="市公安局"))
        article_id = article.id
    uid = _ring_and_answer(console, page, "13700000001")
    page.fill("#ticket-form textarea[name=description]", "想问居住证怎么办理")
    page.select_option("#ticket-form select[name=request_type]", "consultation")
    page.keyboard.press("F3")
    page.keyboard.type("居住证")
    hit = page.locator(f".kb-hit[data-article='{article_id}']")
    hit.wait_for()
    assert "派出所" in hit.inner_text()
    console.screenshot(page, "seat-knowledge-hit")

    hit.locator("button").click()
    page.wait_for_selector("#taken")
    assert "即办办结" in page.inner_text("#taken") and "已办结" in page.inner_text("#taken")
    ticket = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert ticket.status == "closed" and ticket.call_uniqueid == uid
    assert ticket.request_type == "consultation"
    console.screenshot(page, "seat-answered-now")


def test_given_an_earlier_ticket_of_the_caller_when_i_merge_then_the_call_joins_it(
    console: Console, page: Any
) -> None:
    caller = "13700000002"
    with session_scope(console.hotline.engine) as session:
        parent = create_ticket(session=session, draft=TicketCreate(
            caller_phone=caller, request_type=TicketType.COMPLAINT, location="人民路",
            description="人民路工地夜间施工噪音扰民"), now=console.hotline.clock(), actor="op")
        parent_number, parent_id = parent.number, parent.id
    uid = _ring_and_answer(console, page, caller)
    assert parent_number in page.inner_text("#history")
    assert page.input_value("#ticket-form input[name=parent]") == parent_number  # prefilled
    said = "人民路工地又在夜里施工，很吵"
    page.fill("#ticket-form textarea[name=description]", said)
    # The caller hangs up while I write: the pop is drawn again, what I typed stays.
    console.ami_event({"Event": "Hangup", "Uniqueid": uid, "Channel": "PJSIP/citizen1-00000002",
                       "Cause": "16"})
    page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=ended]")
    assert page.input_value("#ticket-form textarea[name=description]") == said
    page.keyboard.press("Alt+M")
    page.wait_for_selector("#taken")
    assert "已合并" in page.inner_text("#taken")
    child = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert child.status == "merged" and child.parent_id == parent_id
    console.screenshot(page, "seat-merged")


def _confirming(page: Any) -> list[str]:
    """Accept every confirmation the page asks; the questions asked, in order."""
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)
    return asked


def test_given_a_fire_when_i_press_transfer_to_119_and_confirm_then_transferred(
    console: Console, page: Any
) -> None:
    _ring_and_answer(console, page, "13700000003")
    asked = _confirming(page)
    # Refused (no description yet): the error shows above the form, what was typed stays.
    page.fill("#ticket-form input[name=location]", "建设路12号")
    page.click("#ticket-form button.danger:has-text('转 119')")
    page.wait_for_selector("#form-error .error")
    assert "请填写诉求内容" in page.inner_text("#form-error")
    assert page.input_value("#ticket-form input[name=location]") == "建设路12号"

    page.fill("#ticket-form textarea[name=description]", "楼道里冒烟，闻到焦味")
    page.click("#ticket-form button.danger:has-text('转 119')")
    page.wait_for_selector("#taken")
    assert asked == ["确认将来电转至 119？"] * 2
    assert "已转警" in page.inner_text("#taken")
    ticket = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert ticket.status == "transferred" and ticket.location == "建设路12号"
    console.screenshot(page, "seat-emergency-transferred")


def test_given_a_dismissed_confirmation_when_transferring_then_the_call_is_not_transferred(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000004")
    page.fill("#ticket-form textarea[name=description]", "路灯不亮，误按了转警")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#ticket-form button.danger:has-text('转 110')")
    page.keyboard.press("Alt+D")  # then dispatched as usual: the only ticket of the call
    page.wait_for_selector("#taken")
    assert "已派单至" in page.inner_text("#taken")
    with Session(console.hotline.engine) as session:
        tickets = session.exec(select(Ticket).where(Ticket.call_uniqueid == uid)).all()
        assert [t.status for t in tickets] == ["dispatched"]
    console.screenshot(page, "seat-transfer-dismissed")
