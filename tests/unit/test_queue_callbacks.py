"""Call-backs from the queue (漏接回拨), on SQLite and PostgreSQL: requests read from the call
records (asked with key 3, hung up waiting, or turned away by a full or seatless queue or
its timeout and not served otherwise), cancelled when the caller got through later,
placed in their place in line onto free seats only. Asterisk is in memory (``QueueStatus``,
``Originate``, ``Getvar`` answered like Asterisk does); the rule is also checked alone."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hotline.calls.models import Call, IvrStep, Recording
from hotline.db import session_scope
from hotline.errors import AmiActionFailed
from hotline.outbound.models import QueueCallback, QueueCallbackAttempt
from hotline.outbound.queue_callbacks import QueueCallbacks, QueueState, queue_state
from hotline.outbound.rules import CallingHours, Purpose, TrunkLimits, callbacks_due
from hotline.outbound.service import Policy
from hotline.outbound.settings import OutboundSettings
from hotline.outbound.store import add_do_not_call, enqueue, live_calls, start_attempt
from hotline.tickets import service as tickets
from hotline.tickets.models import TicketCreate, TicketType
from tests.api import Clock
from tests.pg import (  # noqa: F401 - fixtures
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)


# --- the rule alone ------------------------------------------------------------------------

times = st.integers(min_value=0, max_value=600).map(lambda s: T0 + timedelta(seconds=s))


@given(pending=st.lists(times, max_size=8), waiting=st.lists(times, max_size=8),
       free=st.integers(min_value=0, max_value=5))
def test_a_call_back_never_goes_ahead_of_a_caller_who_waited_longer(pending, waiting, free):
    requests = list(enumerate(pending))
    due = callbacks_due(requests, waiting_since=waiting, free_seats=free)
    assert len(due) <= free
    joined = dict(requests)
    for cid in due:
        assert all(joined[cid] < w for w in waiting)  # everyone still waiting came later
    skipped = [c for c, j in requests if c not in due and all(j < w for w in waiting)]
    if skipped:  # a request left out for want of seats is never older than one placed
        assert len(due) == free
        assert all(joined[d] <= joined[c] for d in due for c in skipped)


# --- stored, with Asterisk in memory ------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    value: Engine = request.getfixturevalue(
        "pg_engine" if request.param == "postgresql" else "sqlite_engine")
    return value


def a_call(engine: Engine, uid: str, number: str, *, joined: datetime, outcome: str | None,
           asked: bool = False, answered_by: str | None = None) -> None:
    with session_scope(engine) as session:
        session.add(Call(uniqueid=uid, caller_number=number, started_at=joined,
                         queue_joined_at=joined, ended_at=joined + timedelta(minutes=1),
                         queue_outcome=outcome, answered_by=answered_by))
        if asked:
            session.add(IvrStep(call_uniqueid=uid, seq=3, node="callback", kind="play",
                                outcome="callback_requested", started_at=joined,
                                ended_at=joined))


class QueueAsterisk:
    """``QueueStatus`` with the given members and waiting callers; each Originate answered
    by the seat, the caller's leg ``dial_status``, the channel gone on the second Getvar."""

    def __init__(self, *, free: list[str], busy: list[str], waiting: list[float],
                 dial_status: str = "ANSWER") -> None:
        self.free, self.busy, self.waiting, self.dial_status = free, busy, waiting, dial_status
        self.sent: list[dict[str, Any]] = []
        self._polls: dict[str, int] = {}

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        self.sent.append(action)
        if action["Action"] == "QueueStatus":
            members = [{"Event": "QueueMember", "StateInterface": i, "Status": "1",
                        "Paused": "0", "InCall": "0"} for i in self.free]
            members += [{"Event": "QueueMember", "StateInterface": i, "Status": "2",
                         "Paused": "0", "InCall": "1"} for i in self.busy]
            entries = [{"Event": "QueueEntry", "Wait": str(w)} for w in self.waiting]
            return [{"Response": "Success"}, *members, *entries,
                    {"Event": "QueueStatusComplete"}]
        if action["Action"] == "Originate":
            return [{"Response": "Success"},
                    {"Event": "OriginateResponse", "Response": "Success", "Reason": "4",
                     "Channel": f"{action['Channel']}-{action['ChannelId']}",
                     "Uniqueid": action["ChannelId"]}]
        channel = action["Channel"]
        self._polls[channel] = self._polls.get(channel, 0) + 1
        if self._polls[channel] > 1:
            raise AmiActionFailed("Getvar refused by Asterisk: No such channel", action="Getvar")
        return {"Response": "Success", "Value": self.dial_status}


