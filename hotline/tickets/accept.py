"""The live 受理 clock: a call a seat answered must become a ticket within ``Limits.accept``.

An inbound call a seat answered through the queue (AgentConnect: ``queue_outcome`` answered,
``answered_by`` set) starts the clock at the seat's answer, the queue join plus the wait (the
same instant ``service.accept_time`` measures from, through ``accept_clock``; a call whose
queue join was not recorded has no clock). It turns yellow at ``yellow_share`` (80 %) of the
limit and red just after it. The clock stops for good when

* a ticket is made for the call (``ticket.call_uniqueid``): accepted, and also 即办, 合并 and
  转警 from the pop, which all take a ticket for the call first; or
* the call's draft is discarded as not a request (``ticket_draft.status`` discarded).

Nothing is written when it stops: the scan simply no longer finds the call. A caller who hung
up does not stop it: the seat still owes a ticket or the draft's discard.

``scan_accept`` (run by ``LightScheduler`` with the ticket lights) publishes each transition
once as a ``ticket_change`` of kind ``accept`` (no ticket yet: ``ticket_id`` none, the call in
the payload), and stores the published light on ``call.accept_light`` in the same commit with a
compare-and-set, so a restarted or second scheduler does not publish it again. A red one is put
on the supervisors' escalation list as 超时未受理 by the outbound planner
(``hotline.outbound.planning``).

The calls looked at are those started since an hour (``WINDOW``) before the previous pass
(``since``; ``ix_call_started_at``, a range of about an hour's calls however long the table),
answered by a seat at least the yellow share of the limit ago, not yet published red. After a
start (no previous pass known) or a gap, the range reaches back to the last pass, at most
``CATCH_UP`` (a day): a call answered while the scheduler was stopped still owes its ticket and
is escalated when the scheduler comes back; one older than a day is not looked at again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, column, exists, insert, or_, table, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from hotline.calls.models import Call
from hotline.tickets.calendar import Light, Limits
from hotline.tickets.lifecycle import DEFAULT_LIMITS
from hotline.tickets.lights import light_between, worse
from hotline.tickets.models import ChangeKind, Ticket, TicketChange

WINDOW = timedelta(hours=1)
CATCH_UP = timedelta(days=1)
LIMIT = 10_000
STATUS = "answered"  # the outbox row's status: no ticket, the call is answered
_CALLS = Call.__table__  # type: ignore[attr-defined]
_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_CHANGES = TicketChange.__table__  # type: ignore[attr-defined]
# ``hotline.intake`` owns the drafts (and imports this package): only the two columns read.
_DRAFTS = table("ticket_draft", column("call_uniqueid"), column("status"))

# Compare-and-set: a call another pass published meanwhile is not touched.
_STORE = (
    update(_CALLS)
    .where(_CALLS.c.id == bindparam("b_id"),
           _CALLS.c.accept_light.is_not_distinct_from(bindparam("b_before")))
    .values(accept_light=bindparam("b_light"))
)


@dataclass(frozen=True)
class AcceptClock:
    """A call's 受理 clock: the seat's answer, yellow from ``yellow_at``, red after
    ``deadline``."""

    answered_at: datetime
    yellow_at: datetime
    deadline: datetime

    def light(self, now: datetime) -> Light:
        return light_between(now, yellow_at=self.yellow_at, deadline=self.deadline)


@dataclass(frozen=True)
class AcceptChanged:
    call_id: int
    uniqueid: str
    before: Light | None  # None: nothing published yet (green)
    after: Light
    answered_at: datetime
    deadline: datetime
    seat: str
    caller: str


def utc(value: datetime) -> datetime:
    """Aware UTC (the stored times come back aware, in UTC; a naive one would be UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def accept_clock(
    *, queue_joined_at: datetime | None, queue_wait_seconds: float | None,
    limits: Limits = DEFAULT_LIMITS,
) -> AcceptClock | None:
    """The clock of a call a seat answered through the queue (None when it was not)."""
    if queue_joined_at is None:
        return None
    answered = utc(queue_joined_at) + timedelta(seconds=queue_wait_seconds or 0)
    return AcceptClock(answered_at=answered,
                       yellow_at=answered + limits.accept * limits.yellow_share,
                       deadline=answered + limits.accept)


def running_clock(
    *, session: Session, call: Call, limits: Limits = DEFAULT_LIMITS
) -> AcceptClock | None:
    """The clock of ``call`` if it runs (a seat answered it, no ticket, draft not discarded);
    for the seat's pop."""
    if (call.direction != "in" or call.queue_outcome != "answered" or not call.answered_by):
        return None
    stopped = session.connection().execute(sa_select(
        exists().where(_TICKETS.c.call_uniqueid == call.uniqueid)
        | exists().where(_DRAFTS.c.call_uniqueid == call.uniqueid,
                         _DRAFTS.c.status == "discarded")
    )).scalar()
    if stopped:
        return None
    return accept_clock(queue_joined_at=call.queue_joined_at,
                        queue_wait_seconds=call.queue_wait_seconds, limits=limits)


def window_start(now: datetime, since: datetime | None) -> datetime:
    """The oldest call start a pass at ``now`` reads, the previous pass having run at ``since``
    (None: none known, after a start)."""
    if since is None:
        return now - CATCH_UP
    return max(now - CATCH_UP, min(now, since) - WINDOW)


def due_calls(*, now: datetime, limits: Limits = DEFAULT_LIMITS, limit: int = LIMIT,
              since: datetime | None = None) -> Any:
    """The query of the calls whose 受理 clock may have a light to publish at ``now``, oldest
    first (read along ``ix_call_started_at``); ``since``: the previous pass (``window_start``),
    now by default (the last hour's calls)."""
    c = _CALLS.c
    return (
        sa_select(c.id, c.uniqueid, c.queue_joined_at, c.queue_wait_seconds, c.answered_by,
                  c.caller_number, c.accept_light)
        .where(c.started_at >= window_start(now, now if since is None else since),
               c.queue_joined_at <= now - limits.accept * limits.yellow_share,
               c.queue_outcome == "answered", c.direction == "in",
               c.answered_by.is_not(None),
               or_(c.accept_light.is_(None), c.accept_light != Light.RED.value),
               ~exists().where(_TICKETS.c.call_uniqueid == c.uniqueid),
               ~exists().where(_DRAFTS.c.call_uniqueid == c.uniqueid,
                               _DRAFTS.c.status == "discarded"))
        .order_by(c.started_at)
        .limit(limit)
    )


def scan_accept(
    *, session: Session, now: datetime, limits: Limits = DEFAULT_LIMITS, limit: int = LIMIT,
    since: datetime | None = None,
) -> list[AcceptChanged]:
    """The 受理 lights that got worse at ``now``, stored and published in the caller's
    transaction. One query: the calls it can find are those answered by seats since an hour
    before ``since`` (the previous pass; now by default); ``limit`` only bounds a pathological
    pass (the oldest first: they turn red and leave)."""
    rows = session.connection().execute(
        due_calls(now=now, limits=limits, limit=limit, since=since)).all()
    changed = [change for row in rows if (change := _changed(row, now, limits)) is not None]
    if not changed:
        return []
    stored = _store(session, changed)
    published = [c for c in changed if c.call_id in stored]
    if published:
        session.connection().execute(insert(_CHANGES), [
            {"ticket_id": None, "draft_id": None, "number": "",
             "kind": ChangeKind.ACCEPT.value, "action": c.after.value, "seq": None,
             "status": STATUS, "light": c.after.value, "unit_ids": [], "at": now,
             "payload": {"uniqueid": c.uniqueid, "before": (c.before or Light.GREEN).value,
                         "answered_at": c.answered_at.isoformat(),
                         "deadline": c.deadline.isoformat(), "seat": c.seat,
                         "caller": c.caller}}
            for c in published
        ])
    return published


def _changed(row: Row[Any], now: datetime, limits: Limits) -> AcceptChanged | None:
    clock = accept_clock(queue_joined_at=row.queue_joined_at,
                         queue_wait_seconds=row.queue_wait_seconds, limits=limits)
    if clock is None:
        return None
    before = Light(row.accept_light) if row.accept_light else None
    current = clock.light(utc(now))
    if not worse(current, before) or current is Light.GREEN:
        return None
    return AcceptChanged(call_id=row.id, uniqueid=row.uniqueid, before=before, after=current,
                         answered_at=clock.answered_at, deadline=clock.deadline,
                         seat=row.answered_by or "", caller=row.caller_number or "")


def _store(session: Session, changed: Sequence[AcceptChanged]) -> set[int]:
    """Store each call's published light; the ids stored (one published meanwhile is not).

    One compare-and-set per call (a pass publishes a handful): its row count tells which are
    ours without a savepoint (on SQLite, releasing one opened first in a transaction commits)."""
    stored: set[int] = set()
    for c in changed:
        result = session.connection().execute(_STORE, {
            "b_id": c.call_id, "b_before": c.before.value if c.before else None,
            "b_light": c.after.value})
        if result.rowcount:
            stored.add(c.call_id)
    return stored
