"""The outbox of messages to citizens (``outgoing_message``). Times are aware, in UTC.

Life of a message::

    pending ──claim──> sending ──sent──> sent
      ^                   ├──failed, attempts left──> pending again after a backoff
      └───────────────────┤──failed, last attempt──> failed (last_error)
                          └──lease expired (sender stopped)──> failed, outcome unknown
    pending ──no gateway configured──> no_gateway (kept, listed for supervisors)
    pending ──number on the do-not-call list──> do_not_contact
    pending ──survey no longer awaited (rated, closed)──> cancelled

``dedupe_key`` makes each message single however often its change is planned.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    NO_GATEWAY = "no_gateway"
    DO_NOT_CONTACT = "do_not_contact"
    CANCELLED = "cancelled"


class MessageKind(enum.StrEnum):
    ACCEPTED = "accepted"  # a web ticket was accepted: its number and the status lookup
    SURVEY = "survey"  # its reply was approved: the satisfaction survey link


class OutgoingMessage(SQLModel, table=True):
    __tablename__ = "outgoing_message"
    __table_args__ = (Index("ix_outgoing_message_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # accepted:<ticket id>, survey:<ticket id>:<caller's ticket number>:<revisit round>
    dedupe_key: str = Field(max_length=96, unique=True)
    kind: str = Field(sa_type=String(16))
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    number: str = Field(max_length=16)  # the ticket number the message names
    phone: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=MessageStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime
    lease_token: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