def service(engine: Engine, clock: Clock, ami: QueueAsterisk, *, max_attempts: int = 3,
            limits: TrunkLimits | None = None) -> QueueCallbacks:
    policy = Policy(hours=CallingHours(tz=CST), limits=limits or TrunkLimits())
    return QueueCallbacks(ami=ami, engine=engine, clock=clock, settings=OutboundSettings(),
                          queue="hotline", policy=policy, poll_seconds=0,
                          max_attempts=max_attempts)


def attempts(engine: Engine) -> list[QueueCallbackAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(QueueCallbackAttempt).order_by(
            col(QueueCallbackAttempt.id))))


def originated(ami: QueueAsterisk) -> list[dict[str, Any]]:
    return [a for a in ami.sent if a["Action"] == "Originate"]


def rows(engine: Engine) -> list[QueueCallback]:
    with Session(engine) as session:
        return list(session.exec(select(QueueCallback).order_by(col(QueueCallback.joined_at))))


def test_requests_keep_their_place_and_go_to_free_seats_only(engine: Engine) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "asked", "13800000001", joined=T0, outcome=None, asked=True)
    a_call(engine, "gave-up", "13800000002", joined=T0 + timedelta(minutes=2),
           outcome="abandoned")
    a_call(engine, "seated", "13800000003", joined=T0, outcome="answered",
           answered_by="seat1")
    # One caller has been waiting since T0 + 1 min: only the request from T0 is ahead of them.
    ami = QueueAsterisk(free=["PJSIP/seat2", "PJSIP/seat3"], busy=["PJSIP/seat1"],
                        waiting=[9 * 60])
    placed = asyncio.run(service(engine, clock, ami).run_once(wait=True))

    assert [(p.phone, p.seat) for p in placed] == [("13800000001", "PJSIP/seat2")]
    originate = next(a for a in ami.sent if a["Action"] == "Originate")
    assert originate["Channel"] == "PJSIP/seat2"  # the seat rings first ...
    assert originate["CallerID"] == '"预约回拨" <13800000001>'  # ... and sees why
    assert "HOTLINE_DIAL=PJSIP/13800000001" in originate["Variable"]
    assert [(r.call_uniqueid, r.reason, r.status) for r in rows(engine)] == [
        ("asked", "requested", "done"), ("gave-up", "abandoned", "pending")]

    ami.waiting = []  # the waiting caller was answered: the abandoned caller's turn
    placed = asyncio.run(service(engine, clock, ami).run_once(wait=True))
    assert [(p.phone, p.reason) for p in placed] == [("13800000002", "abandoned")]
    assert '"漏接回拨"' in [a for a in ami.sent if a["Action"] == "Originate"][-1]["CallerID"]
    assert [r.status for r in rows(engine)] == ["done", "done"]


def test_no_free_seat_then_nothing_is_dialled_and_a_caller_who_got_through_is_not_called(
    engine: Engine,
) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "gave-up", "13800000002", joined=T0, outcome="abandoned")
    ami = QueueAsterisk(free=[], busy=["PJSIP/seat1"], waiting=[])
    assert asyncio.run(service(engine, clock, ami).run_once(wait=True)) == []
    assert not [a for a in ami.sent if a["Action"] == "Originate"]

    a_call(engine, "again", "13800000002", joined=T0 + timedelta(minutes=5), outcome="answered",
           answered_by="seat1")  # called again and got a seat
    ami.free = ["PJSIP/seat2"]
    assert asyncio.run(service(engine, clock, ami).run_once(wait=True)) == []
    assert [r.status for r in rows(engine)] == ["cancelled"]


def test_a_caller_not_reached_is_tried_again_then_given_up(engine: Engine) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "gave-up", "13800000002", joined=T0, outcome="abandoned")
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[], dial_status="NOANSWER")
    queue = service(engine, clock, ami, max_attempts=2)
    asyncio.run(queue.run_once(wait=True))
    assert [(r.status, r.outcome, r.attempts) for r in rows(engine)] == [
        ("pending", "no_answer", 1)]
    assert rows(engine)[0].next_attempt_at == T0 + timedelta(minutes=20)  # 10 min backoff
    clock.advance(minutes=9)  # the backoff is not over: nothing dialled
    assert asyncio.run(queue.run_once(wait=True)) == []
    clock.advance(minutes=1)
    asyncio.run(queue.run_once(wait=True))
    assert [(r.status, r.attempts) for r in rows(engine)] == [("failed", 2)]
    assert [(a.attempt, a.seat, a.outcome, a.uniqueid, a.detail["reason"])
            for a in attempts(engine)] == [
        (1, "PJSIP/seat2", "no_answer", f"hotline-qcb-{rows(engine)[0].id}-1", "abandoned"),
        (2, "PJSIP/seat2", "no_answer", f"hotline-qcb-{rows(engine)[0].id}-2", "abandoned")]


