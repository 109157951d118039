"""Use cases of work orders: create, act, dispatch, merge, replay, and the light scanner.

A ticket made from a call a seat answered records in its creation event (payload ``accept``)
how long after the answer it was accepted (受理, ``accept_time``).

Every function takes the session by keyword and writes in the caller's transaction
(``hotline.db.session_scope`` commits or rolls back): a transition loads the ticket, asks the
pure machine (``rules.apply``), then writes the new state, the assignments, the side records
and the event together. The ticket row's ``version`` is the seq of its last event and every
write checks it (``UPDATE … WHERE id = ? AND version = ?``): the loser of two concurrent
transitions gets ``ConcurrentUpdate`` and writes nothing.

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     ticket = create_ticket(session=session, draft=draft, now=now, actor="op-7")
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     dispatch(session=session, ticket_id=ticket.id, main_unit="市城管局",
    ...              actor="op-7", now=now, expected_seq=0)

Pass aware datetimes in the center's local time (UTC+8): working days and the date in the
ticket number follow the clock of ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select, update

from hotline.calls.models import Call
from hotline.oversight.store import on_transition as update_oversight
from hotline.tickets import lifecycle as lc
from hotline.tickets.accept import accept_clock
from hotline.tickets.calendar import Limits, WorkCalendar
from hotline.tickets.changes import record_change
from hotline.tickets.codec import decode_action, decode_state, encode_action, encode_state
from hotline.tickets.errors import ConcurrentUpdate, NoSuchMatter, NoSuchTicket
from hotline.tickets.lifecycle import DEFAULT_CALENDAR, DEFAULT_LIMITS, TicketState, Transition
from hotline.tickets.lights import from_stored, marks
from hotline.tickets.models import (
    Assignment,
    ChangeKind,
    DispatchChoice,
    ExtensionRequest,
    Light,
    Matter,
    Reply,
    SurveyResult,
    Ticket,
    TicketCounter,
    TicketCreate,
    TicketEvent,
)
from hotline.tickets.queries import search_terms_for
from hotline.tickets.rules import apply
from hotline.tickets.rules import merge as merge_states
from hotline.tickets.rules import replay as replay_states
from hotline.tickets.suggestion import Suggestion, dispatch_suggestion
from hotline.tickets.units import unit_ids

CREATE = "create"


@dataclass(frozen=True)
class Rules:
    """The calendar and limits the machine runs with (configurable per deployment)."""

    calendar: WorkCalendar = DEFAULT_CALENDAR
    limits: Limits = DEFAULT_LIMITS


DEFAULT_RULES = Rules()


# --- reading -------------------------------------------------------------------------------


def get_ticket(*, session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NoSuchTicket(ticket_id)
    return ticket


def get_by_number(*, session: Session, number: str) -> Ticket:
    ticket = session.exec(select(Ticket).where(Ticket.number == number)).first()
    if ticket is None:
        raise NoSuchTicket(number)
    return ticket


def state_of(ticket: Ticket) -> TicketState:
    return decode_state(ticket.state)


def events_of(*, session: Session, ticket_id: int) -> list[TicketEvent]:
    return list(session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        .order_by(col(TicketEvent.seq))
    ).all())


def replay_ticket(
    *, session: Session, ticket_id: int, rules: Rules = DEFAULT_RULES
) -> TicketState:
    """The state reached by replaying the ticket's event log through the pure machine."""
    logged = events_of(session=session, ticket_id=ticket_id)
    if not logged or logged[0].action != CREATE:
        raise NoSuchTicket(ticket_id)
    initial = decode_state(logged[0].payload["initial"])
    replayed = [
        lc.Event(
            ticket_id=initial.ticket_id,
            action=decode_action(e.payload["action"]),
            actor=e.actor,
            at=datetime.fromisoformat(e.payload["at"]),
            before=lc.Status(e.before_status or initial.status),
            after=lc.Status(e.after_status),
            reason=e.reason,
        )
        for e in logged[1:]
    ]
    return replay_states(initial, replayed, calendar=rules.calendar, limits=rules.limits)


