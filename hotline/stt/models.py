"""Tables of speech recognition (SQLModel): the durable job queue and the transcripts.

A job refers to a recording (``recording.id``; unique, so one recording never gets two jobs)
or, for an upload, to a plain audio path. A transcript belongs to exactly one job (unique).
Times are aware, in UTC (SQLModel's ``UTCDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    queued = "queued"  # waiting for a worker (from next_attempt_at on)
    running = "running"  # taken by a worker until lease_until, unless renewed
    done = "done"  # a transcript exists
    failed = "failed"  # gave up: last_error says why
    waiting_model = "waiting_model"  # no model for its language; queued again once one appears


class TranscriptionJob(SQLModel, table=True):
    __tablename__ = "transcription_job"
    __table_args__ = (Index("ix_transcription_job_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int | None = Field(default=None, foreign_key="recording.id", unique=True)
    # A recording's path relative to the recordings folder, or an upload's absolute path.
    audio_path: str = Field(max_length=1024)
    language: str = Field(max_length=16)
    status: str = Field(default=JobStatus.queued, max_length=16)
    attempts: int = 0
    lease_token: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Transcript(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="transcription_job.id", unique=True)
    recording_id: int | None = Field(default=None, foreign_key="recording.id", index=True)
    audio_path: str = Field(max_length=1024)
    language: str = Field(max_length=16)
    model_name: str = Field(max_length=128)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    # [{"word": str, "start": float, "end": float, "conf": float}, ...] in seconds of audio
    words: list[dict[str, Any]] = Field(default_factory=list,
                                        sa_column=Column(JSON, nullable=False))
    audio_seconds: float
    processing_seconds: float
    created_at: datetime = Field(default_factory=utcnow)