def test_a_retry_due_after_calling_hours_waits_for_the_next_opening(engine: Engine) -> None:
    evening = datetime(2026, 11, 23, 19, 55, tzinfo=CST)
    clock = Clock(evening)
    a_call(engine, "late", "13800000002", joined=evening - timedelta(minutes=5),
           outcome="abandoned")
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[], dial_status="BUSY")
    queue = service(engine, clock, ami)
    asyncio.run(queue.run_once(wait=True))  # 19:55: tried, busy
    assert rows(engine)[0].next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=CST)
    clock.advance(minutes=30)  # 20:25: closed, and the retry is tomorrow
    assert asyncio.run(queue.run_once(wait=True)) == []
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=CST)
    assert [p.phone for p in asyncio.run(queue.run_once(wait=True))] == ["13800000002"]
    assert [a.outcome for a in attempts(engine)] == ["busy", "busy"]


def test_no_call_back_is_placed_outside_calling_hours(engine: Engine) -> None:
    night = datetime(2026, 11, 23, 22, 0, tzinfo=CST)
    a_call(engine, "night", "13800000002", joined=night - timedelta(minutes=5),
           outcome="abandoned")
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[])
    assert asyncio.run(service(engine, Clock(night), ami).run_once(wait=True)) == []
    assert originated(ami) == []
    assert [r.status for r in rows(engine)] == ["pending"]  # called at 08:00


def test_a_number_on_the_do_not_call_list_is_never_called_back(engine: Engine) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "refuser", "138-0000-0002", joined=T0, outcome="abandoned")
    with session_scope(engine) as session:
        add_do_not_call(session=session, phone="13800000002", reason="asked", by="op",
                        now=T0)
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[])
    assert asyncio.run(service(engine, clock, ami).run_once(wait=True)) == []
    assert originated(ami) == [] and attempts(engine) == []
    assert [r.status for r in rows(engine)] == ["do_not_call"]


def survey_calling(engine: Engine, phone: str, *, trunk: str = "default") -> None:
    """A survey call of the outbound scheduler ringing ``phone`` now."""
    with session_scope(engine) as session:
        ticket = tickets.create_ticket(session=session, now=T0, actor="op", draft=TicketCreate(
            request_type=TicketType.HELP, description="路灯坏了", caller_phone=phone))
        call = enqueue(session=session, purpose=Purpose.SURVEY, key=f"survey:{phone}",
                       ticket=ticket, phone=phone, at=T0, now=T0, trunk=trunk)
        assert call is not None
        start_attempt(session=session, call=call, now=T0)


def test_a_number_already_in_a_call_of_ours_waits_until_it_is_free(engine: Engine) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "gave-up", "13800000002", joined=T0, outcome="abandoned")
    survey_calling(engine, "13800000002")
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[])
    assert asyncio.run(service(engine, clock, ami).run_once(wait=True)) == []
    assert originated(ami) == [] and [r.status for r in rows(engine)] == ["pending"]


def test_a_full_trunk_holds_call_backs_and_surveys_see_the_call_backs(engine: Engine) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "one", "13800000002", joined=T0, outcome="abandoned")
    a_call(engine, "two", "13800000003", joined=T0 + timedelta(minutes=1), outcome="abandoned")
    survey_calling(engine, "13800000009")  # one of the trunk's two lines is in a survey
    ami = QueueAsterisk(free=["PJSIP/seat2", "PJSIP/seat3"], busy=[], waiting=[])
    queue = service(engine, clock, ami, limits=TrunkLimits(default=2))
    queue._collect(clock.now)  # claimed, not yet dialled: the attempt runs
    placed = queue._claim(QueueState(free_seats=tuple(ami.free), waiting_since=()), clock.now)
    assert [p.phone for p in placed] == ["13800000002"]  # the second waits for a line
    with Session(engine) as session:  # while it runs, the survey scheduler counts it
        assert sorted((c.number, c.trunk) for c in live_calls(session=session)) == [
            ("13800000002", "default"), ("13800000009", "default")]


