"""Tables of the call records (SQLModel)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class CallBase(SQLModel):
    uniqueid: str = Field(index=True, unique=True, max_length=64)
    linkedid: str = Field(default="", index=True, max_length=64)
    channel: str = Field(default="", max_length=128)
    direction: str = Field(default="in", max_length=8)  # in / out
    caller_number: str = Field(default="", index=True, max_length=64)
    caller_name: str = Field(default="", max_length=128)
    dialled: str = Field(default="", max_length=64)
    started_at: datetime = Field(index=True)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str | None = Field(default=None, max_length=64)
    flow: str | None = Field(default=None, max_length=64)
    keys: str = Field(default="", max_length=256)
    end_reason: str | None = Field(default=None, max_length=32)
    transferred_to: str | None = Field(default=None, max_length=64)
    queue_joined_at: datetime | None = None
    queue_left_at: datetime | None = None
    queue_wait_seconds: float | None = None
    queue_outcome: str | None = Field(default=None, max_length=32)
    answered_within_15s: bool | None = None
    answered_within_20s: bool | None = None
    answered_by: str | None = Field(default=None, max_length=64)
    # False when the call was found afterwards (controller down) from Asterisk's recordings
    seen_live: bool = True


class Call(CallBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The 受理 clock's light last published (``hotline.tickets.accept``): none yet, yellow, red
    accept_light: str | None = Field(default=None, max_length=8)
    ivr_path: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class IvrStep(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_uniqueid: str = Field(index=True, max_length=64)
    seq: int
    node: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    keys: str = Field(default="", max_length=64)
    outcome: str = Field(default="", max_length=64)
    started_at: datetime
    ended_at: datetime
    detail: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Recording(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_uniqueid: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)  # full / caller / message
    name: str = Field(default="", max_length=64)
    path: str = Field(unique=True, max_length=512)  # relative to the recordings folder
    started_at: datetime
    complete: bool = False
    size_bytes: int | None = None
    duration_seconds: float | None = None
    problem: str | None = Field(default=None, max_length=256)
