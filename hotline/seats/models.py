"""The seat table: one row per operator who has signed in to a seat."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel


class SeatState(StrEnum):
    offline = "offline"  # not a queue member (签出)
    ready = "ready"  # 示闲: the queue may ring this seat
    paused = "paused"  # 示忙, with a reason
    after_call = "after_call"  # 话后处理: paused until the operator is ready again

    @property
    def label(self) -> str:
        return {"offline": "签出", "ready": "示闲", "paused": "示忙",
                "after_call": "话后处理"}[self.value]


class Seat(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True, index=True)
    interface: str = Field(max_length=64, unique=True)  # PJSIP/seat1
    member_name: str = Field(max_length=64)
    state: SeatState = Field(default=SeatState.offline, sa_type=String(16))
    reason: str = Field(default="", max_length=64)
    since: datetime
