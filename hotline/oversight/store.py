"""Keeping the oversight facts (``oversight_fact``) in step with the tickets.

``on_transition`` is called by ``hotline.tickets.service`` inside the transaction of every
transition, after the ticket row was written: the facts and the ticket commit or roll back
together. ``rebuild_ticket`` folds a ticket's whole event log again (``replay_steps``), the
from-scratch recomputation the incremental rows must always equal; ``rebuild_all`` fills the
table for tickets written without the service (the bench seeder's bulk rows).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from sqlmodel import Session, col, delete, select

from hotline.oversight.definitions import UnitFacts, facts_from_log, step
from hotline.oversight.models import OversightFact
from hotline.tickets import lifecycle as lc
from hotline.tickets.calendar import Limits, WorkCalendar
from hotline.tickets.codec import decode_action, decode_state
from hotline.tickets.lifecycle import DEFAULT_CALENDAR, DEFAULT_LIMITS, TicketState
from hotline.tickets.models import Ticket, TicketEvent, Unit
from hotline.tickets.rules import apply
from hotline.tickets.units import unit_ids

_FIELDS = ("dispatched_at", "sign_by", "responded_at", "due_at", "replied_at", "finished_at",
           "late_replies", "redo_at", "refused_at", "revisited_at", "unsatisfied_twice")


def _to_facts(row: OversightFact, unit: str) -> UnitFacts:
    satisfaction = lc.Satisfaction(row.satisfaction) if row.satisfaction else None
    return UnitFacts(unit=unit, role=lc.Role(row.role), satisfaction=satisfaction,
                     **{name: getattr(row, name) for name in _FIELDS})


def _fill(row: OversightFact, facts: UnitFacts, matter_id: int | None) -> None:
    row.role, row.matter_id = facts.role.value, matter_id
    row.satisfaction = facts.satisfaction.value if facts.satisfaction else None
    for name in _FIELDS:
        setattr(row, name, getattr(facts, name))


def _rows(session: Session, ticket_id: int) -> dict[int, OversightFact]:
    rows = session.exec(select(OversightFact).where(OversightFact.ticket_id == ticket_id)).all()
    return {row.unit_id: row for row in rows}


def _save(
    session: Session, *, ticket_id: int, matter_id: int | None,
    facts: Mapping[str, UnitFacts], ids: Mapping[str, int], rows: dict[int, OversightFact],
) -> None:
    for unit, f in facts.items():
        row = rows.get(ids[unit]) or OversightFact(
            ticket_id=ticket_id, unit_id=ids[unit], role=f.role.value,
            dispatched_at=f.dispatched_at, sign_by=f.sign_by,
        )
        _fill(row, f, matter_id)
        session.add(row)


def on_transition(
    *, session: Session, ticket_id: int, matter_id: int | None, event: lc.Event,
    before: TicketState, after: TicketState, ids: Mapping[str, int],
) -> None:
    """Step the ticket's facts by one transition (``ids``: unit name → id for ``after``)."""
    if not after.assignments and not before.assignments:
        return
    rows = _rows(session, ticket_id)
    names = {unit_id: name for name, unit_id in ids.items()}
    current = {names[u]: _to_facts(row, names[u]) for u, row in rows.items() if u in names}
    new = step(current, event, before, after)
    changed = {unit: f for unit, f in new.items() if current.get(unit) != f}
    _save(session, ticket_id=ticket_id, matter_id=matter_id, facts=changed, ids=ids, rows=rows)


def replay_steps(
    events: list[TicketEvent], *, calendar: WorkCalendar = DEFAULT_CALENDAR,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[tuple[TicketState, lc.Event, TicketState]]:
    """``(before, event, after)`` for every logged transition, replayed by the machine."""
    state = decode_state(events[0].payload["initial"])
    for e in events[1:]:
        action = decode_action(e.payload["action"])
        at = datetime.fromisoformat(e.payload["at"])
        transition = apply(state, action, now=at, actor=e.actor, calendar=calendar,
                           limits=limits)
        yield state, transition.event, transition.new_state
        state = transition.new_state


def facts_of_ticket(*, session: Session, ticket_id: int) -> dict[str, UnitFacts]:
    """The ticket's facts folded from its event log, from scratch."""
    events = list(session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        .order_by(col(TicketEvent.seq))
    ).all())
    return facts_from_log(replay_steps(events)) if events else {}


def rebuild_ticket(*, session: Session, ticket_id: int) -> None:
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    facts = facts_of_ticket(session=session, ticket_id=ticket_id)
    session.exec(delete(OversightFact).where(col(OversightFact.ticket_id) == ticket_id))
    if facts:
        ids = unit_ids(session, tuple(facts))
        _save(session, ticket_id=ticket_id, matter_id=ticket.matter_id, facts=facts, ids=ids,
              rows={})
    session.flush()


def rebuild_all(*, session: Session, batch: int = 1000) -> int:
    """Rebuild the facts of every ticket; returns how many tickets were read."""
    ids = list(session.exec(select(Ticket.id).order_by(col(Ticket.id))).all())
    for i, ticket_id in enumerate(ids, 1):
        assert ticket_id is not None
        rebuild_ticket(session=session, ticket_id=ticket_id)
        if i % batch == 0:
            session.expunge_all()
    return len(ids)


def stored_facts(*, session: Session, ticket_id: int) -> dict[str, UnitFacts]:
    """The ticket's facts as stored (what the incremental updates left)."""
    rows = _rows(session, ticket_id)
    if not rows:
        return {}
    names = {u.id: u.name for u in session.exec(
        select(Unit).where(col(Unit.id).in_(list(rows)))
    ).all()}
    return {names[u]: _to_facts(row, names[u]) for u, row in rows.items()}
