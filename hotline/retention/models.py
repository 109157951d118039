"""The retention periods set on the page (``retention_period``): one row per kind of data.

A row overrides that kind's period of the settings (``retention.call_days`` ...), which stays
the default; ``days`` null keeps that kind forever. Written by ``hotline.retention.periods``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class RetentionPeriod(SQLModel, table=True):
    __tablename__ = "retention_period"

    kind: str = Field(primary_key=True, max_length=16)  # calls / recordings / exports
    days: int | None = None  # None: kept forever
    updated_at: datetime
    updated_by: str = Field(max_length=64)
