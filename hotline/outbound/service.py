"""Use cases of outbound calls, each in the caller's transaction (keyword-only session):
claim the calls to dial now, record how an attempt went (the survey's rating stored on the
ticket as a ``Revisit``; 不满意 opens the redo 重办 once, by the work-order rules), escalate
unacknowledged red reminders, and end attempts a crash left running.

    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     placed = claim_due(session=session, now=now, policy=policy)
    >>> report = await dialer.place(placed[0])  # doctest: +SKIP
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     record_report(session=session, attempt_id=placed[0].attempt_id, report=report,
    ...                   now=now, policy=policy)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.outbound.comments import queue_comment, revisit_event
from hotline.outbound.errors import DoNotCallNumber, NumberBusy, TrunkFull
from hotline.outbound.models import CallStatus, Escalation, OutboundAttempt, OutboundCall
from hotline.outbound.ports import CallReport, PlacedCall
from hotline.outbound.rules import (
    ACKNOWLEDGE_KEY,
    CallingHours,
    Candidate,
    Done,
    GiveUp,
    Outcome,
    Purpose,
    RetryAt,
    RetryPolicy,
    TrunkLimits,
    after_attempt,
    choose_calls,
    normalize_number,
    rating_for_key,
    survey_outcome,
)
from hotline.outbound.store import (
    blocked_numbers,
    due_calls,
    end_attempt,
    live_calls,
    running_attempts,
    start_attempt,
)
from hotline.tickets import lifecycle as lc
from hotline.tickets.errors import ConcurrentUpdate, TicketError
from hotline.tickets.models import Light, Ticket
from hotline.tickets.service import DEFAULT_RULES, Rules, act

log = logging.getLogger(__name__)
ACTOR = "outbound"


@dataclass(frozen=True)
class Policy:
    """Everything the rules need, built once from the settings."""

    hours: CallingHours = field(default_factory=CallingHours)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limits: TrunkLimits = field(default_factory=TrunkLimits)
    rules: Rules = DEFAULT_RULES
    comment_language: str = "zh"  # of the survey's recorded comments (``stt.language``)


# --- choosing and claiming ----------------------------------------------------------------


def claim_due(*, session: Session, now: datetime, policy: Policy, limit: int = 100
              ) -> list[PlacedCall]:
    """The calls to dial now, each marked calling with its attempt logged.

    Due calls outside calling hours are deferred to the next opening (no attempt counted);
    calls to a number on the do-not-call list end as ``do_not_call`` and are never dialled.
    """
    due = due_calls(session=session, now=now, limit=limit)
    if not due:
        return []
    if not policy.hours.allows(now):
        opening = policy.hours.next_opening(now)
        for call in due:
            call.next_attempt_at, call.updated_at = opening, now
            session.add(call)
        return []
    by_id = {call.id: call for call in due}
    choice = choose_calls(
        [Candidate(c.id or 0, c.phone, c.trunk, c.next_attempt_at or now) for c in due],
        live=live_calls(session=session), limits=policy.limits,
        do_not_call=blocked_numbers(session=session, numbers=[c.phone for c in due]),
    )
    for cand in choice.blocked:
        call = by_id[cand.call_id]
        call.status, call.updated_at, call.next_attempt_at = CallStatus.DO_NOT_CALL, now, None
        session.add(call)
    placed: list[PlacedCall] = []
    for cand in choice.place:
        call = by_id[cand.call_id]
        try:
            with session.begin_nested():
                attempt = start_attempt(session=session, call=call, now=now)
        except IntegrityError:  # another process is calling this number right now
            session.refresh(call)
            continue
        placed.append(placed_call(call, attempt))
    return placed


def check_dialable(*, session: Session, phone: str, trunk: str, limits: TrunkLimits,
                   now: datetime) -> None:
    """Raise when ``phone`` may not be dialled now on ``trunk``, by the rules every outbound
    call follows (``choose_calls``): ``DoNotCallNumber``, ``NumberBusy`` (in a call of ours
    already) or ``TrunkFull``."""
    number = normalize_number(phone)
    live = live_calls(session=session)
    choice = choose_calls([Candidate(0, number, trunk, now)], live=live, limits=limits,
                          do_not_call=blocked_numbers(session=session, numbers=[number]))
    if choice.blocked:
        raise DoNotCallNumber(number)
    if choice.waiting:
        if number in {normalize_number(c.number) for c in live}:
            raise NumberBusy(number)
        raise TrunkFull(trunk, limits.of(trunk))


def placed_call(call: OutboundCall, attempt: OutboundAttempt) -> PlacedCall:
    assert call.id is not None and attempt.id is not None
    return PlacedCall(
        call_id=call.id, attempt_id=attempt.id, attempt=attempt.attempt,
        purpose=Purpose(call.purpose), phone=call.phone, trunk=call.trunk,
        ticket_number=call.caller_ticket or call.number, subject=call.subject,
        deadline=call.deadline,
    )


# --- recording how it went ----------------------------------------------------------------


def record_report(
    *, session: Session, attempt_id: int, report: CallReport, now: datetime, policy: Policy
) -> OutboundCall:
    """Log the attempt's outcome, store what the person said, and decide what comes next.
    A survey's recorded comment gets its transcription job here, with the rating."""
    attempt = session.get(OutboundAttempt, attempt_id)
    if attempt is None or attempt.outcome is not None:
        raise LookupError(f"outbound attempt {attempt_id} is not running")
    call = session.get(OutboundCall, attempt.call_id)
    assert call is not None
    answered = report.reached is Outcome.ANSWERED
    detail: dict[str, Any] = {**report.detail, "key": report.key} if report.key \
        else dict(report.detail)
    if report.comment:
        detail["comment"] = report.comment
    if call.purpose == Purpose.SURVEY:
        rating = rating_for_key(report.key) if answered else None
        outcome = survey_outcome(answered=answered, rating=rating) if answered else report.reached
        if rating is not None:
            call.result = rating.value
            detail.update(_store_rating(session, call, rating, comment=report.comment, now=now,
                                        policy=policy))
        if report.comment:
            job = queue_comment(session, path=report.comment, language=policy.comment_language,
                                now=now)
            if job is not None:
                detail["comment_job"] = job.id
    else:
        acknowledged = answered and report.key == ACKNOWLEDGE_KEY
        outcome = Outcome.ANSWERED if acknowledged else (
            Outcome.HUNG_UP if answered else report.reached)
        if acknowledged:
            call.result, call.acknowledged_at = "acknowledged", now
    end_attempt(session=session, attempt=attempt, outcome=outcome, now=now,
                uniqueid=report.uniqueid, detail=detail)
    _decide(call, outcome, attempt=attempt.attempt, now=now, policy=policy)
    session.add(call)
    session.flush()
    return call


