"""The survey's recorded comment transcribed onto the ticket's revisit, on SQLite and
PostgreSQL: storing the attempt's report queues the comment's transcription job with the
rating (and wakes the transcription service); the transcript, stored through the real job
queue, lands on the attempt and on the revisit event; other transcripts go on to drafts.
The dialer is the in-memory ``Dialer`` port (it links the comment's recording as the flow
handler does); the recogniser is not run: the job is taken and completed through the queue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.calls.models import Recording
from hotline.db import session_scope
from hotline.outbound.ami import channel_id
from hotline.outbound.comments import COMMENT_KIND, SurveyComments
from hotline.outbound.models import OutboundAttempt
from hotline.outbound.ports import CallReport, PlacedCall
from hotline.outbound.rules import CallingHours, Outcome
from hotline.outbound.scheduler import OutboundScheduler
from hotline.outbound.service import Policy
from hotline.stt import queue
from hotline.stt.models import JobStatus, Transcript, TranscriptionJob
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import TicketEvent
from tests.api import Clock
from tests.pg import (  # noqa: F401 - fixtures
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)
from tests.unit.test_outbound_service import (  # noqa: F401 - fixtures
    CST,
    approve,
    attempts,
    clock,
    engine,
    replied_ticket,
    ticket,
)

SPOKEN = "路灯修好了 但是 还 有 一 盏 不 亮"


@pytest.fixture
def db(engine: Engine) -> Engine:  # noqa: F811 - SQLite and PostgreSQL, as in the service tests
    return engine


@pytest.fixture
def now(clock: Clock) -> Clock:  # noqa: F811
    return clock


@dataclass
class CommentingDialer:
    """Answers with ``key`` and, when ``seconds`` > 0, a recorded comment linked like the
    flow handler links it (kind ``comment`` on the outbound channel, complete)."""

    db: Engine
    clock: Clock
    key: str
    seconds: float = 4.2
    paths: list[str] = field(default_factory=list)

    async def place(self, call: PlacedCall) -> CallReport:
        uid = channel_id(call.attempt_id)
        path = f"2026/03/02/{uid}-comment.wav"
        with session_scope(self.db) as session:
            session.add(Recording(call_uniqueid=uid, kind=COMMENT_KIND, name="comment",
                                  path=path, started_at=self.clock.now, complete=True,
                                  size_bytes=int(44 + self.seconds * 16000),
                                  duration_seconds=self.seconds))
        self.paths.append(path)
        return CallReport(Outcome.ANSWERED, key=self.key, comment=path, uniqueid=uid,
                          detail={"path": "intro rating satisfied comment_offer comment"})


def surveyed(db: Engine, at: Clock, dialer: CommentingDialer) -> tuple[int, list[int]]:
    """One survey call placed and recorded; returns the ticket and the wake-ups told."""
    woken: list[int] = []
    scheduler = OutboundScheduler(
        engine=db, clock=at, dialer=dialer, on_comment=lambda: woken.append(1),
        policy=Policy(hours=CallingHours(tz=CST), comment_language="ko"))
    scheduler.plan_and_claim()
    ticket_id = replied_ticket(db, at)
    approve(db, ticket_id, at)
    asyncio.run(scheduler.run_once(wait=True))
    return ticket_id, woken


def transcribe(db: Engine, text: str, hook: Any) -> Transcript:
    """What the transcription service does with a job: take it, store its transcript and run
    the hook in the same transaction."""
    with session_scope(db) as session:
        [claim] = queue.claim(session=session, languages=["ko"], limit=1, lease_seconds=60)
        row = queue.complete(session=session, claim=claim, transcript={
            "model_name": "test", "text": text, "words": [], "audio_seconds": 4.2,
            "processing_seconds": 0.5})
        assert row is not None
        hook(session, row)
        return row


def revisit_events(db: Engine, ticket_id: int) -> list[TicketEvent]:
    with Session(db) as session:
        return list(session.exec(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.action == "revisit")).all())


def test_given_a_recorded_comment_then_its_transcription_is_queued_with_the_rating(
    db: Engine, now: Clock
) -> None:
    dialer = CommentingDialer(db, now, key="1")
    ticket_id, woken = surveyed(db, now, dialer)

    [path] = dialer.paths
    with Session(db) as session:
        [job] = session.exec(select(TranscriptionJob)).all()
        rec = session.exec(select(Recording).where(Recording.path == path)).one()
    assert (job.recording_id, job.audio_path, job.language, job.status) == (
        rec.id, path, "ko", JobStatus.queued)
    assert woken == [1]  # the transcription service is told at once
    [attempt] = attempts(db)
    assert (attempt.detail["comment"], attempt.detail["comment_job"]) == (path, job.id)
    assert ticket(db, ticket_id).status == lc.Status.CLOSED
    [event] = revisit_events(db, ticket_id)
    assert event.seq == attempt.detail["revisit_seq"]
    assert event.payload["comment_recording"] == path and "comment" not in event.payload


def test_given_the_comment_transcribed_then_its_text_is_on_the_revisit_and_the_attempt(
    db: Engine, now: Clock
) -> None:
    ticket_id, _ = surveyed(db, now, CommentingDialer(db, now, key="3"))
    passed_on: list[Transcript] = []
    hook = SurveyComments(inner=lambda session, transcript: passed_on.append(transcript))

    row = transcribe(db, SPOKEN, hook)

    assert passed_on == [] and hook.stored == 1  # not taken for a message (no draft)
    [event] = revisit_events(db, ticket_id)
    assert event.payload["comment"] == SPOKEN, event.payload
    assert event.payload["comment_transcript"] == row.id
    assert ticket(db, ticket_id).status == lc.Status.IN_PROGRESS  # 重办 as before
    [attempt] = attempts(db)
    assert attempt.detail["comment_text"] == SPOKEN


def test_given_an_empty_comment_then_nothing_is_queued(
    db: Engine, now: Clock
) -> None:
    ticket_id, _ = surveyed(db, now, CommentingDialer(db, now, key="2", seconds=0))
    with Session(db) as session:
        assert session.exec(select(TranscriptionJob)).all() == []
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert "comment_job" not in attempt.detail
    assert ticket(db, ticket_id).status == lc.Status.CLOSED


def test_given_a_message_transcript_then_it_goes_on_to_the_drafts(
    db: Engine, now: Clock
) -> None:
    with session_scope(db) as session:
        rec = Recording(call_uniqueid="1700000000.1", kind="message", name="message",
                        path="2026/03/02/1700000000.1-message.wav", started_at=now.now,
                        complete=True, duration_seconds=3.0)
        session.add(rec)
        session.flush()
        assert rec.id is not None
        queue.enqueue(session=session, audio_path=rec.path, language="ko", recording_id=rec.id)
    passed_on: list[Transcript] = []
    hook = SurveyComments(inner=lambda session, transcript: passed_on.append(transcript))

    row = transcribe(db, "가로등", hook)

    assert [t.id for t in passed_on] == [row.id] and hook.stored == 0
