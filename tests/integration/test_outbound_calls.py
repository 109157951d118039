"""Outbound survey calls through the real Asterisk sandbox: the scheduler in the running
controller dials a pyVoIP phone registered as the citizen (citizen1), the survey flow runs,
and what the citizen keys is stored on the ticket; a phone that does not answer gets a retry
two hours later."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import SoftPhone
from hotline.tickets import lifecycle as lc
from hotline.tickets import service as tickets
from hotline.tickets.models import TicketCreate, TicketType
from tests.api import Clock
from tests.integration.conftest import RunningHotline

CENTER = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=CENTER)
MAIN = "市城管局"
OVERRIDES = {"outbound": {"interval_seconds": 0.3, "ring_seconds": 6}}


def approved_ticket(running: RunningHotline) -> int:
    hotline = running.hotline
    now = hotline.clock()
    with session_scope(hotline.engine) as session:
        ticket = tickets.create_ticket(session=session, now=now, actor="op", draft=TicketCreate(
            request_type=TicketType.HELP, description="小区门口路灯不亮", caller_phone="citizen1"))
        assert ticket.id is not None
        for action in (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN),
                       lc.StartHandling(unit=MAIN), lc.Reply(unit=MAIN, text="已修好"),
                       lc.Review(approve=True)):
            tickets.act(session=session, ticket_id=ticket.id, action=action, actor="t", now=now)
        return ticket.id


def wait_until(check: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not {what} within {timeout} s")


def outbound_call(running: RunningHotline) -> OutboundCall | None:
    with Session(running.hotline.engine) as session:
        return session.exec(select(OutboundCall)).first()


def steps_of(running: RunningHotline, uniqueid: str) -> list[str]:
    view = running.hotline.store.get(uniqueid)
    return [s.node for s in view.steps] if view else []


def survey(running: RunningHotline, keys: str) -> int:
    settings = running.settings
    with SoftPhone(user="citizen1", password=phone_password(settings, "citizen1"),
                   auto_answer=True) as citizen:
        ticket_id = approved_ticket(running)
        call = citizen.wait_for_incoming(timeout=30)
        uid = "hotline-ob-1"
        wait_until(lambda: "intro" in steps_of(running, uid), timeout=30, what="past the intro")
        call.send_dtmf(keys)
        wait_until(lambda: "comment_offer" in steps_of(running, uid) or
                   len(steps_of(running, uid)) > 3, timeout=30, what="rated")
        call.send_dtmf("2")  # no comment
        call.wait_until_ended(timeout=30)
    wait_until(lambda: (c := outbound_call(running)) is not None and c.status == "done",
               timeout=30, what="stored as done")
    return ticket_id


def test_given_an_approved_phone_ticket_when_the_citizen_keys_1_then_satisfied_is_stored(
    make_hotline,
):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    ticket_id = survey(running, "1")
    with Session(running.hotline.engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
        assert ticket.status == lc.Status.CLOSED
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert (attempt.outcome, attempt.detail["key"]) == ("answered", "1")


def test_given_the_citizen_keys_3_then_the_ticket_is_redone(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    ticket_id = survey(running, "3")
    with Session(running.hotline.engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
    assert ticket.status == lc.Status.IN_PROGRESS
    assert tickets.state_of(ticket).redo_count == 1


def test_given_the_citizen_does_not_answer_then_a_retry_two_hours_later(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    settings = running.settings
    with SoftPhone(user="citizen1", password=phone_password(settings, "citizen1"),
                   auto_answer=False) as citizen:
        approved_ticket(running)
        citizen.wait_for_incoming(timeout=30)  # it rings, nobody answers
        call = wait_until(lambda: (c := outbound_call(running)) is not None
                          and c.status == "pending" and c.attempts == 1 and c,
                          timeout=40, what="retry scheduled")
    assert isinstance(call, OutboundCall) and call.next_attempt_at is not None
    assert call.next_attempt_at == MONDAY_10 + timedelta(hours=2)
    with Session(running.hotline.engine) as session:
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert attempt.outcome == "no_answer"