def _store_rating(session: Session, call: OutboundCall, rating: lc.Satisfaction, *,
                  comment: str | None, now: datetime, policy: Policy) -> dict[str, str | int]:
    """The rating as a ``Revisit`` on the ticket (its event's ``seq`` kept as ``revisit_seq``;
    a recorded comment's path on the event, its text once transcribed); a ticket that moved
    on keeps the call's result only (the refusal is in the attempt's detail).
    ``ConcurrentUpdate`` (another transition won the race) is raised: record the whole report
    again."""
    action = lc.Revisit(result=rating, ticket_id=call.caller_ticket)
    try:
        with session.begin_nested():
            ticket = act(session=session, ticket_id=call.ticket_id, action=action, actor=ACTOR,
                         now=now, rules=policy.rules)
    except ConcurrentUpdate:
        raise  # someone acted meanwhile: the caller tries the whole report again
    except TicketError as exc:
        log.warning("survey of %s: rating %s not stored on the ticket: %s", call.number,
                    rating.value, exc)
        return {"ticket_error": str(exc)}
    if comment:
        assert ticket.id is not None
        event = revisit_event(session, ticket_id=ticket.id, seq=ticket.version)
        if event is not None:
            event.payload = {**event.payload, "comment_recording": comment}
            session.add(event)
    return {"ticket_status": ticket.status, "revisit_seq": ticket.version}


def _decide(call: OutboundCall, outcome: Outcome, *, attempt: int, now: datetime,
            policy: Policy) -> None:
    decision = after_attempt(outcome, attempt=attempt, now=now, policy=policy.retry,
                             hours=policy.hours)
    call.updated_at = now
    if call.purpose == Purpose.AGENT:  # an agent's own call is never placed again by us
        call.status, call.next_attempt_at = CallStatus.DONE, None
        return
    match decision:
        case Done():
            call.status, call.next_attempt_at = CallStatus.DONE, None
        case RetryAt(at=at):
            call.status, call.next_attempt_at = CallStatus.PENDING, at
        case GiveUp():
            call.next_attempt_at = None
            call.status = (CallStatus.CALLBACK if call.purpose == Purpose.SURVEY
                           else CallStatus.UNANSWERED)


def record_agent_end(*, session: Session, attempt: OutboundAttempt, outcome: Outcome,
                     detail: dict[str, str], now: datetime, policy: Policy) -> OutboundCall:
    """An agent's click-to-call ended: its outcome logged, the number freed, the call done."""
    call = end_attempt(session=session, attempt=attempt, outcome=outcome, now=now, detail=detail)
    _decide(call, outcome, attempt=attempt.attempt, now=now, policy=policy)
    session.add(call)
    session.flush()
    return call


# --- escalation and recovery --------------------------------------------------------------


def escalate_due(*, session: Session, now: datetime, limit: int = 500) -> int:
    """Red reminders not acknowledged by their ``escalate_at``: onto the supervisors' list,
    unless the ticket is no longer red (its unit acted); returns how many were listed."""
    rows = session.exec(
        select(OutboundCall, Ticket)
        .join(Ticket, col(Ticket.id) == OutboundCall.ticket_id)
        .where(col(OutboundCall.escalate_at) <= now,
               col(OutboundCall.acknowledged_at).is_(None),
               col(OutboundCall.escalated_at).is_(None))
        .order_by(col(OutboundCall.escalate_at)).limit(limit)
    ).all()
    listed = 0
    for call, ticket in rows:
        call.escalated_at = now
        session.add(call)
        if ticket.light != Light.RED:
            continue
        session.add(Escalation(ticket_id=call.ticket_id, number=call.number, call_id=call.id,
                               unit=call.subject or None, deadline=call.deadline,
                               reason="not_acknowledged", at=now))
        listed += 1
    return listed


def recover(*, session: Session, now: datetime, policy: Policy) -> int:
    """Attempts left running by a stopped process end as failed (then retried by the rules)."""
    stale = running_attempts(session=session)
    for attempt in stale:
        call = end_attempt(session=session, attempt=attempt, outcome=Outcome.FAILED, now=now,
                           detail={"error": "interrupted: the controller stopped"})
        _decide(call, Outcome.FAILED, attempt=attempt.attempt, now=now, policy=policy)
        session.add(call)
    session.flush()
    return len(stale)
