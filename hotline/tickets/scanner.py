"""The deadline scanner: tickets turning yellow or red (督办), and parked tickets due a review.

It reads only the rows whose stored ``next_light_at`` has come (an index range scan), never
every ticket, and records the light it reports on the row, so a restarted scheduler does not
report it again. Commit after publishing the changes to deliver each at least once, before to
deliver each at most once.

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     for change in lights_changed(session=session, now=now):
    ...         notifier.publish(change)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from hotline.tickets.changes import record_change
from hotline.tickets.codec import decode_state
from hotline.tickets.lights import from_stored, marks, worse
from hotline.tickets.models import Assignment, ChangeKind, Light, Ticket, Unit
from hotline.tickets.rules import park_review_due
from hotline.tickets.service import DEFAULT_RULES, Rules, light_columns


@dataclass(frozen=True)
class LightChanged:
    ticket_id: int
    number: str
    before: Light
    after: Light
    deadline: datetime | None
    main_unit: str | None


def lights_changed(
    *, session: Session, now: datetime, limit: int = 1000, rules: Rules = DEFAULT_RULES
) -> list[LightChanged]:
    """Tickets whose light got worse than the one last published, oldest change first.

    At most ``limit`` rows are looked at (``scan_lights`` says how many were); a ticket that
    changed meanwhile (its version moved) is left to the next scan.
    """
    return scan_lights(session=session, now=now, limit=limit, rules=rules)[0]


def scan_lights(
    *, session: Session, now: datetime, limit: int = 1000, rules: Rules = DEFAULT_RULES
) -> tuple[list[LightChanged], int]:
    """``lights_changed`` and the number of rows looked at: scan again while it is ``limit``."""
    due = session.exec(
        select(Ticket)
        .where(col(Ticket.next_light_at) <= now)
        .order_by(col(Ticket.next_light_at))
        .limit(limit)
    ).all()
    units = {u.id: u.name for u in session.exec(
        select(Unit).where(col(Unit.id).in_({t.main_unit_id for t in due}))
    ).all()}
    holders: dict[int, set[int]] = {}
    for ticket_id, unit_id in session.exec(
        select(Assignment.ticket_id, Assignment.unit_id)
        .where(col(Assignment.ticket_id).in_([t.id for t in due]))
    ).all():
        holders.setdefault(ticket_id, set()).add(unit_id)
    changes = []
    for ticket in due:
        state, before = decode_state(ticket.state), from_stored(ticket.light)
        now_light = marks(state, now=now, published=before, yellow_share=rules.limits.yellow_share,
                          calendar=rules.calendar).current
        publish = now_light if worse(now_light, before) else before
        columns = light_columns(state, now=now, rules=rules,
                                published=publish.value if publish else None)
        result = session.exec(
            update(Ticket)
            .where(col(Ticket.id) == ticket.id, col(Ticket.version) == ticket.version)
            .values(light=columns["light"], next_light_at=columns["next_light_at"])
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1 and publish is not before and publish is not None:
            change = LightChanged(
                ticket_id=ticket.id or 0, number=ticket.number, before=Light(ticket.light),
                after=Light(publish.value), deadline=ticket.deadline,
                main_unit=units.get(ticket.main_unit_id),
            )
            changes.append(change)
            record_change(
                session=session, ticket=ticket, kind=ChangeKind.LIGHT, action=change.after,
                at=now, status=ticket.status, light=change.after,
                unit_ids=holders.get(change.ticket_id, ()),
                payload={"before": change.before.value, "main_unit": change.main_unit,
                         "deadline": change.deadline.isoformat() if change.deadline else None},
            )
        session.expire(ticket)
    session.flush()
    return changes, len(due)


def park_reviews_due(*, session: Session, now: datetime, limit: int = 1000) -> list[Ticket]:
    """Parked (挂账) tickets whose review date has come: remind the center, never close."""
    parked = session.exec(
        select(Ticket)
        .where(col(Ticket.parked_until) <= now)
        .order_by(col(Ticket.parked_until))
        .limit(limit)
    ).all()
    return [t for t in parked if park_review_due(decode_state(t.state), now=now)]
