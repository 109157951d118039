"""The keyboard shortcuts and the 1366×768 screen, in chromium at that viewport.

Each shortcut of the seat workspace (listed on it: F5 示闲, F6 示忙, F7 话后处理, F3 知识库,
Alt+D 受理并派单, Alt+J 即办, Alt+M 合并, F9 转 110, Alt+W 无效来电) and the unit handler's
Alt+S is pressed on a popped call (or an opened ticket), the result checked on the page and
in the database. The seat, unit, supervisor and callback pages have no horizontal scroll and
their main action buttons lie inside the viewport. The calls arrive as the AMI events Asterisk
sends (through the controller's handler); Asterisk itself is not running, so a seat state
change is refused by the server and shown as such (the request the key sent is checked).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.intake.drafts import drafts_of_call
from hotline.knowledge.models import KnowledgeArticleCreate
from hotline.knowledge.service import add_article
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Ticket, TicketCreate, TicketType
from hotline.tickets.service import act, create_ticket, get_by_number
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user
from tests.browser.conftest import PASSWORD, VIEWPORT, Console
from tests.browser.test_seat_actions import SEAT, _confirming, _ring_and_answer, _ticket
from tests.browser.test_seat_operator import _transcript_arrives
from tests.browser.test_unit_handler import _dispatched_to_cg

WIDTH, HEIGHT = VIEWPORT["width"], VIEWPORT["height"]


def _inside(page: Any, selector: str) -> None:
    """The element is wholly inside the viewport as the page is shown (nothing scrolled)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, (selector, box)


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def _settled_seat_panel(page: Any) -> None:
    """The seat panel's buttons are there (htmx swaps the panel: a key pressed meanwhile
    reaches chromium and F5 would reload the page)."""
    page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")
    page.wait_for_load_state("networkidle")


def test_given_a_popped_call_when_i_press_f5_f6_f7_then_each_asks_the_server_for_its_state(
    console: Console, page: Any
) -> None:
    _ring_and_answer(console, page, "13700000101")
    start = page.get_attribute("#seat-state", "data-state")
    for key, sent in (("F5", {"state": ["ready"]}),
                      ("F6", {"state": ["paused"], "reason": ["培训"]}),
                      ("F7", {"state": ["after_call"]})):
        _settled_seat_panel(page)
        if key == "F6":
            page.select_option("#seat select[name=reason]", "培训")
        with page.expect_response("**/seat/state") as answer:
            page.keyboard.press(key)
        request = answer.value.request
        assert request.method == "POST"
        form = parse_qs(request.post_data or "")
        assert {k: form[k] for k in sent} == sent, key
        # No Asterisk in this tier: the server refuses, says why, and the state stays.
        page.wait_for_selector("#seat .error")
        assert "未同步到排队" in page.inner_text("#seat .error"), key
        assert "AMI is not connected" in page.inner_text("#seat .error"), key
        assert page.get_attribute("#seat-state", "data-state") == start
    assert page.locator("#call[data-state=answered]").count() == 1  # the pop stayed
    console.screenshot(page, "keys-seat-state")


def test_given_a_call_ringing_before_the_pop_stream_opens_then_it_still_pops(
    console: Console, page: Any
) -> None:
    """The page is drawn, then the call rings, then the pop stream starts (held back here as a
    slow start or a reconnect would): the stream sends the board's call at once."""
    _ring_and_answer(console, page, "13700000100")
    held: list[Any] = []
    page.route("**/seat/pop/stream*", lambda route: held.append(route))
    page.goto(f"{console.url}/seat")
    for _ in range(400):  # until the page has asked for its stream (not answered yet)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page did not open its pop stream"
    uid = f"1700000003.{uuid.uuid4().int % 100000}"
    console.ami_event({"Event": "Newchannel", "Context": "hotline-in", "Uniqueid": uid,
                       "Linkedid": uid, "Channel": "PJSIP/citizen1-00000004",
                       "CallerIDNum": "13700000109", "CallerIDName": "", "Exten": "12345"})
    console.ami_event({"Event": "AgentCalled", "Queue": "hotline", "Uniqueid": uid,
                       "Interface": SEAT, "MemberName": "seat1",
                       "CallerIDNum": "13700000109", "CallerIDName": ""})
    assert page.locator(f"#call[data-uniqueid='{uid}']").count() == 0  # drawn before it rang
    held[0].continue_()
    page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=ringing]")
    console.screenshot(page, "pop-after-late-stream")


def test_given_a_popped_call_when_i_press_f3_while_typing_then_the_knowledge_search_opens(
    console: Console, page: Any
) -> None:
    with session_scope(console.hotline.engine) as session:
        article = add_article(session=session, article=KnowledgeArticleCreate(
            title="社保卡补办", body="社保卡丢失后可到社保卡服务网点挂失补办，带上身份证。",
            keywords=["社保卡"], unit_name="市人社局"))
        article_id = article.id
    _ring_and_answer(console, page, "13700000102")
    page.click("#ticket-form textarea[name=description]")
    page.keyboard.type("社保卡丢了")
    page.keyboard.press("F3")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("社保卡")
    page.locator(f".kb-hit[data-article='{article_id}']").wait_for()
    assert page.input_value("#ticket-form textarea[name=description]") == "社保卡丢了"
    console.screenshot(page, "keys-f3-knowledge")


