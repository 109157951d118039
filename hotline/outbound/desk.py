"""What people do with outbound calls, each in the caller's transaction: callback agents
(回访员) take a survey whose attempts are used up and record what the citizen said (the rating
goes onto the ticket as a ``Revisit``, as if keyed on the phone); supervisors resolve the
escalation list with a note; the do-not-call list is kept by hand.

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     take_callback(session=session, call_id=7, agent="cb", now=now)
    ...     record_callback(session=session, call_id=7, agent="cb", result=Satisfaction.SATISFIED,
    ...                     comment="路灯已经亮了", now=now, rules=rules)
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from hotline.outbound.errors import (
    EscalationResolved,
    NoSuchDoNotCall,
    NoSuchEscalation,
    NoSuchOutboundCall,
    NotInCallbackQueue,
    TakenByAnother,
)
from hotline.outbound.models import CallStatus, DoNotCall, Escalation, OutboundAttempt, OutboundCall
from hotline.outbound.rules import Outcome, normalize_number
from hotline.tickets import lifecycle as lc
from hotline.tickets.revisits import rate
from hotline.tickets.service import Rules

AGENT_TRUNK = "agent"  # the trunk named on an attempt made by a callback agent's own phone


def _queued(session: Session, call_id: int, agent: str) -> OutboundCall:
    call = session.get(OutboundCall, call_id)
    if call is None:
        raise NoSuchOutboundCall(call_id)
    if call.status != CallStatus.CALLBACK:
        raise NotInCallbackQueue(call_id, call.status)
    if call.taken_by is not None and call.taken_by != agent:
        raise TakenByAnother(call_id, call.taken_by)
    return call


def take_callback(*, session: Session, call_id: int, agent: str, now: datetime) -> OutboundCall:
    """``agent`` takes the call from the queue (again: no change); another agent's is 409."""
    call = _queued(session, call_id, agent)
    if call.taken_by is None:
        call.taken_by, call.taken_at = agent, now  # the queue keeps its order (updated_at)
        session.add(call)
        session.flush()
    return call


def record_callback(
    *, session: Session, call_id: int, agent: str, result: lc.Satisfaction, comment: str,
    now: datetime, rules: Rules,
) -> OutboundCall:
    """The citizen's rating stored as any agent's revisit (``hotline.tickets.revisits.rate``:
    a ``Revisit`` with the comment on its event, 不满意 opening 重办 once, the call settled),
    and logged as one more attempt of the call (trunk ``agent``, with the comment). A ticket
    that refuses the revisit (it moved on) raises its ``TicketError``."""
    call = _queued(session, call_id, agent)
    rate(session=session, number=call.caller_ticket or call.number, result=result,
         comment=comment, actor=agent, now=now, rules=rules)
    assert call.id is not None
    call.attempts += 1
    session.add(OutboundAttempt(
        call_id=call.id, attempt=call.attempts, phone=call.phone, trunk=AGENT_TRUNK,
        started_at=now, ended_at=now, outcome=Outcome.ANSWERED,
        detail={"by": agent, "result": result.value, "comment": comment},
    ))
    call.status, call.result, call.next_attempt_at = CallStatus.DONE, result.value, None
    call.taken_by, call.taken_at = agent, call.taken_at or now
    call.updated_at = now
    session.add(call)
    session.flush()
    return call


def resolve_escalation(
    *, session: Session, escalation_id: int, by: str, note: str, now: datetime
) -> Escalation:
    row = session.get(Escalation, escalation_id)
    if row is None:
        raise NoSuchEscalation(escalation_id)
    if row.resolved_at is not None:
        raise EscalationResolved(escalation_id, row.resolved_by)
    row.resolved_at, row.resolved_by, row.note = now, by, note
    session.add(row)
    session.flush()
    return row


def do_not_call_list(*, session: Session, limit: int = 200) -> list[DoNotCall]:
    """The list, newest first."""
    return list(session.exec(
        select(DoNotCall).order_by(col(DoNotCall.added_at).desc(), col(DoNotCall.phone))
        .limit(limit)
    ).all())


def remove_do_not_call(*, session: Session, phone: str) -> None:
    row = session.get(DoNotCall, normalize_number(phone))
    if row is None:
        raise NoSuchDoNotCall(phone)
    session.delete(row)
    session.flush()
