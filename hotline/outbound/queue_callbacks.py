"""Call-backs from the queue (漏接回拨): callers who asked to be called back while waiting
(the IVR's key 3, step outcome ``callback_requested``), callers who hung up waiting
(``queue_outcome = abandoned``) and callers the queue turned away (full, no seat) or timed
out who were not served otherwise on that call are called back by a seat.

A request keeps its caller's place in line (``joined_at``, when the call joined the queue): it
is placed only once no caller still waiting joined before it, and only onto a free seat, one
per seat (``rules.callbacks_due``). The seat's phone rings first, showing why the call is
returned (caller ID name ``REASON_LABELS``: 预约回拨, 漏接回拨, 满线回拨 …); once answered the
caller is dialled and both are bridged and recorded (the click-to-call context). A caller
who got through by calling again is not called back. Like every outbound call, a call-back
is placed only inside calling hours, never to a number on the do-not-call list, never to a
number already in a call of ours, and within the trunk's limit; each attempt is logged
(``queue_callback_attempt``) and one that did not reach the caller is tried again after
``queue_callback_retry_minutes``. Attempts are stored: a restart loses nothing.

    queue = QueueCallbacks(ami=ami, engine=engine, clock=clock, settings=settings,
                           queue="hotline", policy=policy)
    await queue.run_once()          # the outbound scheduler's loop calls it every pass
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from hotline.calls.models import Call, IvrStep, Recording
from hotline.db import session_scope
from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.outbound.agent_calls import bridge, bridge_action
from hotline.outbound.ami import AmiSender
from hotline.outbound.models import QueueCallback, QueueCallbackAttempt, QueueCallbackStatus
from hotline.outbound.recordings import bridged_call
from hotline.outbound.rules import (
    Candidate,
    Done,
    GiveUp,
    Outcome,
    RetryAt,
    RetryPolicy,
    after_attempt,
    callbacks_due,
    choose_calls,
    normalize_number,
)
from hotline.outbound.service import Policy
from hotline.outbound.settings import OutboundSettings
from hotline.outbound.store import blocked_numbers, live_calls
from hotline.tickets.models import Ticket

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "hotline-qcb-"
LOOK_BACK = timedelta(days=1)  # calls older than this are not called back any more
REASON_LABELS = {"requested": "预约回拨", "abandoned": "漏接回拨", "full": "满线回拨",
                 "no_seat": "无席回拨", "timeout": "超时回拨"}
# The queue turned the caller away (full, no seat signed in) or they waited its whole
# max_wait: the flow took them on to self-service, where they may still have been served.
TURNED_AWAY = ("full", "no_seat", "timeout")
ST = QueueCallbackStatus


# --- requests from the call records ------------------------------------------------------


def collect_requests(*, session: Session, now: datetime,
                     delay: timedelta = timedelta(0)) -> int:
    """New requests from calls that ended without a seat in the last day, at least ``delay``
    ago (a caller who rings again at once is not called back too); how many.

    A caller the queue turned away or timed out (``TURNED_AWAY``) is called back unless they
    were served on that call after all: transferred to a person (an extension), or their
    message became a ticket or awaits one (a ``message`` recording)."""
    since = now - LOOK_BACK
    requested = select(IvrStep.call_uniqueid).where(IvrStep.outcome == "callback_requested")
    known = select(QueueCallback.call_uniqueid)
    served = (select(Ticket.call_uniqueid).where(col(Ticket.call_uniqueid).is_not(None))
              .union(select(Recording.call_uniqueid).where(Recording.kind == "message")))
    turned_away = (col(Call.queue_outcome).in_(TURNED_AWAY)
                   & col(Call.transferred_to).is_(None)
                   & col(Call.uniqueid).not_in(served))
    calls = session.exec(
        select(Call).where(
            col(Call.ended_at).is_not(None), col(Call.ended_at) >= since,
            col(Call.ended_at) <= now - delay,
            col(Call.answered_by).is_(None), Call.caller_number != "",
            (col(Call.queue_outcome) == "abandoned") | col(Call.uniqueid).in_(requested)
            | turned_away,
            col(Call.uniqueid).not_in(known),
        )
    ).all()
    asked = set(session.exec(requested.where(
        col(IvrStep.call_uniqueid).in_([c.uniqueid for c in calls]))).all())
    for call in calls:
        session.add(QueueCallback(
            call_uniqueid=call.uniqueid, phone=normalize_number(call.caller_number),
            reason="requested" if call.uniqueid in asked else (call.queue_outcome or ""),
            joined_at=call.queue_joined_at or call.started_at, created_at=now, updated_at=now,
        ))
    session.flush()
    return len(calls)


def cancel_reached(*, session: Session, now: datetime) -> int:
    """Pending requests whose caller was answered by a seat on a later call: cancelled."""
    answered_later = select(Call.caller_number).where(
        col(Call.answered_by).is_not(None), col(Call.started_at) > QueueCallback.joined_at,
        Call.caller_number == QueueCallback.phone)
    result = session.exec(
        update(QueueCallback)
        .where(col(QueueCallback.status) == ST.PENDING, answered_later.exists())
        .values(status=ST.CANCELLED, updated_at=now)
    )
    return int(result.rowcount or 0)


# --- the queue as Asterisk sees it -------------------------------------------------------


@dataclass(frozen=True)
class QueueState:
    free_seats: tuple[str, ...]  # interfaces of members not in use and not paused
    waiting_since: tuple[datetime, ...]  # when each caller still waiting joined


def queue_state(messages: Sequence[Any], *, now: datetime) -> QueueState:
    """From ``QueueStatus``'s events: members free (Status 1: not in use, not paused, not in
    a call) and callers waiting (``Wait`` seconds)."""
    free: list[str] = []
    waiting: list[datetime] = []
    for m in messages:
        event = m.get("Event")
        if event == "QueueMember":
            if (str(m.get("Status")) == "1" and str(m.get("Paused", "0")) == "0"
                    and str(m.get("InCall", "0")) == "0"):
                free.append(str(m.get("StateInterface") or m.get("Location") or ""))
        elif event == "QueueEntry":
            waiting.append(now - timedelta(seconds=float(m.get("Wait", 0) or 0)))
    return QueueState(free_seats=tuple(f for f in free if f), waiting_since=tuple(waiting))


# --- placing them -------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    id: int
    attempt_id: int
    phone: str
    reason: str
    seat: str
    uniqueid: str
    recording: str

    @property
    def label(self) -> str:
        """Why the caller is called back, as the seat's phone and pop show it."""
        return REASON_LABELS.get(self.reason, "回拨")