def test_given_a_popped_call_when_i_press_alt_d_while_typing_then_dispatched(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000103")
    page.fill("#ticket-form input[name=location]", "人民路3号")
    page.click("#ticket-form textarea[name=description]")
    page.keyboard.type("人民路3号门前垃圾两天没有清运")
    page.keyboard.press("Alt+D")
    page.wait_for_selector("#taken")
    assert "已派单至" in page.inner_text("#taken")
    ticket = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert ticket.status == "dispatched" and ticket.call_uniqueid == uid
    assert ticket.location == "人民路3号"
    console.screenshot(page, "keys-alt-d-dispatched")


def test_given_a_popped_call_when_i_press_alt_j_then_answered_and_closed_at_once(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000104")
    page.fill("#ticket-form textarea[name=description]", "问政务服务中心几点下班")
    page.select_option("#ticket-form select[name=request_type]", "consultation")
    page.click("#ticket-form textarea[name=answer]")
    page.keyboard.type("工作日下午五点下班。")
    page.keyboard.press("Alt+J")
    page.wait_for_selector("#taken")
    assert "已办结" in page.inner_text("#taken")
    ticket = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert ticket.status == "closed" and ticket.call_uniqueid == uid
    console.screenshot(page, "keys-alt-j-answered")


def test_given_an_earlier_ticket_when_i_press_alt_m_then_the_call_is_merged_into_it(
    console: Console, page: Any
) -> None:
    caller = "13700000105"
    with session_scope(console.hotline.engine) as session:
        parent = create_ticket(session=session, draft=TicketCreate(
            caller_phone=caller, request_type=TicketType.HELP, location="文化路",
            description="文化路路灯不亮"), now=console.hotline.clock(), actor="op")
        parent_id = parent.id
    _ring_and_answer(console, page, caller)
    page.fill("#ticket-form textarea[name=description]", "文化路路灯还是不亮")
    page.keyboard.press("Alt+M")
    page.wait_for_selector("#taken")
    assert "已合并" in page.inner_text("#taken")
    child = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert child.status == "merged" and child.parent_id == parent_id
    console.screenshot(page, "keys-alt-m-merged")


def test_given_a_popped_call_when_i_press_f9_and_confirm_then_transferred_to_110(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000106")
    asked = _confirming(page)
    page.fill("#ticket-form textarea[name=description]", "楼下有人打架，有人受伤")
    page.keyboard.press("F9")
    page.wait_for_selector("#taken")
    assert asked == ["确认将来电转至 110？"]
    assert "已转警" in page.inner_text("#taken")
    ticket = _ticket(console, page.get_attribute("#taken", "data-number"))
    assert ticket.status == "transferred" and ticket.call_uniqueid == uid
    console.screenshot(page, "keys-f9-transferred")


def test_given_a_silent_call_when_i_press_alt_w_and_confirm_then_it_is_not_a_request(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000108")
    console.run(console.hotline.store.update_call(  # its record: in the queue 20 s ago
        uid, queue_joined_at=datetime.now(UTC) - timedelta(seconds=20)))
    page.reload()
    page.wait_for_selector("#accept-clock")  # answered, no ticket: the 受理 clock runs
    asked = _confirming(page)
    page.select_option("#ticket-form select[name=not_request_reason]", "silent")
    page.keyboard.press("Alt+W")
    page.wait_for_selector("#not-request-done, #not-request")
    assert asked == ["确认本次来电为无效来电、不生成工单？"]
    assert "无声电话" in page.inner_text("#pop")
    with Session(console.hotline.engine) as session:
        [draft] = drafts_of_call(session=session, call_uniqueid=uid)
        assert (draft.status, draft.discard_reason, draft.source) == ("discarded", "silent",
                                                                      "seat")
        assert session.exec(select(Ticket).where(Ticket.call_uniqueid == uid)).first() is None
    page.reload()  # drawn again from the server: the mark, the form folded, no clock
    page.wait_for_selector("#not-request[data-reason=silent]")
    assert page.locator("#accept-clock").count() == 0
    assert not page.locator("#ticket-form").is_visible()
    console.screenshot(page, "keys-alt-w-not-request")


def test_given_an_opened_ticket_when_the_unit_presses_alt_s_then_signed(
    console: Console, page: Any
) -> None:
    number = _dispatched_to_cg(console)
    console.log_in(page, "cg")
    page.locator(f"tr.ticket-row[data-number='{number}'] a").click()
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=dispatched]")
    page.keyboard.press("Alt+S")
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=signed]")
    with Session(console.hotline.engine) as session:
        assert get_by_number(session=session, number=number).status == "signed"
    console.screenshot(page, "keys-alt-s-signed")


def test_at_1366x768_the_seat_workspace_with_a_pop_fits_and_its_actions_are_in_view(
    console: Console, page: Any
) -> None:
    caller = "13700000107"
    with session_scope(console.hotline.engine) as session:
        for place in ("建设路", "建设路东口", "建设路12号"):  # a repeat caller: the history shows
            create_ticket(session=session, draft=TicketCreate(
                caller_phone=caller, request_type=TicketType.COMPLAINT, location=place,
                description=f"{place}夜间施工噪音扰民，已经持续一周"),
                now=console.hotline.clock(), actor="op")
    uid = _ring_and_answer(console, page, caller)
    console.run(console.hotline.store.update_call(
        uid, flow="default", ivr_path=["welcome", "staffed", "queue", "info_menu", "queue"]))
    _transcript_arrives(console, uid)  # the draft fills the form, its suggestions shown
    page.wait_for_selector("#transcript")
    assert page.locator("#history tr").count() == 3
    assert "常见问题菜单" in page.inner_text("#ivr-path")
    assert page.viewport_size == {"width": WIDTH, "height": HEIGHT}
    _no_horizontal_scroll(page)
    for selector in ("#seat button[data-key=F5]", "#seat button[data-key=F7]",
                     "#seat button[data-key=F6]", "#kb input[name=q]",
                     "#ticket-form textarea[name=description]",
                     "#ticket-form button[data-key='Alt+D']",
                     "#ticket-form button[data-key='Alt+J']",
                     "#ticket-form button[data-key='Alt+M']",
                     "#ticket-form button[data-key=F9]",
                     "#ticket-form button[data-key='Alt+W']"):
        _inside(page, selector)
    console.screenshot(page, "fit-seat-1366x768")


def test_at_1366x768_the_unit_inbox_and_ticket_fit_and_its_actions_are_in_view(
    console: Console, page: Any
) -> None:
    number = _dispatched_to_cg(console)
    console.log_in(page, "cg")
    _no_horizontal_scroll(page)
    page.locator(f"tr.ticket-row[data-number='{number}'] a").click()
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=dispatched]")
    _no_horizontal_scroll(page)
    for selector in ("button[data-key='Alt+S']", "#return-form button"):
        _inside(page, selector)
    page.click("button[data-key='Alt+S']")
    page.wait_for_selector(f"#ticket[data-number='{number}'][data-status=signed]")
    _no_horizontal_scroll(page)
    for selector in ("#extension-form button", "#reply-form textarea[name=text]",
                     "#reply-form button.primary"):
        _inside(page, selector)
    console.screenshot(page, "fit-unit-1366x768")


def _replied(console: Console) -> str:
    """A ticket 市城管局 signed and replied to: waiting for the supervisor's review."""
    number = _dispatched_to_cg(console)
    with session_scope(console.hotline.engine) as session:
        ticket = get_by_number(session=session, number=number)
        assert ticket.id is not None
        for action in (lc.Sign(unit="市城管局"), lc.Reply(unit="市城管局", text="井盖已补装。")):
            act(session=session, ticket_id=ticket.id, action=action, actor="cg",
                now=console.hotline.clock())
    return number


def test_at_1366x768_the_supervisor_workspace_fits_and_its_review_buttons_are_in_view(
    console: Console, page: Any
) -> None:
    number = _replied(console)
    console.log_in(page, "sup")
    row = page.locator(f"tr.review-row[data-number='{number}']")
    row.wait_for()
    _no_horizontal_scroll(page)
    row.scroll_into_view_if_needed()
    for value in ("true", "false"):
        _inside(page, f"tr.review-row[data-number='{number}'] button[name=approve]"
                      f"[value={value}]")
    console.screenshot(page, "fit-supervisor-1366x768")


def test_at_1366x768_the_callback_queue_fits_and_its_row_actions_are_in_view(
    console: Console, page: Any
) -> None:
    number = _replied(console)
    with session_scope(console.hotline.engine) as session:
        ticket = get_by_number(session=session, number=number)
        assert ticket.id is not None
        act(session=session, ticket_id=ticket.id, action=lc.Review(approve=True),
            actor="sup", now=console.hotline.clock())
        create_user(session=session, user_create=UserCreate(
            username="cb-fit", role=Role.callback_agent, password=PASSWORD))
    console.log_in(page, "cb-fit")
    row = page.locator(f"tr.revisit-row[data-number='{number}']")
    row.wait_for()
    _no_horizontal_scroll(page)
    row.scroll_into_view_if_needed()
    for selector in ("form.rate-form button.primary", "form.rate-form input[name=comment]",
                     "td button.primary"):
        _inside(page, f"tr.revisit-row[data-number='{number}'] {selector}")
    console.screenshot(page, "fit-callback-1366x768")
