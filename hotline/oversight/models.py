"""The stored oversight facts: one row per ticket and unit (``definitions.UnitFacts``); and
the scheduled reports generated (``OversightReport``).

Written in the transaction of every ticket transition (``store.on_transition``), so they never
lag the tickets. Each rate reads the rows whose own date falls in the period, through one of
the date indexes or the unit-and-date indexes, which also hold the columns the rates test
(covering), so that a year of every unit is read from the index alone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel


class OversightFact(SQLModel, table=True):
    __tablename__ = "oversight_fact"
    __table_args__ = (
        UniqueConstraint("ticket_id", "unit_id"),
        # Covering (migrations 0070, 0071): the rates over a year, of every unit or of one,
        # read these indexes alone.
        Index("ix_oversight_fact_dispatched", "dispatched_at", "unit_id", "sign_by",
              "responded_at"),
        Index("ix_oversight_fact_due", "due_at", "unit_id", "finished_at", "late_replies"),
        Index("ix_oversight_fact_revisited", "revisited_at", "unit_id", "matter_id",
              "satisfaction", "unsatisfied_twice"),
        Index("ix_oversight_fact_unit_dispatched", "unit_id", "dispatched_at", "sign_by",
              "responded_at"),
        Index("ix_oversight_fact_unit_due", "unit_id", "due_at", "finished_at", "late_replies"),
        Index("ix_oversight_fact_unit_revisited", "unit_id", "revisited_at", "matter_id",
              "satisfaction", "unsatisfied_twice"),
        Index("ix_oversight_fact_redo", "redo_at"),
        Index("ix_oversight_fact_refused", "refused_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    unit_id: int = Field(foreign_key="unit.id")
    matter_id: int | None = None  # the ticket's, for the matters left out of 满意率
    role: str = Field(max_length=8)
    dispatched_at: datetime
    sign_by: datetime
    responded_at: datetime | None = None
    due_at: datetime | None = None
    replied_at: datetime | None = None
    finished_at: datetime | None = None
    late_replies: int = 0
    redo_at: datetime | None = None
    refused_at: datetime | None = None
    revisited_at: datetime | None = None
    satisfaction: str | None = Field(default=None, sa_type=String(8))
    unsatisfied_twice: bool = False


class OversightReport(SQLModel, table=True):
    """A scheduled report (日报, 周报, 月报) of one ended period, generated once
    (``generated.py``): the unique (kind, period_start) is the claim. ``status``: generating
    (claimed at ``claimed_at`` by ``claimed_by``), done (``files`` under ``folder`` of the
    exports folder: name → bytes), failed (``error``; claimed again at the next pass),
    removed (the retention clean-up deleted its files)."""

    __tablename__ = "oversight_report"
    __table_args__ = (UniqueConstraint("kind", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(8))
    period_start: date  # local dates: [period_start, period_end)
    period_end: date
    status: str = Field(sa_type=String(12), index=True)
    claimed_at: datetime
    claimed_by: str = Field(default="", max_length=64)
    attempts: int = 0
    generated_at: datetime | None = Field(default=None, index=True)
    folder: str = Field(default="", max_length=255)  # relative to the exports folder
    files: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", max_length=500)
    removed_at: datetime | None = None
