"""Data access of outbound calls: keyword-only functions that write in the caller's
transaction (``hotline.db.session_scope``).

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     call = enqueue(session=session, purpose=Purpose.SURVEY, key="survey:7:…:0",
    ...                    ticket=ticket, phone="13800000001", at=now)
    ...     attempt = start_attempt(session=session, call=call, now=now)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline.outbound.models import (
    CallStatus,
    DoNotCall,
    Escalation,
    OutboundAttempt,
    OutboundCall,
    OutboxCursor,
    QueueCallbackAttempt,
)
from hotline.outbound.rules import Live, Purpose, normalize_number
from hotline.tickets.changes import ChangeBatch, changes_after, latest_cursor
from hotline.tickets.models import Ticket


def enqueue(
    *, session: Session, purpose: Purpose, key: str, ticket: Ticket, phone: str, at: datetime,
    now: datetime, trunk: str = "default", **fields: Any,
) -> OutboundCall | None:
    """A new call due ``at``; None when one with this ``key`` exists already (idempotent)."""
    if session.exec(select(OutboundCall.id).where(OutboundCall.dedupe_key == key)).first():
        return None
    assert ticket.id is not None
    call = OutboundCall(
        purpose=purpose, dedupe_key=key, ticket_id=ticket.id, number=ticket.number,
        phone=normalize_number(phone), trunk=trunk, status=CallStatus.PENDING,
        next_attempt_at=at, created_at=now, updated_at=now, **fields,
    )
    session.add(call)
    session.flush()
    return call


def due_calls(*, session: Session, now: datetime, limit: int = 100) -> list[OutboundCall]:
    """Pending calls whose next attempt has come, oldest due first."""
    return list(session.exec(
        select(OutboundCall)
        .where(OutboundCall.status == CallStatus.PENDING,
               col(OutboundCall.next_attempt_at) <= now)
        .order_by(col(OutboundCall.next_attempt_at), col(OutboundCall.id))
        .limit(limit)
    ).all())


def live_calls(*, session: Session) -> list[Live]:
    """Every outbound call ringing or in progress: surveys, reminders and click-to-call
    (calling), and queue call-backs (an attempt running)."""
    rows = session.exec(
        select(OutboundCall.phone, OutboundCall.trunk)
        .where(OutboundCall.status == CallStatus.CALLING)
    ).all()
    queued = session.exec(
        select(QueueCallbackAttempt.phone, QueueCallbackAttempt.trunk)
        .where(col(QueueCallbackAttempt.outcome).is_(None))
    ).all()
    return [Live(number=phone, trunk=trunk) for phone, trunk in [*rows, *queued]]


def blocked_numbers(*, session: Session, numbers: Iterable[str]) -> set[str]:
    """Those of ``numbers`` on the do-not-call list (compared normalized)."""
    wanted = {normalize_number(n) for n in numbers}
    if not wanted:
        return set()
    return set(session.exec(select(DoNotCall.phone).where(col(DoNotCall.phone).in_(wanted))))


def add_do_not_call(
    *, session: Session, phone: str, reason: str, by: str, now: datetime
) -> DoNotCall:
    number = normalize_number(phone)
    row = session.get(DoNotCall, number) or DoNotCall(phone=number, added_at=now, added_by=by)
    row.reason = reason
    session.add(row)
    session.flush()
    return row


def start_attempt(*, session: Session, call: OutboundCall, now: datetime) -> OutboundAttempt:
    """Mark the call as calling and log its next attempt. Flushes at once: another call to the
    same number already calling makes this raise ``IntegrityError`` (``active_number``)."""
    assert call.id is not None
    call.status, call.active_number = CallStatus.CALLING, call.phone
    call.attempts += 1
    call.updated_at = now
    attempt = OutboundAttempt(call_id=call.id, attempt=call.attempts, phone=call.phone,
                              trunk=call.trunk, started_at=now)
    session.add(call)
    session.add(attempt)
    session.flush()
    return attempt


def end_attempt(
    *, session: Session, attempt: OutboundAttempt, outcome: str, now: datetime,
    uniqueid: str | None = None, detail: dict[str, Any] | None = None,
) -> OutboundCall:
    """Log how the attempt ended and free the number; the caller then sets the call's status."""
    attempt.ended_at, attempt.outcome = now, outcome
    attempt.uniqueid = uniqueid or attempt.uniqueid
    attempt.detail = {**attempt.detail, **(detail or {})}
    session.add(attempt)
    call = session.get(OutboundCall, attempt.call_id)
    assert call is not None
    call.active_number, call.updated_at = None, now
    session.add(call)
    return call


def running_attempts(*, session: Session) -> list[OutboundAttempt]:
    """Attempts with no outcome yet (after a crash: ended by nobody)."""
    return list(session.exec(
        select(OutboundAttempt).where(col(OutboundAttempt.outcome).is_(None))
    ).all())


def attempts_of(*, session: Session, call_id: int) -> list[OutboundAttempt]:
    return list(session.exec(
        select(OutboundAttempt).where(OutboundAttempt.call_id == call_id)
        .order_by(col(OutboundAttempt.attempt))
    ).all())


def callback_queue(*, session: Session, limit: int = 100) -> list[OutboundCall]:
    """Surveys whose attempts are used up, oldest first: for the callback agents (回访员)."""
    return list(session.exec(
        select(OutboundCall)
        .where(OutboundCall.status == CallStatus.CALLBACK)
        .order_by(col(OutboundCall.updated_at), col(OutboundCall.id)).limit(limit)
    ).all())


def escalation_list(
    *, session: Session, include_resolved: bool = False, limit: int = 100
) -> list[Escalation]:
    """The supervisors' list, oldest first."""
    query = select(Escalation)
    if not include_resolved:
        query = query.where(col(Escalation.resolved_at).is_(None))
    return list(session.exec(
        query.order_by(col(Escalation.at), col(Escalation.id)).limit(limit)
    ).all())


def read_cursor(*, session: Session, name: str) -> int:
    row = session.get(OutboxCursor, name)
    return row.cursor if row is not None else -1


def write_cursor(*, session: Session, name: str, cursor: int) -> None:
    row = session.get(OutboxCursor, name) or OutboxCursor(name=name)
    row.cursor = cursor
    session.add(row)


def next_changes(*, session: Session, reader: str, now: datetime, limit: int = 200
                 ) -> ChangeBatch | None:
    """The next batch of the change outbox for ``reader`` (its cursor moved by the caller,
    ``write_cursor``); None on its very first read, which starts it at the newest change."""
    cursor = read_cursor(session=session, name=reader)
    if cursor >= 0:
        return changes_after(session=session, cursor=cursor, now=now, limit=limit)
    write_cursor(session=session, name=reader, cursor=latest_cursor(session=session))
    return None
