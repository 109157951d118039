"""Data access of the outbox of messages: keyword-only functions in the caller's transaction
(``hotline.db.session_scope``); the caller commits.

Every change of a taken message is one ``UPDATE … WHERE`` on the state it expects (the
transcription queue's way, ``hotline.stt.queue``): two senders never take the same message,
and a sender whose lease ended cannot record an outcome for it. A message is handed to the
gateway at most once per attempt, and a message whose sender stopped mid-attempt is not tried
again (the gateway may have sent it): it is marked failed with the outcome unknown.

    with session_scope(engine) as session:
        enqueue(session=session, kind=MessageKind.SURVEY, key="survey:7:20261123-00001:0",
                ticket=ticket, phone="13800001234", text=text, now=now)
    with session_scope(engine) as session:
        claims = claim(session=session, now=now, limit=10, lease_seconds=120)
    …  # deliver each, then in a new transaction:
    complete(session=session, claim=c, now=now)   # or fail(session=session, claim=c, …)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, update
from sqlmodel import Session, col, select

from hotline.notify.models import MessageKind, MessageStatus, OutgoingMessage
from hotline.outbound.models import DoNotCall
from hotline.outbound.rules import normalize_number
from hotline.stt.queue import backoff_delay
from hotline.tickets.errors import NoSuchTicket
from hotline.tickets.models import Ticket
from hotline.tickets.revisits import awaits, revisit_round
from hotline.tickets.service import get_by_number

Message = OutgoingMessage
S = MessageStatus


@dataclass(frozen=True)
class Claim:
    """A message taken by a sender: the token proves the lease is still this sender's."""

    message_id: int
    token: str
    phone: str
    text: str
    attempts: int  # this attempt's number (1, 2 …)


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 5
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=backoff_delay(attempts, base=self.base_seconds,
                                               cap=self.cap_seconds))


def _count(session: Session, statement: Any) -> int:
    return int(session.exec(statement).rowcount or 0)


def enqueue(*, session: Session, kind: MessageKind, key: str, ticket: Ticket, phone: str,
            text: str, now: datetime, number: str | None = None) -> Message | None:
    """A new pending message; None when one with this ``key`` exists (idempotent)."""
    if session.exec(select(Message.id).where(Message.dedupe_key == key)).first() is not None:
        return None
    assert ticket.id is not None
    message = Message(dedupe_key=key, kind=kind, ticket_id=ticket.id,
                      number=number or ticket.number, phone=normalize_number(phone), text=text,
                      status=S.PENDING, next_attempt_at=now, created_at=now, updated_at=now)
    session.add(message)
    session.flush()
    return message


def _due(now: datetime) -> Any:
    return and_(col(Message.status) == S.PENDING, col(Message.next_attempt_at) <= now)


def _unwanted(session: Session, message: Message) -> tuple[str, str] | None:
    """Why a due message must not go out (status, reason), or None."""
    if session.get(DoNotCall, message.phone) is not None:
        return S.DO_NOT_CONTACT, "the number is on the do-not-call list"
    if message.kind == MessageKind.SURVEY:
        try:
            caller = get_by_number(session=session, number=message.number)
        except NoSuchTicket:
            return S.CANCELLED, f"ticket {message.number} no longer exists"
        made_for = message.dedupe_key.rsplit(":", 1)[-1]
        if not awaits(session, caller) or str(revisit_round(session, caller)) != made_for:
            return S.CANCELLED, "the revisit is no longer waiting for this caller"
    return None


def screen(*, session: Session, now: datetime, limit: int = 200) -> int:
    """Take out of the due messages those that must not go out (do-not-call list, a survey
    already answered or closed): each gets its status and reason. Returns how many."""
    count = 0
    for message in session.exec(select(Message).where(_due(now))
                                .order_by(col(Message.next_attempt_at), col(Message.id))
                                .limit(limit)).all():
        unwanted = _unwanted(session, message)
        if unwanted is not None:
            status, reason = unwanted
            count += _count(session, update(Message).where(col(Message.id) == message.id,
                                                           _due(now))
                            .values(status=status, last_error=reason, updated_at=now))
    return count


