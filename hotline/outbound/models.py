"""Tables of outbound calls: the calls to place, every attempt, the do-not-call list, the
escalation list, and the outbox cursor of the scheduler. Times are aware, in UTC.

``OutboundCall`` is one thing to achieve by phone (revisit one caller of a ticket, remind a
unit of one light change); ``OutboundAttempt`` is one dial of it, with its outcome. A call's
``active_number`` is its number while an attempt runs and NULL otherwise: a unique index on
it makes "never two calls at once to the same number" hold in the database itself.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class CallStatus(enum.StrEnum):
    PENDING = "pending"  # waits for next_attempt_at
    CALLING = "calling"  # an attempt runs
    DONE = "done"  # reached: rated, or the reminder heard
    CALLBACK = "callback"  # attempts used up: in the callback agents' queue (surveys)
    UNANSWERED = "unanswered"  # attempts used up (reminders: the escalation rule follows)
    DO_NOT_CALL = "do_not_call"  # the number asked not to be called: never dialled
    CANCELLED = "cancelled"  # no longer needed (the ticket moved on)


OPEN_STATUSES = (CallStatus.PENDING, CallStatus.CALLING)


class OutboundCall(SQLModel, table=True):
    __tablename__ = "outbound_call"
    __table_args__ = (
        Index("ix_outbound_call_due", "status", "next_attempt_at"),
        Index("ix_outbound_call_escalate", "escalate_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(sa_type=String(16))  # rules.Purpose
    # One call per thing to achieve: survey:<ticket>:<caller ticket>:<round>,
    # reminder:<ticket>:<light change id>.
    dedupe_key: str = Field(max_length=96, unique=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    number: str = Field(max_length=16)  # the ticket's number (YYYYMMDD-NNNNN)
    caller_ticket: str | None = Field(default=None, max_length=16)  # survey of a merged child
    phone: str = Field(max_length=32, index=True)
    trunk: str = Field(default="default", max_length=32)
    status: str = Field(default=CallStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime | None = None
    active_number: str | None = Field(default=None, max_length=32, unique=True)
    created_at: datetime
    updated_at: datetime
    # Reminders: the light that prompted it and the deadline it names; surveys: the subject.
    light: str | None = Field(default=None, max_length=8)
    deadline: datetime | None = None
    subject: str = Field(default="", max_length=128)
    result: str | None = Field(default=None, max_length=16)  # 满意 … or "acknowledged"
    acknowledged_at: datetime | None = None
    escalate_at: datetime | None = None  # red reminders not acknowledged by then
    escalated_at: datetime | None = None
    # The callback agent (回访员) who took it from the callback queue, and when.
    taken_by: str | None = Field(default=None, max_length=64)
    taken_at: datetime | None = None


class OutboundAttempt(SQLModel, table=True):
    __tablename__ = "outbound_attempt"
    __table_args__ = (UniqueConstraint("call_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="outbound_call.id", index=True)
    attempt: int  # 1, 2, 3 …
    phone: str = Field(max_length=32)
    trunk: str = Field(max_length=32)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=16)  # rules.Outcome; None: running
    uniqueid: str | None = Field(default=None, max_length=64, index=True)  # Asterisk's channel
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DoNotCall(SQLModel, table=True):
    """A number that asked not to be called (stored normalized: ``rules.normalize_number``)."""

    __tablename__ = "do_not_call"

    phone: str = Field(primary_key=True, max_length=32)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    added_at: datetime
    added_by: str = Field(max_length=64)


class Escalation(SQLModel, table=True):
    """The supervisors' list: a red ticket whose unit did not acknowledge the reminder within
    a working day, or whose unit has no duty phone to remind; or a call a seat answered that
    had no ticket when its 受理 clock ran out (``not_accepted``: no ticket, ``call_uniqueid``
    says which call, ``unit`` the seat that answered it)."""

    __tablename__ = "outbound_escalation"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    number: str = Field(max_length=16)
    call_id: int | None = Field(default=None, foreign_key="outbound_call.id", unique=True)
    call_uniqueid: str | None = Field(default=None, max_length=64)
    unit: str | None = Field(default=None, max_length=64)
    deadline: datetime | None = None
    reason: str = Field(max_length=32)  # not_acknowledged / no_duty_phone / not_accepted …
    at: datetime = Field(index=True)
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OutboxCursor(SQLModel, table=True):
    """The last ``ticket_change`` id a reader of the outbox has handled."""

    __tablename__ = "outbound_cursor"

    name: str = Field(primary_key=True, max_length=32)
    cursor: int = 0


class QueueCallbackStatus(enum.StrEnum):
    PENDING = "pending"  # waits for its turn and a free seat
    CALLING = "calling"  # a seat is being rung, then the caller
    DONE = "done"  # the caller was reached
    FAILED = "failed"  # attempts used up
    CANCELLED = "cancelled"  # the caller got through by calling again
    DO_NOT_CALL = "do_not_call"  # the number is on the do-not-call list: never dialled


class QueueCallback(SQLModel, table=True):
    """A caller to call back from the queue (漏接回拨): one who asked for it while waiting
    (IVR key 3, step outcome ``callback_requested``) or hung up waiting (``abandoned``). Its
    place in line is ``joined_at``, when the call joined the queue."""

    __tablename__ = "queue_callback"
    __table_args__ = (Index("ix_queue_callback_due", "status", "joined_at"),)

    id: int | None = Field(default=None, primary_key=True)
    call_uniqueid: str = Field(max_length=64, unique=True)
    phone: str = Field(max_length=32, index=True)
    reason: str = Field(max_length=16)  # requested / abandoned / full / no_seat / timeout
    joined_at: datetime
    created_at: datetime
    updated_at: datetime
    status: str = Field(default=QueueCallbackStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    seat: str | None = Field(default=None, max_length=64)  # the interface rung last
    uniqueid: str | None = Field(default=None, max_length=64)  # our channel of the last try
    outcome: str | None = Field(default=None, max_length=16)  # of the last try
    # Not before then (a retry's backoff, at the next calling hour); None: at its turn.
    next_attempt_at: datetime | None = None


class QueueCallbackAttempt(SQLModel, table=True):
    """One dial of a queue call-back (the seat, then the caller), with its outcome: like
    ``OutboundAttempt`` for surveys. Running while ``outcome`` is None: its number and trunk
    count as a live call (``store.live_calls``)."""

    __tablename__ = "queue_callback_attempt"
    __table_args__ = (UniqueConstraint("callback_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    callback_id: int = Field(foreign_key="queue_callback.id", index=True)
    attempt: int  # 1, 2, 3 …
    phone: str = Field(max_length=32)
    trunk: str = Field(max_length=32)
    seat: str = Field(max_length=64)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=16, index=True)  # None: running
    uniqueid: str | None = Field(default=None, max_length=64)  # our channel
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
