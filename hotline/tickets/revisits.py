"""Satisfaction revisits (回访) rated by a person: a callback agent (回访员) on the phone, or
the citizen on the web survey page. In the caller's transaction (keyword-only session).

    waiting = revisit_queue(session=session)                 # who still has to be asked
    ticket = rate(session=session, number="20240601-00007", result=lc.Satisfaction.SATISFIED,
                  comment="处理很及时", actor="cb1", now=now)

``rate`` finds the ticket the rating belongs to (a merged ticket's caller is revisited on its
parent), starts the revisit of a reviewed ticket, stores the ``Revisit`` (不满意 the first time
opens the redo 重办, by the work-order rules) with the comment on its event, and settles the
outbound survey calls of that caller: one in the callback queue is done with this result, one
still pending is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from hotline.outbound.models import CallStatus, OutboundCall
from hotline.outbound.rules import Purpose
from hotline.tickets import lifecycle as lc
from hotline.tickets.codec import decode_state
from hotline.tickets.errors import TicketError
from hotline.tickets.models import Ticket, TicketEvent
from hotline.tickets.service import DEFAULT_RULES, Rules, act, get_by_number, get_ticket

WAITING = (lc.Status.REVIEWED, lc.Status.REVISIT)


class NotAwaitingRevisit(TicketError):
    error_id = "not-awaiting-revisit"
    status_code = 409

    def __init__(self, number: str) -> None:
        super().__init__(f"ticket {number} has no revisit waiting for this caller",
                         ticket=number)


@dataclass(frozen=True)
class Waiting:
    """One caller to revisit: ``caller`` is the ticket whose caller is asked."""

    ticket: Ticket
    caller: Ticket
    call: OutboundCall | None  # the automatic survey call of this caller, if any
    redo_count: int = 0  # 重办 rounds the ticket has had (this revisit is after a redo: > 0)


def target_of(session: Session, caller: Ticket) -> Ticket:
    """The ticket that holds the revisit of ``caller``'s ticket (its parent once merged)."""
    if caller.parent_id is not None:
        return get_ticket(session=session, ticket_id=caller.parent_id)
    return caller


def awaits(session: Session, caller: Ticket) -> bool:
    """Whether the caller of this ticket has a revisit waiting for an answer now."""
    target = target_of(session, caller)
    return (target.status in WAITING
            and caller.number in decode_state(target.state).callers_to_revisit())


def revisit_round(session: Session, caller: Ticket) -> int:
    """The revisit round (0, then 1 after a redo 重办) of the ticket holding the revisit."""
    return decode_state(target_of(session, caller).state).redo_count


def rate(*, session: Session, number: str, result: lc.Satisfaction, comment: str, actor: str,
         now: datetime, rules: Rules = DEFAULT_RULES) -> Ticket:
    """Store the rating of the caller of ticket ``number``; returns the rated ticket."""
    caller = get_by_number(session=session, number=number)
    target = target_of(session, caller)
    if not awaits(session, caller):
        raise NotAwaitingRevisit(number)
    target_id = target.id
    assert target_id is not None
    if target.status == lc.Status.REVIEWED:
        target = act(session=session, ticket_id=target_id, action=lc.StartRevisit(),
                     actor=actor, now=now, rules=rules)
    action = lc.Revisit(result=result,
                        ticket_id=None if caller.number == target.number else caller.number)
    target = act(session=session, ticket_id=target_id, action=action, actor=actor, now=now,
                 rules=rules)
    if comment.strip():
        event = session.exec(select(TicketEvent).where(
            TicketEvent.ticket_id == target.id, TicketEvent.seq == target.version)).one()
        event.payload = {**event.payload, "comment": comment.strip()}
        session.add(event)
    _settle_calls(session, target, caller, result, now=now)
    session.flush()
    return target


def _settle_calls(session: Session, target: Ticket, caller: Ticket, result: lc.Satisfaction,
                  *, now: datetime) -> None:
    child = None if caller.number == target.number else caller.number
    calls = session.exec(select(OutboundCall).where(
        OutboundCall.ticket_id == target.id, OutboundCall.purpose == Purpose.SURVEY,
        col(OutboundCall.caller_ticket).is_(None) if child is None
        else OutboundCall.caller_ticket == child,
        col(OutboundCall.status).in_([CallStatus.CALLBACK, CallStatus.PENDING]),
    )).all()
    for call in calls:
        if call.status == CallStatus.CALLBACK:
            call.status, call.result = CallStatus.DONE, result.value
        else:
            call.status = CallStatus.CANCELLED
        call.next_attempt_at, call.updated_at = None, now
        session.add(call)


def revisit_queue(*, session: Session, limit: int = 200) -> list[Waiting]:
    """Every caller waiting for a revisit, oldest ticket change first: tickets reviewed or in
    回访, each caller not yet rated this round, with the survey call made for them if any."""
    tickets = session.exec(
        select(Ticket).where(col(Ticket.status).in_(list(WAITING)))
        .order_by(col(Ticket.updated_at), col(Ticket.id)).limit(limit)
    ).all()
    # The survey calls of every listed ticket in one query (not one per ticket), newest last.
    surveys: dict[int, list[OutboundCall]] = {}
    for call in session.exec(
        select(OutboundCall).where(
            col(OutboundCall.ticket_id).in_([t.id for t in tickets]),
            OutboundCall.purpose == Purpose.SURVEY)
        .order_by(col(OutboundCall.id))
    ).all() if tickets else []:
        surveys.setdefault(call.ticket_id or 0, []).append(call)
    waiting: list[Waiting] = []
    for ticket in tickets:
        state = decode_state(ticket.state)
        this_round = f":{state.redo_count}"
        calls = {c.caller_ticket or ticket.number: c for c in surveys.get(ticket.id or 0, [])
                 if c.dedupe_key.endswith(this_round)}
        for number in state.callers_to_revisit():
            caller = ticket if number == ticket.number else get_by_number(
                session=session, number=number)
            waiting.append(Waiting(ticket=ticket, caller=caller, call=calls.get(number),
                                   redo_count=state.redo_count))
    return waiting