def test_queue_status_reads_free_members_and_waiting_callers() -> None:
    now = T0
    state = queue_state([
        {"Event": "QueueMember", "StateInterface": "PJSIP/seat1", "Status": "1", "Paused": "1"},
        {"Event": "QueueMember", "StateInterface": "PJSIP/seat2", "Status": "1", "Paused": "0"},
        {"Event": "QueueEntry", "Wait": "30"},
    ], now=now)
    assert state.free_seats == ("PJSIP/seat2",)
    assert state.waiting_since == (now - timedelta(seconds=30),)


def test_callers_turned_away_or_timed_out_are_called_back_unless_served_otherwise(
    engine: Engine,
) -> None:
    clock = Clock(T0 + timedelta(minutes=30))
    a_call(engine, "full", "13800000011", joined=T0, outcome="full")
    a_call(engine, "no-seat", "13800000012", joined=T0 + timedelta(minutes=1),
           outcome="no_seat")
    a_call(engine, "timed-out", "13800000013", joined=T0 + timedelta(minutes=2),
           outcome="timeout")
    a_call(engine, "self-service", "13800000014", joined=T0, outcome="self_service")
    a_call(engine, "left-message", "13800000015", joined=T0, outcome="full")
    a_call(engine, "transferred", "13800000016", joined=T0, outcome="timeout")
    a_call(engine, "ticketed", "13800000017", joined=T0, outcome="no_seat")
    a_call(engine, "full-then-seated", "13800000018", joined=T0, outcome="full")
    a_call(engine, "later", "13800000018", joined=T0 + timedelta(minutes=5),
           outcome="answered", answered_by="seat1")  # got through by calling again
    with session_scope(engine) as session:
        session.add(Recording(call_uniqueid="left-message", kind="message",
                              path="2026/11/23/left-message-message.wav", started_at=T0))
        call = session.exec(select(Call).where(Call.uniqueid == "transferred")).one()
        call.transferred_to = "extension:8001"
        session.add(call)
        tickets.create_ticket(session=session, now=T0, actor="op", draft=TicketCreate(
            request_type=TicketType.HELP, description="路灯坏了", caller_phone="13800000017",
            call_uniqueid="ticketed"))
    ami = QueueAsterisk(free=["PJSIP/seat2", "PJSIP/seat3", "PJSIP/seat4"], busy=[],
                        waiting=[])
    placed = asyncio.run(service(engine, clock, ami).run_once(wait=True))

    assert [(p.phone, p.reason) for p in placed] == [
        ("13800000011", "full"), ("13800000012", "no_seat"), ("13800000013", "timeout")]
    names = sorted(a["CallerID"] for a in ami.sent if a["Action"] == "Originate")
    assert names == sorted(['"满线回拨" <13800000011>', '"无席回拨" <13800000012>',
                            '"超时回拨" <13800000013>'])
    assert {(r.call_uniqueid, r.status) for r in rows(engine)} == {
        ("full", "done"), ("no-seat", "done"), ("timed-out", "done"),
        ("full-then-seated", "cancelled")}


def test_a_restart_ends_the_running_attempt_as_failed_and_the_request_waits_again(
    engine: Engine,
) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    a_call(engine, "gave-up", "13800000002", joined=T0, outcome="abandoned")
    ami = QueueAsterisk(free=["PJSIP/seat2"], busy=[], waiting=[])
    stopped = service(engine, clock, ami)
    stopped._collect(clock.now)
    [placed] = stopped._claim(QueueState(free_seats=("PJSIP/seat2",), waiting_since=()),
                              clock.now)  # then the process stops mid-call
    assert [a.outcome for a in attempts(engine)] == [None]
    assert service(engine, clock, ami).prepare() == 1
    assert [(a.outcome, a.ended_at) for a in attempts(engine)] == [("failed", clock.now)]
    with Session(engine) as session:
        assert live_calls(session=session) == []  # the number is free again
    assert [(r.status, r.attempts) for r in rows(engine)] == [("pending", 1)]
    again = asyncio.run(service(engine, clock, ami).run_once(wait=True))
    assert [(p.id, p.uniqueid) for p in again] == [(placed.id, f"hotline-qcb-{placed.id}-2")]
