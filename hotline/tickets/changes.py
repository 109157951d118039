"""The outbox of ticket changes (``TicketChange``): written with each change, read in order.

Writers call ``record_change`` in the transaction of the change itself (``service._write``,
``service.create_ticket``, ``scanner.lights_changed``); a work-order draft made from a
transcript, accepted or discarded is told with ``record_draft_change`` (``hotline.intake``),
and an emergency line suggested for it first, with ``record_emergency_alert`` (kind ``alert``).
Readers ask ``changes_after(cursor)`` and keep the last id they handled as their cursor (the
console's event stream sends it as the SSE id, so a browser that reconnects with
``Last-Event-ID`` misses nothing).

Ids are given out when a row is inserted, not when its transaction commits: on PostgreSQL a
reader can see id 12 before id 11 commits. ``changes_after`` therefore stops at the first gap
younger than ``gap_grace`` (the missing row may still commit) and steps over older gaps (their
transactions rolled back).

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     batch = changes_after(session=session, cursor=0, now=now)
    ...     for change in batch.changes: ...
    ...     cursor = batch.cursor
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from hotline.tickets.models import ChangeKind, Light, Ticket, TicketChange

GAP_GRACE = timedelta(seconds=5)


def record_change(
    *, session: Session, ticket: Ticket, kind: ChangeKind, action: str, at: datetime,
    status: str, light: Light | str, unit_ids: Iterable[int], seq: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    assert ticket.id is not None
    session.add(TicketChange(
        ticket_id=ticket.id, number=ticket.number, kind=kind, action=action, seq=seq,
        status=status, light=Light(light), unit_ids=sorted(set(unit_ids)), at=at,
        payload=payload or {},
    ))


def record_draft_change(
    *, session: Session, draft_id: int, action: str, status: str, at: datetime,
    ticket: Ticket | None = None, payload: dict[str, Any] | None = None,
) -> None:
    """A change of a draft (kind ``draft``): no unit holds it, so unit handlers never see it."""
    session.add(TicketChange(
        ticket_id=ticket.id if ticket else None, draft_id=draft_id,
        number=ticket.number if ticket else "", kind=ChangeKind.DRAFT, action=action,
        status=status, light=Light(ticket.light) if ticket else Light.NONE, unit_ids=[], at=at,
        payload=payload or {},
    ))


def record_emergency_alert(
    *, session: Session, draft_id: int, line: str, confidence: float, at: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """A caller seems in danger now: ``line`` (110 / 119 / 120 / 122) is suggested. Kind
    ``alert``, action ``emergency``: the console interrupts the operator instead of listing
    a draft. Operators only (no unit holds it); nothing is dispatched by this."""
    session.add(TicketChange(
        ticket_id=None, draft_id=draft_id, number="", kind=ChangeKind.ALERT, action="emergency",
        status="open", light=Light.NONE, unit_ids=[], at=at,
        payload={"line": line, "confidence": round(confidence, 3), **(payload or {})},
    ))


@dataclass(frozen=True)
class ChangeBatch:
    changes: list[TicketChange]
    cursor: int  # the id to ask after next time


def latest_cursor(*, session: Session) -> int:
    """The id of the newest change: a reader that wants only what happens from now on."""
    return int(session.exec(select(func.coalesce(func.max(TicketChange.id), 0))).one() or 0)


def changes_after(
    *, session: Session, cursor: int, now: datetime, limit: int = 200,
    unit_id: int | None = None, gap_grace: timedelta = GAP_GRACE,
) -> ChangeBatch:
    """Changes with an id above ``cursor``, in id order, up to the first young gap.

    With ``unit_id`` only the changes of tickets that unit holds an assignment on are returned
    (the cursor still moves past the others).
    """
    rows = session.exec(
        select(TicketChange).where(col(TicketChange.id) > cursor)
        .order_by(col(TicketChange.id)).limit(limit)
    ).all()
    taken: list[TicketChange] = []
    expected = cursor + 1
    for row in rows:
        assert row.id is not None
        if row.id != expected and _young(row.at, now, gap_grace):
            break  # an older id may still commit: wait for it
        expected = row.id + 1
        cursor = row.id
        if unit_id is None or unit_id in row.unit_ids:
            taken.append(row)
    return ChangeBatch(changes=taken, cursor=cursor)


def _young(at: datetime, now: datetime, grace: timedelta) -> bool:
    if at.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None) - (now.utcoffset() or timedelta())
    return now - at < grace
