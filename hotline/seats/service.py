"""Seat state kept in step with the Asterisk queue member.

The queue is told first (``QueueMembers``: QueueAdd / QueuePause / QueueRemove through AMI);
only when Asterisk accepted is the new state stored. When AMI is away the state stays what it
was and the error (``AmiUnavailable``) reaches the operator: the page never shows a state the
queue does not have. ``on_member_paused`` follows changes made elsewhere (another console,
the Asterisk CLI) from the queue's own events.

    seat = sign_in(session=session, user=user, interface="PJSIP/seat1", now=now)
    await change_state(engine=engine, queue=AmiQueueMembers(ami, "hotline"),
                       user_id=user.id, state=SeatState.paused, reason="培训", now=now)
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.errors import AmiActionFailed, HotlineError
from hotline.seats.models import Seat, SeatState
from hotline.users.models import User

AFTER_CALL_REASON = "话后处理"
PAUSE_REASONS = ("小休", "培训", "会议", "用餐", "其他")


class SeatError(HotlineError):
    pass


class NoSeat(SeatError):
    error_id = "no-seat"
    status_code = 409

    def __init__(self, username: str) -> None:
        super().__init__(f"{username} has not signed in to a seat", user=username)


class SeatTaken(SeatError):
    error_id = "seat-taken"
    status_code = 409

    def __init__(self, interface: str) -> None:
        super().__init__(f"{interface} is another operator's seat", interface=interface)


class UnknownSeat(SeatError):
    error_id = "unknown-seat"
    status_code = 422

    def __init__(self, interface: str) -> None:
        super().__init__(f"{interface} is not a seat of the queue", interface=interface)


class QueueMembers(Protocol):
    """The queue's side of a seat (``hotline.seats.ami.AmiQueueMembers`` over AMI)."""

    async def add(self, *, interface: str, member_name: str, paused: bool,
                  reason: str) -> None: ...

    async def pause(self, *, interface: str, paused: bool, reason: str) -> None: ...

    async def remove(self, *, interface: str) -> None: ...


def seat_of(session: Session, user_id: int) -> Seat | None:
    return session.exec(select(Seat).where(Seat.user_id == user_id)).first()


def bind_seat(*, session: Session, user: User, interface: str, seats: list[str],
              now: datetime) -> Seat:
    """The operator sits at ``interface`` (one of the configured ``seats``); state offline
    until the queue accepts them."""
    if interface not in seats:
        raise UnknownSeat(interface)
    assert user.id is not None
    other = session.exec(select(Seat).where(Seat.interface == interface)).first()
    if other is not None and other.user_id != user.id:
        if other.state != SeatState.offline:
            raise SeatTaken(interface)
        session.delete(other)
        session.flush()
    seat = seat_of(session, user.id)
    if seat is None:
        seat = Seat(user_id=user.id, interface=interface, member_name=user.username,
                    state=SeatState.offline, since=now)
    elif seat.interface != interface:
        seat.interface, seat.state, seat.reason, seat.since = (
            interface, SeatState.offline, "", now)
    session.add(seat)
    session.flush()
    return seat


async def change_state(*, engine: Engine, queue: QueueMembers, user_id: int,
                       username: str, state: SeatState, reason: str, now: datetime) -> Seat:
    """Tell the queue, then store the state (nothing stored when the queue refused)."""
    seat = await asyncio.to_thread(_load, engine, user_id, username)
    reason = reason.strip()[:64]
    if state == SeatState.after_call:
        reason = AFTER_CALL_REASON
    elif state != SeatState.paused:
        reason = ""
    if state == SeatState.offline:
        try:
            await queue.remove(interface=seat.interface)
        except AmiActionFailed:  # a static member cannot leave: it stays paused
            await queue.pause(interface=seat.interface, paused=True, reason="签出")
    elif seat.state == SeatState.offline:
        try:
            await queue.add(interface=seat.interface, member_name=seat.member_name,
                            paused=state != SeatState.ready, reason=reason)
        except AmiActionFailed:  # already a member (static in queues.conf): set its pause
            await queue.pause(interface=seat.interface, paused=state != SeatState.ready,
                              reason=reason)
    else:
        await queue.pause(interface=seat.interface, paused=state != SeatState.ready,
                          reason=reason)
    return await asyncio.to_thread(_store, engine, user_id, state, reason, now)


def _load(engine: Engine, user_id: int, username: str) -> Seat:
    with Session(engine, expire_on_commit=False) as session:
        seat = seat_of(session, user_id)
        if seat is None:
            raise NoSeat(username)
        return seat


def _store(engine: Engine, user_id: int, state: SeatState, reason: str,
           now: datetime) -> Seat:
    with Session(engine, expire_on_commit=False) as session:
        seat = seat_of(session, user_id)
        assert seat is not None
        seat.state, seat.reason, seat.since = state, reason, now
        session.add(seat)
        session.commit()
        return seat


def on_member_paused(*, engine: Engine, interface: str, paused: bool, reason: str,
                     now: datetime) -> bool:
    """A QueueMemberPause event: the stored state follows the queue. True if it changed."""
    with Session(engine, expire_on_commit=False) as session:
        seat = session.exec(select(Seat).where(Seat.interface == interface)).first()
        if seat is None or seat.state == SeatState.offline:
            return False
        if paused:
            state = SeatState.after_call if reason == AFTER_CALL_REASON else SeatState.paused
        else:
            state = SeatState.ready
        if (seat.state, seat.reason) == (state, reason if paused else ""):
            return False
        seat.state, seat.reason, seat.since = state, reason if paused else "", now
        session.add(seat)
        session.commit()
        return True