# --- creating ------------------------------------------------------------------------------


def _next_number(session: Session, now: datetime) -> str:
    """``YYYYMMDD-NNNNN``: a per-day counter row bumped in the caller's transaction."""
    day = now.strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TicketCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=["day"], set_={"last": col(TicketCounter.last) + 1}
        )
        .returning(col(TicketCounter.last))
    )
    seq = session.exec(statement).scalar_one()
    return f"{day}-{seq:05d}"


def create_ticket(
    *, session: Session, draft: TicketCreate, now: datetime, actor: str,
    rules: Rules = DEFAULT_RULES,
) -> Ticket:
    """Accept (受理) a ticket: number it, store its initial state and its creation event."""
    draft = TicketCreate.model_validate(draft.model_dump())
    if draft.matter_id is not None and session.get(Matter, draft.matter_id) is None:
        raise NoSuchMatter(draft.matter_id)
    number = _next_number(session, now)
    initial = lc.new_ticket(
        number,
        request_type=draft.request_type.for_machine(),
        accepted_at=now,
        urgency=draft.urgency,
        difficult=draft.difficult,
        limits=rules.limits,
    )
    ticket = Ticket(
        **draft.model_dump(), number=number, created_at=now, updated_at=now,
        status=initial.status, state=encode_state(initial),
        search_terms=search_terms_for(draft.description, draft.location, draft.caller_name),
        **light_columns(initial, now=now, rules=rules, published=None),
    )
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    accept = accept_time(session=session, uniqueid=draft.call_uniqueid, now=now,
                         limits=rules.limits)
    session.add(TicketEvent(
        ticket_id=ticket.id, seq=0, action=CREATE, actor=actor, at=now,
        before_status=None, after_status=initial.status,
        payload={"at": now.isoformat(), "initial": encode_state(initial),
                 "draft": draft.model_dump(mode="json"),
                 **({"accept": accept} if accept else {})},
    ))
    record_change(session=session, ticket=ticket, kind=ChangeKind.EVENT, action=CREATE, seq=0,
                  at=now, status=initial.status, light=ticket.light, unit_ids=(),
                  payload={"accept": accept} if accept else None)
    session.flush()
    return ticket


def accept_time(
    *, session: Session, uniqueid: str | None, now: datetime, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any] | None:
    """受理 within ``limits.accept`` (1 minute) of a seat answering the call: measured when the
    ticket is created from a call a seat answered through the queue (its answer is the queue
    join plus the wait), else None. ``seconds`` from the answer to the ticket, ``within`` the
    limit or not."""
    if not uniqueid:
        return None
    call = session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
    clock = accept_clock(queue_joined_at=call.queue_joined_at,
                         queue_wait_seconds=call.queue_wait_seconds, limits=limits) \
        if call is not None and call.queue_outcome == "answered" else None
    if clock is None:
        return None
    answered = clock.answered_at
    seconds = (now - answered).total_seconds()
    return {"answered_at": answered.isoformat(), "seconds": round(seconds, 1),
            "within": seconds <= limits.accept.total_seconds()}


# --- transitions ---------------------------------------------------------------------------


def light_columns(
    state: TicketState, *, now: datetime, rules: Rules, published: str | None
) -> dict[str, Any]:
    """The ticket row's deadline and light columns for ``state`` (see ``lights.py``)."""
    last = from_stored(published) if published is not None else None
    m = marks(state, now=now, published=last, yellow_share=rules.limits.yellow_share,
              calendar=rules.calendar)
    review = state.parked_until if state.status is lc.Status.PARKED else None
    return {
        "deadline": m.deadline,
        "yellow_at": m.yellow_at,
        "next_light_at": review or m.next_light_at,  # a parked ticket: its review date
        "light": Light(m.published.value) if m.published is not None else Light.NONE,
        "handling_deadline": state.handling_deadline,
        "parked_until": state.parked_until,
    }


