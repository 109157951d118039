"""Seat state kept in step with the Asterisk queue member (``hotline.seats.service``) on a real
database: the queue is told first (QueueAdd / QueuePause / QueueRemove, faked here at the
``QueueMembers`` port) and only then is the state stored; the queue's own QueueMemberPause
events are followed (``SeatEvents``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.seats.events import SeatEvents
from hotline.seats.models import Seat, SeatState
from hotline.seats.pop import PopBoard
from hotline.seats.service import (
    AFTER_CALL_REASON,
    NoSeat,
    bind_seat,
    change_state,
    on_member_paused,
    seat_of,
)
from hotline.telephony.ami import AmiController
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user
from tests.api import PASSWORD, sqlite_engine, sqlite_template  # noqa: F401

SEAT = "PJSIP/seat1"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeQueue:
    """The queue's side: records each action; ``fail`` maps an action to the error it raises."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, Exception] = {}

    def _do(self, name: str, args: dict[str, Any]) -> None:
        self.actions.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    async def add(self, **args: Any) -> None:
        self._do("add", args)

    async def pause(self, **args: Any) -> None:
        self._do("pause", args)

    async def remove(self, **args: Any) -> None:
        self._do("remove", args)


@pytest.fixture
def user_id(sqlite_engine: Engine) -> int:  # noqa: F811
    with Session(sqlite_engine) as session:
        user = create_user(session=session, user_create=UserCreate(
            username="op1", role=Role.operator, password=PASSWORD))
        bind_seat(session=session, user=user, interface=SEAT, seats=[SEAT], now=T0)
        session.commit()
        assert user.id is not None
        return user.id


@pytest.fixture
def queue() -> Iterator[FakeQueue]:
    yield FakeQueue()


def to(engine: Engine, queue: FakeQueue, user_id: int, state: SeatState, reason: str = "",
       minutes: int = 1) -> Seat:
    return asyncio.run(change_state(engine=engine, queue=queue, user_id=user_id,
                                    username="op1", state=state, reason=reason,
                                    now=T0 + timedelta(minutes=minutes)))


def stored(engine: Engine, user_id: int) -> Seat:
    with Session(engine) as session:
        seat = seat_of(session, user_id)
        assert seat is not None
        return seat


