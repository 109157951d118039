"""The deadline scanner: tickets turning yellow or red (督办), and parked tickets due a review.

It reads only the rows whose stored ``next_light_at`` has come (an index range scan), never
every ticket, and records the light it reports on the row, so a restarted scheduler does not
report it again. A parked ticket (挂账) keeps its review date in ``next_light_at``
(``service.light_columns``): when it comes, a ``review`` change (action ``park_review``) is
published and ``next_light_at`` cleared in the same commit, so each review date is reminded
once; parking again with a new date sets it again. The ticket stays parked. Commit after
publishing the changes to deliver each at least once, before to deliver each at most once.

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     for change in lights_changed(session=session, now=now):
    ...         notifier.publish(change)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from hotline.tickets.codec import decode_state
from hotline.tickets.lights import Marks, from_stored, publishing, stored_marks, worse
from hotline.tickets.models import Assignment, ChangeKind, Light, Ticket, TicketChange, Unit
from hotline.tickets.rules import park_review_due

_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_CHANGES = TicketChange.__table__  # type: ignore[attr-defined]

_Due = Row[*tuple[Any, ...]]  # id, number, version, status, light, yellow_at, deadline, unit,
#                                parked_until
PARKED = "parked"
PARK_REVIEW = "park_review"

# One statement for the whole batch (executemany); a row whose version moved is not touched.
_STORE_LIGHT = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("b_id"), _TICKETS.c.version == bindparam("b_version"))
    .values(light=bindparam("b_light"), next_light_at=bindparam("b_next"))
)


@dataclass(frozen=True)
class LightChanged:
    ticket_id: int
    number: str
    before: Light
    after: Light
    deadline: datetime | None
    main_unit: str | None


@dataclass(frozen=True)
class ParkReview:
    """A parked ticket whose review date came: remind the center and the unit, never close."""

    ticket_id: int
    number: str
    until: datetime
    main_unit: str | None


@dataclass(frozen=True)
class Scan:
    lights: list[LightChanged]
    reviews: list[ParkReview]
    looked: int  # rows looked at: scan again while it is the limit


def lights_changed(*, session: Session, now: datetime, limit: int = 1000) -> list[LightChanged]:
    """Tickets whose light got worse than the one last published, oldest change first.

    At most ``limit`` rows are looked at (``scan_lights`` says how many were); a ticket that
    changed meanwhile (its version moved) is left to the next scan.
    """
    return scan(session=session, now=now, limit=limit).lights


def scan_lights(
    *, session: Session, now: datetime, limit: int = 1000
) -> tuple[list[LightChanged], int]:
    """``lights_changed`` and the number of rows looked at: scan again while it is ``limit``."""
    done = scan(session=session, now=now, limit=limit)
    return done.lights, done.looked


def scan(*, session: Session, now: datetime, limit: int = 1000) -> Scan:
    """The light changes and park reviews due at ``now``, stored and published.

    The light comes from the row's stored ``yellow_at`` and ``deadline`` (written with every
    transition), so no state is decoded; the batch is stored with one UPDATE and its changes
    with one INSERT each.
    """
    t = _TICKETS.c
    due = session.connection().execute(
        sa_select(t.id, t.number, t.version, t.status, t.light, t.yellow_at, t.deadline,
                  t.main_unit_id, t.parked_until)
        .where(t.next_light_at <= now)
        .order_by(t.next_light_at)
        .limit(limit)
    ).all()
    if not due:
        return Scan([], [], 0)
    marked = [(row, _marks(row, now)) for row in due]
    stored = _store(session, marked)
    published = [(row, m) for row, m in marked
                 if row.id in stored and m.published is not from_stored(row.light)
                 and m.published is not None and m.published is m.current]
    reviewed = [row for row in due if row.id in stored and row.status == PARKED
                and row.parked_until is not None and row.parked_until <= now]
    lights = _announce(session, published, now)
    reviews = _announce_reviews(session, reviewed, now)
    return Scan(lights, reviews, len(due))


def _marks(row: _Due, now: datetime) -> Marks:
    before = from_stored(row.light)
    if row.yellow_at is None or row.deadline is None:  # no clock runs: nothing to watch
        return Marks(None, None, None, None, None)
    m = stored_marks(yellow_at=row.yellow_at, deadline=row.deadline, published=before, now=now)
    return publishing(m, m.current) if worse(m.current, before) and m.current else m


def _store(session: Session, marked: Sequence[tuple[_Due, Marks]]) -> set[int]:
    """Store each row's light; returns the ids stored (a row changed meanwhile is not)."""
    result = session.connection().execute(_STORE_LIGHT, [
        {"b_id": row.id, "b_version": row.version, "b_next": m.next_light_at,
         "b_light": (m.published or Light.NONE).value}
        for row, m in marked
    ])
    ids = {row.id for row, _ in marked}
    if result.rowcount == len(marked):
        return ids
    # Someone changed some of them: ours are those still at the version read (ours locked).
    versions = dict(session.exec(
        select(Ticket.id, Ticket.version).where(col(Ticket.id).in_(ids))
    ).all())
    return {row.id for row, _ in marked if versions.get(row.id) == row.version}