def _load(session: Session, ticket_id: int, expected_seq: int | None) -> Ticket:
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    if expected_seq is not None and ticket.version != expected_seq:
        raise ConcurrentUpdate(ticket.number, expected=expected_seq, actual=ticket.version)
    return ticket


def _write(
    session: Session, ticket: Ticket, step: Transition, *, now: datetime, rules: Rules,
    payload: dict[str, Any] | None = None,
) -> int:
    """Store ``step`` if the ticket is still at the version read; returns the event's seq."""
    before, after = decode_state(ticket.state), step.new_state
    names = tuple(dict.fromkeys(a.unit for a in after.assignments))
    ids = unit_ids(session, names) if names else {}
    main = after.main_assignment()
    seq = ticket.version + 1
    lights = light_columns(after, now=now, rules=rules, published=ticket.light)
    if before.status is after.status is lc.Status.PARKED:  # still parked: reminded or not
        lights["next_light_at"] = ticket.next_light_at
    result = session.exec(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.version) == ticket.version)
        .values(
            version=seq, status=after.status, state=encode_state(after), updated_at=now,
            main_unit_id=ids[main.unit] if main is not None else None, **lights,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(ticket.number, expected=ticket.version)
    assert ticket.id is not None
    _sync_assignments(session, ticket.id, after, ids)
    _side_records(session, ticket, before, step, ids, seq=seq)
    update_oversight(session=session, ticket_id=ticket.id, matter_id=ticket.matter_id,
                     event=step.event, before=before, after=after, ids=ids)
    event = step.event
    session.add(TicketEvent(
        ticket_id=ticket.id, seq=seq, action=event.name, actor=event.actor, at=event.at,
        reason=event.reason, before_status=event.before, after_status=event.after,
        payload={"at": event.at.isoformat(), "action": encode_action(event.action),
                 **(payload or {})},
    ))
    session.flush()
    session.expire(ticket)
    record_change(
        session=session, ticket=ticket, kind=ChangeKind.EVENT, action=event.name, seq=seq,
        at=event.at, status=after.status, light=ticket.light, unit_ids=ids.values(),
        payload={"actor": event.actor, "before": event.before, "reason": event.reason},
    )
    return seq


def _sync_assignments(
    session: Session, ticket_id: int, state: TicketState, ids: dict[str, int]
) -> None:
    rows = {a.unit_id: a for a in session.exec(
        select(Assignment).where(Assignment.ticket_id == ticket_id)
    ).all()}
    latest = {a.unit: a for a in state.assignments}  # a later assignment of a unit wins
    for unit, a in latest.items():
        row = rows.get(ids[unit]) or Assignment(
            ticket_id=ticket_id, unit_id=ids[unit], role=a.role, status=a.status,
            dispatched_at=a.dispatched_at, sign_by=a.sign_by,
        )
        row.role, row.status, row.signed_at = a.role, a.status, a.signed_at
        row.dispatched_at, row.sign_by = a.dispatched_at, a.sign_by
        session.add(row)


def _side_records(
    session: Session, ticket: Ticket, before: TicketState, step: Transition,
    ids: dict[str, int], *, seq: int,
) -> None:
    action, event, ticket_id = step.event.action, step.event, ticket.id or 0
    match action:
        case lc.Reply():
            session.add(Reply(ticket_id=ticket_id, unit_id=ids[action.unit], event_seq=seq,
                              text=action.text, at=event.at, actor=event.actor))
        case lc.RequestExtension():
            session.add(ExtensionRequest(
                ticket_id=ticket_id, unit_id=ids[action.unit], days=action.days,
                reason=action.reason, requested_at=event.at, requested_by=event.actor,
            ))
        case lc.Revisit():
            session.add(SurveyResult(
                ticket_id=ticket_id, caller_ticket=action.ticket_id or ticket.number,
                result=action.result, round=before.redo_count, at=event.at, actor=event.actor,
            ))
    if before.pending_extension is not None and step.new_state.pending_extension is None:
        decision = "dropped"
        if isinstance(action, lc.DecideExtension):
            decision = "approved" if action.approve else "refused"
        pending = session.exec(select(ExtensionRequest).where(
            ExtensionRequest.ticket_id == ticket_id, ExtensionRequest.decision == "pending"
        )).first()
        if pending is not None:
            pending.decision, pending.decided_at, pending.decided_by = (
                decision, event.at, event.actor
            )
            pending.decision_reason = event.reason
            session.add(pending)


def act(
    *, session: Session, ticket_id: int, action: lc.Action, actor: str, now: datetime,
    expected_seq: int | None = None, rules: Rules = DEFAULT_RULES,
) -> Ticket:
    """Take ``action`` on the ticket; ``ActionNotAllowed`` lists what can be done instead.

    ``expected_seq`` is the version the actor saw; a ticket changed since raises
    ``ConcurrentUpdate``, as does losing a race with another transition.
    """
    ticket = _load(session, ticket_id, expected_seq)
    _check_units(session, action)
    step = apply(decode_state(ticket.state), action, now=now, actor=actor,
                 calendar=rules.calendar, limits=rules.limits)
    _write(session, ticket, step, now=now, rules=rules)
    return get_ticket(session=session, ticket_id=ticket_id)


def _check_units(session: Session, action: lc.Action) -> None:
    match action:
        case lc.Dispatch():
            unit_ids(session, (action.main_unit, *action.assist_units))
        case lc.ReviewReturn() if action.redispatch_to is not None:
            unit_ids(session, (action.redispatch_to,))


def dispatch(
    *, session: Session, ticket_id: int, main_unit: str, actor: str, now: datetime,
    assist_units: tuple[str, ...] = (), suggestion: Suggestion | None = None,
    expected_seq: int | None = None, rules: Rules = DEFAULT_RULES,
) -> Ticket:
    """派单, storing what the responsibility list suggested next to what the operator chose.

    Without ``suggestion`` the list is asked for one from the ticket's matter (or description)
    and location.
    """
    ticket = _load(session, ticket_id, expected_seq)
    if suggestion is None:
        suggestion = dispatch_suggestion(
            session=session, matter_id=ticket.matter_id, text=ticket.description,
            location=ticket.location,
        )
    action = lc.Dispatch(main_unit=main_unit, assist_units=tuple(assist_units))
    _check_units(session, action)
    step = apply(decode_state(ticket.state), action, now=now, actor=actor,
                 calendar=rules.calendar, limits=rules.limits)
    seq = _write(session, ticket, step, now=now, rules=rules,
                 payload={"suggested": {"main": suggestion.main_unit,
                                        "assist": list(suggestion.assist_units)}})
    followed = (suggestion.main_unit, tuple(suggestion.assist_units)) == (
        main_unit, tuple(assist_units)
    )
    session.add(DispatchChoice(
        ticket_id=ticket_id, event_seq=seq, matter_id=suggestion.matter_id,
        suggested_main=suggestion.main_unit, suggested_assist=list(suggestion.assist_units),
        chosen_main=main_unit, chosen_assist=list(assist_units), followed=followed,
        at=now, actor=actor,
    ))
    session.flush()
    return get_ticket(session=session, ticket_id=ticket_id)


def merge_tickets(
    *, session: Session, child_id: int, parent_id: int, actor: str, now: datetime,
    rules: Rules = DEFAULT_RULES,
) -> tuple[Ticket, Ticket]:
    """合并: the child becomes ``merged`` into the parent, whose revisit then includes it."""
    child = _load(session, child_id, None)
    parent = _load(session, parent_id, None)
    child_step, parent_step = merge_states(
        decode_state(child.state), decode_state(parent.state), now=now, actor=actor,
        calendar=rules.calendar, limits=rules.limits,
    )
    _write(session, parent, parent_step, now=now, rules=rules)
    _write(session, child, child_step, now=now, rules=rules)
    session.exec(update(Ticket).where(col(Ticket.id) == child_id).values(parent_id=parent_id))
    session.flush()
    return get_ticket(session=session, ticket_id=child_id), get_ticket(
        session=session, ticket_id=parent_id
    )