def claim(*, session: Session, now: datetime, limit: int, lease_seconds: float,
          owner: str = "sender") -> list[Claim]:
    """Take up to ``limit`` due messages (screened first); each is ours until its lease ends."""
    screen(session=session, now=now, limit=limit * 4)
    candidates = session.exec(select(Message.id).where(_due(now))
                              .order_by(col(Message.next_attempt_at), col(Message.id))
                              .limit(limit)).all()
    tokens: list[str] = []
    for message_id in candidates:
        token = f"{owner[:40]}-{uuid.uuid4().hex[:16]}"
        if _count(session, update(Message).where(col(Message.id) == message_id, _due(now))
                  .values(status=S.SENDING, lease_token=token, attempts=Message.attempts + 1,
                          lease_until=now + timedelta(seconds=lease_seconds),
                          updated_at=now)):
            tokens.append(token)
    if not tokens:
        return []
    rows = session.exec(select(Message).where(col(Message.lease_token).in_(tokens))).all()
    return sorted((Claim(message_id=m.id or 0, token=m.lease_token or "", phone=m.phone,
                         text=m.text, attempts=m.attempts) for m in rows),
                  key=lambda c: tokens.index(c.token))


def _held(claim: Claim) -> Any:
    return and_(col(Message.id) == claim.message_id, col(Message.status) == S.SENDING,
                col(Message.lease_token) == claim.token)


def complete(*, session: Session, claim: Claim, now: datetime) -> bool:
    """The gateway took the message: sent. False when the lease was lost meanwhile."""
    return bool(_count(session, update(Message).where(_held(claim)).values(
        status=S.SENT, sent_at=now, lease_token=None, lease_until=None, last_error=None,
        updated_at=now)))


def fail(*, session: Session, claim: Claim, error: str, now: datetime,
         backoff: Backoff) -> str | None:
    """The attempt failed: pending again after the backoff, or failed at the last attempt.
    Returns the new status (None when the lease was lost meanwhile)."""
    gave_up = claim.attempts >= backoff.max_attempts
    values: dict[str, Any] = {
        "status": S.FAILED if gave_up else S.PENDING, "lease_token": None, "lease_until": None,
        "updated_at": now,
        "last_error": f"gave up after {claim.attempts} attempts: {error}" if gave_up
        else f"attempt {claim.attempts}: {error}",
        "next_attempt_at": now if gave_up else now + backoff.delay(claim.attempts),
    }
    if not _count(session, update(Message).where(_held(claim)).values(**values)):
        return None
    return str(values["status"])


def reap_expired(*, session: Session, now: datetime) -> int:
    """Messages whose sender stopped before recording the outcome (lease ended): failed, not
    tried again, since the gateway may have sent them."""
    expired = and_(col(Message.status) == S.SENDING, col(Message.lease_until) < now)
    count = 0
    for message in session.exec(select(Message).where(expired)).all():
        count += _count(session, update(Message).where(col(Message.id) == message.id, expired)
                        .values(status=S.FAILED, lease_token=None, lease_until=None,
                                updated_at=now,
                                last_error=f"outcome unknown: the sender stopped during "
                                           f"attempt {message.attempts}; not sent again"))
    return count


def park_without_gateway(*, session: Session, now: datetime) -> int:
    """No gateway configured: due messages (screened first) are kept as ``no_gateway``."""
    screen(session=session, now=now)
    return _count(session, update(Message).where(_due(now)).values(
        status=S.NO_GATEWAY, last_error="no SMS gateway configured (notify.sms_url)",
        updated_at=now))


def requeue_no_gateway(*, session: Session, now: datetime,
                       within: timedelta = timedelta(days=3)) -> int:
    """A gateway is configured now: the messages kept for want of one made ``within`` the
    last while go out (screened then: a survey answered meanwhile is cancelled); older ones
    stay listed as ``no_gateway`` (news of days ago would only confuse)."""
    return _count(session, update(Message).where(
        col(Message.status) == S.NO_GATEWAY, col(Message.created_at) >= now - within).values(
        status=S.PENDING, next_attempt_at=now, last_error=None, updated_at=now))


def recent(*, session: Session, status: str | None = None, limit: int = 100) -> list[Message]:
    """The newest messages first, of one status if given (the supervisors' page)."""
    query = select(Message)
    if status:
        query = query.where(col(Message.status) == status)
    return list(session.exec(query.order_by(col(Message.id).desc()).limit(limit)).all())


def counts(*, session: Session) -> dict[str, int]:
    rows = session.exec(select(Message.status, func.count()).group_by(col(Message.status)))
    return {status: int(n) for status, n in rows.all()}