def test_given_an_offline_seat_when_ready_then_queue_add_unpaused_and_ready_stored(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    seat = to(sqlite_engine, queue, user_id, SeatState.ready)
    assert queue.actions == [("add", {"interface": SEAT, "member_name": "op1",
                                      "paused": False, "reason": ""})]
    assert (seat.state, seat.reason) == (SeatState.ready, "")
    assert stored(sqlite_engine, user_id).state == SeatState.ready


def test_given_a_static_member_when_queue_add_is_refused_then_its_pause_is_set_instead(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    queue.fail["add"] = AmiActionFailed("QueueAdd refused: Already there", action="QueueAdd")
    to(sqlite_engine, queue, user_id, SeatState.ready)
    assert queue.actions[-1] == ("pause", {"interface": SEAT, "paused": False, "reason": ""})
    assert stored(sqlite_engine, user_id).state == SeatState.ready


def test_given_a_ready_seat_when_paused_with_a_reason_then_queue_pause_carries_it(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    to(sqlite_engine, queue, user_id, SeatState.ready)
    seat = to(sqlite_engine, queue, user_id, SeatState.paused, "  培训 ", minutes=2)
    assert queue.actions[-1] == ("pause", {"interface": SEAT, "paused": True, "reason": "培训"})
    assert (seat.state, seat.reason) == (SeatState.paused, "培训")
    row = stored(sqlite_engine, user_id)
    assert (row.state, row.reason) == (SeatState.paused, "培训")
    assert row.since.replace(tzinfo=UTC) == T0 + timedelta(minutes=2)


def test_given_a_call_ended_when_after_call_work_then_paused_with_the_after_call_reason(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    to(sqlite_engine, queue, user_id, SeatState.ready)
    seat = to(sqlite_engine, queue, user_id, SeatState.after_call, "whatever")
    assert queue.actions[-1] == ("pause", {"interface": SEAT, "paused": True,
                                           "reason": AFTER_CALL_REASON})
    assert (seat.state, seat.reason) == (SeatState.after_call, AFTER_CALL_REASON)
    seat = to(sqlite_engine, queue, user_id, SeatState.ready, "ignored")
    assert queue.actions[-1] == ("pause", {"interface": SEAT, "paused": False, "reason": ""})
    assert (seat.state, seat.reason) == (SeatState.ready, "")


@pytest.mark.parametrize("error", [
    AmiUnavailable("AMI is not connected: QueuePause not sent"),
    AmiActionFailed("QueuePause refused by Asterisk: Interface not found", action="QueuePause"),
])
def test_given_ami_fails_when_changing_state_then_the_stored_state_is_unchanged(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int, error: Exception,  # noqa: F811
) -> None:
    to(sqlite_engine, queue, user_id, SeatState.ready)
    before = stored(sqlite_engine, user_id)
    queue.fail["pause"] = error
    with pytest.raises(type(error)):
        to(sqlite_engine, queue, user_id, SeatState.paused, "会议", minutes=5)
    after = stored(sqlite_engine, user_id)
    assert (after.state, after.reason, after.since) == (before.state, before.reason,
                                                        before.since)


def test_given_signing_out_when_a_static_member_cannot_leave_then_it_is_paused_and_offline(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    to(sqlite_engine, queue, user_id, SeatState.ready)
    queue.fail["remove"] = AmiActionFailed("QueueRemove refused", action="QueueRemove")
    seat = to(sqlite_engine, queue, user_id, SeatState.offline)
    assert queue.actions[-2:] == [("remove", {"interface": SEAT}),
                                  ("pause", {"interface": SEAT, "paused": True,
                                             "reason": "签出"})]
    assert seat.state == SeatState.offline


def test_given_no_seat_bound_when_changing_state_then_no_seat_and_nothing_sent(
    sqlite_engine: Engine, queue: FakeQueue,  # noqa: F811
) -> None:
    with pytest.raises(NoSeat):
        asyncio.run(change_state(engine=sqlite_engine, queue=queue, user_id=999,
                                 username="ghost", state=SeatState.ready, reason="", now=T0))
    assert queue.actions == []


def test_given_queue_member_pause_events_then_the_stored_state_follows_the_queue(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    def follow(paused: bool, reason: str) -> bool:
        return on_member_paused(engine=sqlite_engine, interface=SEAT, paused=paused,
                                reason=reason, now=T0 + timedelta(minutes=9))

    assert not follow(True, "小休")  # an offline seat is not the queue's to change
    assert stored(sqlite_engine, user_id).state == SeatState.offline
    to(sqlite_engine, queue, user_id, SeatState.ready)
    assert follow(True, "小休")
    row = stored(sqlite_engine, user_id)
    assert (row.state, row.reason) == (SeatState.paused, "小休")
    assert not follow(True, "小休")  # the same again: no change
    assert follow(True, AFTER_CALL_REASON)
    assert stored(sqlite_engine, user_id).state == SeatState.after_call
    assert follow(False, "")
    row = stored(sqlite_engine, user_id)
    assert (row.state, row.reason) == (SeatState.ready, "")
    assert not on_member_paused(engine=sqlite_engine, interface="PJSIP/seat9", paused=True,
                                reason="x", now=T0)


class Inner:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def on_connected(self, controller: AmiController) -> None: ...

    async def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def test_given_asterisk_sends_queue_member_pause_then_seat_events_store_it(
    sqlite_engine: Engine, queue: FakeQueue, user_id: int,  # noqa: F811
) -> None:
    to(sqlite_engine, queue, user_id, SeatState.ready)
    inner = Inner()
    events = SeatEvents(inner=inner, board=PopBoard(), engine=sqlite_engine,
                        clock=lambda: T0 + timedelta(minutes=3))
    # As Asterisk 20 sends it when QueuePause is run elsewhere (CLI, another console).
    event = {"Event": "QueueMemberPause", "Queue": "hotline", "Interface": SEAT,
             "MemberName": "op1", "Paused": "1", "PausedReason": "用餐"}
    asyncio.run(events.on_event(event))
    assert inner.events == [event]  # the call records' handler saw it first
    row = stored(sqlite_engine, user_id)
    assert (row.state, row.reason) == (SeatState.paused, "用餐")
    asyncio.run(events.on_event({**event, "Paused": "0", "PausedReason": ""}))
    assert stored(sqlite_engine, user_id).state == SeatState.ready
