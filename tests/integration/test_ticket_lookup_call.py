"""A caller looks up their work order by keying its number: the real Asterisk sandbox, the
shipped default flow and the tickets in the controller's database."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from hotline.db import session_scope
from hotline.ivr.ports import Prompt
from hotline.recording.files import inspect
from hotline.telephony.phone import SoftPhone
from hotline.tickets.ivr_lookup import status_sentence
from hotline.tickets.models import TicketCreate, TicketType
from hotline.tickets.service import create_ticket, dispatch

from .conftest import RunningHotline
from .test_ivr_calls import caller, finished, only_call, reached  # noqa: F401

pytestmark = pytest.mark.integration


def test_given_a_dispatched_ticket_when_caller_keys_its_number_then_hears_its_status(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone  # noqa: F811
) -> None:
    running = make_hotline()
    hotline = running.hotline
    now = hotline.clock()
    with session_scope(hotline.engine) as session:  # the unit list is loaded at first start
        ticket = create_ticket(session=session, now=now, actor="operator", draft=TicketCreate(
            request_type=TicketType.HELP, description="小区门口路灯不亮", location="城关街道"))
        assert ticket.id is not None
        ticket = dispatch(session=session, ticket_id=ticket.id, main_unit="市城管局",
                          actor="operator", now=now)
        number = ticket.number
        sentence = status_sentence(ticket, unit="市城管局", tz=now.tzinfo)  # type: ignore[arg-type]
    due = ticket.handling_deadline.astimezone(now.tzinfo)  # type: ignore[union-attr]
    assert sentence == ("您查询的工单已派发给市城管局，等待签收。"
                        f"办理期限为{due.month}月{due.day}日。")

    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("no_seat_notice"), what="at the self-service menu")
    call.send_dtmf("3")
    time.sleep(1.5)  # into the lookup prompt, which takes keys while it plays
    call.send_dtmf(number.replace("-", "") + "#")
    view = wait(reached("lookup"), what="after the lookup")
    step = next(s for s in view.steps if s.node == "lookup")
    assert step.outcome == "found" and step.detail["number"] == number
    spoken = inspect(hotline.prompts.host_path(Prompt(text=sentence))).duration_seconds
    assert spoken is not None and spoken > 2  # the sentence was rendered and played

    call.send_dtmf("1")  # look up again: an unknown number
    time.sleep(1.5)
    call.send_dtmf("2026010199999#")
    view = wait(lambda v: sum(s.node == "lookup" for s in v.steps) == 2, what="second lookup")
    call.hangup()
    second = [s for s in view.steps if s.node == "lookup"][1]
    assert second.outcome == "not_found" and second.detail["number"] == "20260101-99999"
    wait(finished, timeout=30, what="finished")
