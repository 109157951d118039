"""Call-backs from the queue (漏接回拨): callers who asked to be called back while waiting
(the IVR's key 3, step outcome ``callback_requested``), callers who hung up waiting
(``queue_outcome = abandoned``) and callers the queue turned away (full, no seat) or timed
out who were not served otherwise on that call are called back by a seat.

A request keeps its caller's place in line (``joined_at``, when the call joined the queue): it
is placed only once no caller still waiting joined before it, and only onto a free seat, one
per seat (``rules.callbacks_due``). The seat's phone rings first, showing why the call is
returned (caller ID name ``REASON_LABELS``: 预约回拨, 漏接回拨, 满线回拨 …); once answered the
caller is dialled and both are bridged and recorded (the click-to-call context). A caller
who got through by calling again is not called back. Attempts are stored: a restart loses nothing.

    queue = QueueCallbacks(ami=ami, engine=engine, clock=clock, settings=settings)
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
from hotline.outbound.models import QueueCallback, QueueCallbackStatus
from hotline.outbound.rules import Outcome, callbacks_due, normalize_number
from hotline.outbound.settings import OutboundSettings
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
    phone: str
    reason: str
    seat: str
    uniqueid: str
    recording: str


class QueueCallbacks:
    def __init__(self, *, ami: AmiSender, engine: Engine, clock: Callable[[], datetime],
                 settings: OutboundSettings, queue: str, max_attempts: int = 3,
                 poll_seconds: float = 1.0) -> None:
        self.ami, self.engine, self.clock, self.settings = ami, engine, clock, settings
        self.queue, self.max_attempts, self.poll_seconds = queue, max_attempts, poll_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self.placed = 0
        self.last_error: str | None = None

    def prepare(self) -> int:
        """Requests left calling by a stopped process go back to pending."""
        with session_scope(self.engine) as session:
            result = session.exec(update(QueueCallback)
                                  .where(col(QueueCallback.status) == ST.CALLING)
                                  .values(status=ST.PENDING, updated_at=self.clock()))
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
        with session_scope(self.engine) as session:
            pending = session.exec(select(QueueCallback).where(
                QueueCallback.status == ST.PENDING).order_by(col(QueueCallback.joined_at))
                .limit(200)).all()
            calling = session.exec(select(QueueCallback.seat).where(
                QueueCallback.status == ST.CALLING)).all()
            seats = [s for s in state.free_seats if s not in set(calling)]
            due = callbacks_due([(r.id or 0, r.joined_at) for r in pending],
                                waiting_since=state.waiting_since, free_seats=len(seats))
            by_id = {r.id: r for r in pending}
            placed: list[Placed] = []
            for request_id, seat in zip(due, seats, strict=False):
                row = by_id[request_id]
                row.attempts += 1
                row.status, row.seat, row.updated_at = ST.CALLING, seat, now
                row.uniqueid = f"{CHANNEL_PREFIX}{request_id}-{row.attempts}"
                session.add(row)
                placed.append(Placed(id=request_id, phone=row.phone, reason=row.reason,
                                     seat=seat, uniqueid=row.uniqueid,
                                     recording=f"{now:%Y/%m/%d}/{row.uniqueid}-agent.wav"))
            return placed

    def _launch(self, placed: Placed) -> asyncio.Task[None]:
        task = asyncio.create_task(self._call(placed), name=f"queue-callback-{placed.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.placed += 1
        return task

    async def _call(self, placed: Placed) -> None:
        label = REASON_LABELS.get(placed.reason, "回拨")
        action = bridge_action(self.settings, agent=placed.seat, uid=placed.uniqueid,
                               phone=placed.phone, caller_id=f'"{label}" <{placed.phone}>',
                               recording=placed.recording)
        try:
            outcome, _ = await bridge(self.ami, self.settings, action,
                                      poll_seconds=self.poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("queue call-back %s failed", placed.id)
            outcome = Outcome.FAILED
        await asyncio.to_thread(self._record, placed, outcome)

    def _record(self, placed: Placed, outcome: Outcome) -> None:
        with session_scope(self.engine) as session:
            row = session.get(QueueCallback, placed.id)
            if row is None:
                return
            row.outcome, row.updated_at = outcome, self.clock()
            if outcome is Outcome.ANSWERED:
                row.status = ST.DONE
            else:
                row.status = ST.FAILED if row.attempts >= self.max_attempts else ST.PENDING
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