class QueueCallbacks:
    def __init__(self, *, ami: AmiSender, engine: Engine, clock: Callable[[], datetime],
                 settings: OutboundSettings, queue: str, policy: Policy,
                 max_attempts: int = 3, poll_seconds: float = 1.0) -> None:
        """``policy``: the calling hours and trunk limits of all outbound calls; a caller not
        reached is tried again ``settings.queue_callback_retry_minutes`` later (then at the
        next calling hour), ``max_attempts`` in all."""
        self.ami, self.engine, self.clock, self.settings = ami, engine, clock, settings
        self.queue, self.policy, self.poll_seconds = queue, policy, poll_seconds
        self.retry = RetryPolicy(max_attempts=max_attempts, interval=timedelta(
            minutes=settings.queue_callback_retry_minutes))
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._ringing: dict[str, Placed] = {}  # by channel id, while the call lasts
        self.placed = 0
        self.last_error: str | None = None

    def prepare(self) -> int:
        """Attempts left running by a stopped process end as failed; their requests go back
        to pending."""
        now = self.clock()
        with session_scope(self.engine) as session:
            session.exec(update(QueueCallbackAttempt)
                         .where(col(QueueCallbackAttempt.outcome).is_(None))
                         .values(outcome=Outcome.FAILED, ended_at=now))
            result = session.exec(update(QueueCallback)
                                  .where(col(QueueCallback.status) == ST.CALLING)
                                  .values(status=ST.PENDING, updated_at=now))
            return int(result.rowcount or 0)

    async def run_once(self, *, wait: bool = False) -> list[Placed]:
        now = self.clock()
        await asyncio.to_thread(self._collect, now)
        try:
            answer = await self.ami.send({"Action": "QueueStatus", "Queue": self.queue},
                                         as_list=True)
        except (AmiUnavailable, AmiActionFailed) as exc:
            log.info("queue call-backs wait: %s", exc)
            return []
        state = queue_state(answer if isinstance(answer, list) else [answer], now=now)
        placed = await asyncio.to_thread(self._claim, state, now)
        tasks = [self._launch(p) for p in placed]
        if wait and tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return placed

    def _collect(self, now: datetime) -> None:
        with session_scope(self.engine) as session:
            collect_requests(session=session, now=now, delay=timedelta(
                seconds=self.settings.queue_callback_delay_seconds))
            cancel_reached(session=session, now=now)

    def _claim(self, state: QueueState, now: datetime) -> list[Placed]:
        """Outside calling hours nothing; else the requests whose turn it is onto free seats,
        by the rules of all outbound calls (``choose_calls``): a number on the do-not-call
        list is never dialled, one already in a call of ours and a full trunk wait."""
        if not self.policy.hours.allows(now):
            return []
        trunk = self.settings.trunk
        with session_scope(self.engine) as session:
            pending = session.exec(select(QueueCallback).where(
                QueueCallback.status == ST.PENDING,
                col(QueueCallback.next_attempt_at).is_(None)
                | (col(QueueCallback.next_attempt_at) <= now))
                .order_by(col(QueueCallback.joined_at)).limit(200)).all()
            by_id = {r.id or 0: r for r in pending}
            choice = choose_calls(
                [Candidate(i, r.phone, trunk, r.joined_at) for i, r in by_id.items()],
                live=live_calls(session=session), limits=self.policy.limits,
                do_not_call=blocked_numbers(session=session, numbers=[r.phone for r in pending]))
            for cand in choice.blocked:
                row = by_id[cand.call_id]
                row.status, row.updated_at = ST.DO_NOT_CALL, now
                session.add(row)
            calling = set(session.exec(select(QueueCallback.seat).where(
                QueueCallback.status == ST.CALLING)).all())
            seats = [s for s in state.free_seats if s not in calling]
            due = callbacks_due([(c.call_id, c.due_at) for c in choice.place],
                                waiting_since=state.waiting_since, free_seats=len(seats))
            placed: list[Placed] = []
            for request_id, seat in zip(due, seats, strict=False):
                placed.append(self._start(session, by_id[request_id], seat=seat, trunk=trunk,
                                          now=now))
            return placed

    @staticmethod
    def _start(session: Session, row: QueueCallback, *, seat: str, trunk: str,
               now: datetime) -> Placed:
        assert row.id is not None
        row.attempts += 1
        row.status, row.seat, row.updated_at = ST.CALLING, seat, now
        row.uniqueid = f"{CHANNEL_PREFIX}{row.id}-{row.attempts}"
        attempt = QueueCallbackAttempt(callback_id=row.id, attempt=row.attempts, phone=row.phone,
                                       trunk=trunk, seat=seat, started_at=now,
                                       uniqueid=row.uniqueid)
        recording = f"{now:%Y/%m/%d}/{row.uniqueid}-agent.wav"
        session.add(row)
        session.add(attempt)
        bridged_call(session, uniqueid=row.uniqueid, phone=row.phone, recording=recording,
                     now=now)
        session.flush()
        assert attempt.id is not None
        return Placed(id=row.id, attempt_id=attempt.id, phone=row.phone, reason=row.reason,
                      seat=seat, uniqueid=row.uniqueid, recording=recording)

    def _launch(self, placed: Placed) -> asyncio.Task[None]:
        task = asyncio.create_task(self._call(placed), name=f"queue-callback-{placed.id}")
        self._tasks.add(task)
        self._ringing[placed.uniqueid] = placed
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._ringing.pop(placed.uniqueid, None))
        self.placed += 1
        return task

    def pop_events(self, event: dict[str, str]) -> list[dict[str, str]]:
        """The seat's pop of a call-back placed onto it, as the queue's own calls make it
        (``hotline.seats.pop.PopBoard``): its phone ringing (the channel created) is
        ``AgentCalled``, answered (``Newstate`` Up) ``AgentConnect``; the caller is the
        number called back and the caller's name why (``REASON_LABELS``), as the seat's
        phone shows them; the pop shows why apart (``HotlineReason``), never as a name. Its
        hang-up ends the pop by the channel's id as for any call."""
        placed = self._ringing.get(event.get("Uniqueid", ""))
        name = event.get("Event")
        if placed is None:
            return []
        if name == "Newchannel":
            pop = "AgentCalled"
        elif name == "Newstate" and event.get("ChannelState") == "6":
            pop = "AgentConnect"
        else:
            return []
        return [{"Event": pop, "Interface": placed.seat, "Uniqueid": placed.uniqueid,
                 "CallerIDNum": placed.phone,
                 "CallerIDName": placed.label, "HotlineReason": placed.label,
                 "Channel": event.get("Channel", "")}]

    async def _call(self, placed: Placed) -> None:
        action = bridge_action(self.settings, agent=placed.seat, uid=placed.uniqueid,
                               phone=placed.phone,
                               caller_id=f'"{placed.label}" <{placed.phone}>',
                               recording=placed.recording)
        try:
            outcome, detail = await bridge(self.ami, self.settings, action,
                                           poll_seconds=self.poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("queue call-back %s failed", placed.id)
            outcome, detail = Outcome.FAILED, {"error": f"{type(exc).__name__}: {exc}"}
        await asyncio.to_thread(self._record, placed, outcome, detail)

    def _record(self, placed: Placed, outcome: Outcome, detail: dict[str, str]) -> None:
        """The attempt's outcome logged; reached: done, else tried again after the backoff
        at the next calling hour, or failed once its attempts are used up."""
        now = self.clock()
        with session_scope(self.engine) as session:
            attempt = session.get(QueueCallbackAttempt, placed.attempt_id)
            row = session.get(QueueCallback, placed.id)
            if attempt is None or row is None or attempt.outcome is not None:
                return
            attempt.outcome, attempt.ended_at = outcome, now
            attempt.detail = {"reason": placed.reason, **detail}
            row.outcome, row.updated_at = outcome, now
            match after_attempt(outcome, attempt=attempt.attempt, now=now, policy=self.retry,
                                hours=self.policy.hours):
                case Done():
                    row.status, row.next_attempt_at = ST.DONE, None
                case RetryAt(at=at):
                    row.status, row.next_attempt_at = ST.PENDING, at
                case GiveUp():
                    row.status, row.next_attempt_at = ST.FAILED, None
            session.add(attempt)
            session.add(row)

    async def start(self, interval: float) -> None:
        if self._loop_task is None:
            await asyncio.to_thread(self.prepare)
            self._loop_task = asyncio.create_task(self._loop(interval), name="queue-callbacks")

    async def _loop(self, interval: float) -> None:
        while True:
            try:
                await self.run_once()
                self.last_error = None
            except Exception as exc:  # a database hiccup must not end the loop
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("queue call-backs pass failed")
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        task, self._loop_task = self._loop_task, None
        for t in [*([task] if task else []), *self._tasks]:
            t.cancel()
        await asyncio.gather(*([task] if task else []), *self._tasks, return_exceptions=True)

    def status(self) -> dict[str, object]:
        return {"running": self._loop_task is not None and not self._loop_task.done(),
                "placed": self.placed, "calls_now": len(self._tasks),
                "last_error": self.last_error}