def _announce(
    session: Session, published: Sequence[tuple[_Due, Marks]], now: datetime
) -> list[LightChanged]:
    """The outbox rows of the lights published, and the changes to return."""
    if not published:
        return []
    units, holders = _units(session, [row for row, _ in published])
    changes = [
        LightChanged(ticket_id=row.id, number=row.number, before=Light(row.light),
                     after=Light(m.published.value), deadline=row.deadline,
                     main_unit=units.get(row.main_unit_id))
        for row, m in published if m.published is not None
    ]
    session.connection().execute(insert(_CHANGES), [
        {"ticket_id": c.ticket_id, "draft_id": None, "number": c.number,
         "kind": ChangeKind.LIGHT.value, "action": c.after.value, "seq": None,
         "status": row.status, "light": c.after.value,
         "unit_ids": sorted(holders.get(c.ticket_id, ())), "at": now,
         "payload": {"before": c.before.value, "main_unit": c.main_unit,
                     "deadline": c.deadline.isoformat() if c.deadline else None}}
        for c, (row, _) in zip(changes, published, strict=True)
    ])
    return changes


def _units(session: Session, rows: Sequence[_Due]
           ) -> tuple[dict[int, str], dict[int, set[int]]]:
    """The main units' names by id, and the ids of the units holding each ticket."""
    units = {unit_id: name for unit_id, name in session.exec(
        select(Unit.id, Unit.name).where(col(Unit.id).in_({row.main_unit_id for row in rows}))
    ).all() if unit_id is not None}
    holders: dict[int, set[int]] = {}
    for ticket_id, unit_id in session.exec(
        select(Assignment.ticket_id, Assignment.unit_id)
        .where(col(Assignment.ticket_id).in_([row.id for row in rows]))
    ).all():
        holders.setdefault(ticket_id, set()).add(unit_id)
    return units, holders


def _announce_reviews(session: Session, rows: Sequence[_Due], now: datetime
                      ) -> list[ParkReview]:
    """The outbox rows (kind ``review``) of the parked tickets whose review date came."""
    if not rows:
        return []
    units, holders = _units(session, rows)
    reviews = [ParkReview(ticket_id=row.id, number=row.number, until=row.parked_until,
                          main_unit=units.get(row.main_unit_id)) for row in rows]
    session.connection().execute(insert(_CHANGES), [
        {"ticket_id": r.ticket_id, "draft_id": None, "number": r.number,
         "kind": ChangeKind.REVIEW.value, "action": PARK_REVIEW, "seq": None,
         "status": PARKED, "light": Light.NONE.value,
         "unit_ids": sorted(holders.get(r.ticket_id, ())), "at": now,
         "payload": {"until": r.until.isoformat(), "main_unit": r.main_unit,
                     "deadline": r.until.isoformat()}}
        for r in reviews
    ])
    return reviews


def park_reviews_due(*, session: Session, now: datetime, limit: int = 1000) -> list[Ticket]:
    """Parked (挂账) tickets whose review date has come: remind the center, never close."""
    parked = session.exec(
        select(Ticket)
        .where(col(Ticket.parked_until) <= now)
        .order_by(col(Ticket.parked_until))
        .limit(limit)
    ).all()
    return [t for t in parked if park_review_due(decode_state(t.state), now=now)]
