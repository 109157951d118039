"""The seat operator in chromium: a queue call pops at once with the caller's history and IVR
path, the transcription's draft fills the form as it arrives, and the operator dispatches to
the unit the responsibility list suggests. The call arrives as the AMI events Asterisk sends
(through the controller's handler); the draft through the transcription service's hook."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from hotline.calls.models import Recording
from hotline.db import session_scope
from hotline.stt.models import Transcript
from hotline.tickets.models import Ticket, TicketCreate, TicketType
from hotline.tickets.service import create_ticket
from tests.browser.conftest import Console

CALLER = "13912345678"
SAID = "我家小区门口的路灯坏了好几天了，晚上很黑，在解放路"


def _earlier_ticket(console: Console) -> str:
    with session_scope(console.hotline.engine) as session:
        ticket = create_ticket(session=session, draft=TicketCreate(
            caller_phone=CALLER, request_type=TicketType.HELP, description="上个月路灯不亮"),
            now=console.hotline.clock(), actor="op")
        return ticket.number


def _transcript_arrives(console: Console, uid: str) -> None:
    """The caller side's transcript reaches the drafts hook, as the STT service hands it."""
    with session_scope(console.hotline.engine) as session:
        rec = Recording(call_uniqueid=uid, kind="caller", path=f"{uid}-caller.wav",
                        started_at=datetime.now(UTC), complete=True)
        session.add(rec)
        session.flush()
        transcript = Transcript(job_id=0, recording_id=rec.id, audio_path=rec.path,
                                language="zh", model_name="test", text=SAID,
                                audio_seconds=4.0, processing_seconds=1.0)
        console.hotline.drafts(session, transcript)


def test_given_a_queue_call_when_it_rings_my_seat_then_it_pops_and_i_dispatch_as_suggested(
    console: Console, page: Any
) -> None:
    earlier = _earlier_ticket(console)
    console.log_in(page, "op")
    assert page.url.endswith("/seat")
    page.select_option("#seat select[name=interface]", "PJSIP/seat1")
    page.click("#seat form[hx-post='/seat/bind'] button")
    page.wait_for_selector("#seat-state[data-state=offline]")
    # the panel's F5 button settled (htmx swaps the panel: a key pressed in between reloads)
    page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")
    # Asterisk is away: the state is not pretended, the operator is told.
    page.keyboard.press("F5")
    page.wait_for_selector("#seat .error")
    assert "未同步到排队" in page.inner_text("#seat .error")
    assert page.get_attribute("#seat-state", "data-state") == "offline"
    page.wait_for_selector("body.live")  # the pop stream is open

    uid = f"1700000000.{uuid.uuid4().int % 10000}"
    console.ami_event({"Event": "Newchannel", "Context": "hotline-in", "Uniqueid": uid,
                       "Linkedid": uid, "Channel": "PJSIP/citizen1-00000001",
                       "CallerIDNum": CALLER, "CallerIDName": CALLER, "Exten": "12345"})
    console.run(console.hotline.store.update_call(uid, flow="default",
                                                  ivr_path=["welcome", "menu", "queue"]))
    console.ami_event({"Event": "AgentCalled", "Queue": "hotline", "Uniqueid": uid,
                       "Interface": "PJSIP/seat1", "MemberName": "seat1",
                       "CallerIDNum": CALLER, "CallerIDName": CALLER})
    page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=ringing]")
    assert page.inner_text("#caller") == CALLER
    assert "重复来电" in page.inner_text("#repeat")
    assert earlier in page.inner_text("#history")
    # the nodes' labels of the flow (ivr_flows/default.yaml); a node it lacks keeps its id
    assert page.inner_text("#ivr-path") == "欢迎语 › menu › 转人工排队"
    console.screenshot(page, "seat-pop-ringing")

    console.ami_event({"Event": "AgentConnect", "Queue": "hotline", "Uniqueid": uid,
                       "Interface": "PJSIP/seat1", "MemberName": "seat1", "HoldTime": "3",
                       "CallerIDNum": CALLER})
    page.wait_for_selector("#call[data-state=answered]")
    _transcript_arrives(console, uid)
    page.wait_for_selector("#transcript")
    assert page.inner_text("#transcript") == SAID
    assert page.input_value("textarea[name=description]") == SAID
    suggested = page.locator("#ticket-form select[name=main_unit]").input_value()
    assert suggested and suggested in page.inner_text("#suggested-unit")
    console.screenshot(page, "seat-pop-draft")

    page.keyboard.press("Alt+D")
    page.wait_for_selector("#taken")
    number = page.get_attribute("#taken", "data-number")
    assert f"已派单至 {suggested}" in page.inner_text("#taken")
    with Session(console.hotline.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.call_uniqueid == uid and ticket.status == "dispatched"
        assert ticket.transcript == SAID and ticket.caller_phone == CALLER
    console.screenshot(page, "seat-dispatched")


def test_given_a_unit_handler_when_opening_the_seat_page_then_403(
    console: Console, page: Any
) -> None:
    console.log_in(page, "cg")
    response = page.goto(f"{console.url}/seat")
    assert response.status == 403
    assert "无权访问" in page.inner_text("main")
