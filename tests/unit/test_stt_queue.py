"""The transcription queue on SQLite and PostgreSQL: one job per recording, claims under a
lease that two workers never share, expired leases taken again, retries with backoff, jobs
waiting for a model, and never two transcripts for one job."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

from hotline.calls.models import Recording
from hotline.config import load_settings
from hotline.db import session_scope
from hotline.stt import queue
from hotline.stt.errors import SttError
from hotline.stt.models import JobStatus, Transcript, TranscriptionJob
from hotline.stt.service import TranscriptionService
from tests.pg import pg_engine, postgres_server, sqlite_engine, sqlite_template  # noqa: F401

T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
LEASE = 60.0
RESULT = {"text": "", "words": [], "model_name": "m", "audio_seconds": 1.0,
          "processing_seconds": 0.5}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


def add_recording(engine: Engine, *, kind: str = "caller", complete: bool = True,
                  started_at: datetime = T0) -> int:
    with session_scope(engine) as session:
        rec = Recording(call_uniqueid="1764.1", kind=kind, path=f"2026/11/26/{kind}-"
                        f"{started_at.timestamp()}-{complete}.wav", started_at=started_at,
                        complete=complete)
        session.add(rec)
        session.flush()
        assert rec.id is not None
        return rec.id


def add_jobs(engine: Engine, count: int, *, language: str = "ko", now: datetime = T0
             ) -> list[int]:
    with session_scope(engine) as session:
        return [queue.enqueue(session=session, audio_path=f"/up/{i}.wav", language=language,
                              now=now).id or 0 for i in range(count)]


def claim(engine: Engine, *, now: datetime = T0, limit: int = 1, languages: tuple[str, ...] = (
          "ko",)) -> list[queue.Claim]:
    with session_scope(engine) as session:
        return queue.claim(session=session, languages=languages, limit=limit,
                           lease_seconds=LEASE, now=now)


def job(engine: Engine, job_id: int) -> TranscriptionJob:
    with Session(engine) as session:
        return queue.get_job(session=session, job_id=job_id)


def fail(engine: Engine, c: queue.Claim, *, now: datetime, permanent: bool = False,
         max_attempts: int = 3) -> str | None:
    with session_scope(engine) as session:
        return queue.fail(session=session, claim=c, error=f"boom {c.attempts}",
                          permanent=permanent, max_attempts=max_attempts, backoff=10,
                          backoff_max=25, now=now)


def complete(engine: Engine, c: queue.Claim, *, now: datetime = T0) -> Transcript | None:
    with session_scope(engine) as session:
        return queue.complete(session=session, claim=c, transcript=RESULT, now=now)


def transcripts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Transcript)).one()


def test_given_a_recording_queued_twice_then_one_job(engine: Engine) -> None:
    rec = add_recording(engine)
    with session_scope(engine) as session:
        first = queue.enqueue(session=session, audio_path="a.wav", language="ko",
                              recording_id=rec)
        again = queue.enqueue(session=session, audio_path="a.wav", language="ko",
                              recording_id=rec)
    assert first.id == again.id
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(TranscriptionJob(recording_id=rec, audio_path="a.wav", language="ko"))


def test_given_finished_and_unfinished_recordings_when_scanned_then_jobs_for_the_finished_only(
    engine: Engine,
) -> None:
    done_caller = add_recording(engine)
    writing = add_recording(engine, complete=False)
    add_recording(engine, kind="full")
    later = add_recording(engine, kind="message")
    kinds = ["caller", "message"]

    with session_scope(engine) as session:
        made, next_from = queue.enqueue_finished_recordings(
            session=session, kinds=kinds, language="zh", now=T0)
        again, _ = queue.enqueue_finished_recordings(
            session=session, kinds=kinds, language="zh", now=T0)
        jobs = session.exec(select(TranscriptionJob)).all()

    assert (made, again) == (2, 0)
    assert sorted(j.recording_id for j in jobs) == [done_caller, later]
    assert next_from == writing  # the next scan starts at the recording still being written


def test_given_due_jobs_when_claimed_then_taken_once_under_a_lease(engine: Engine) -> None:
    first, second = add_jobs(engine, 2)
    add_jobs(engine, 1, language="zh")

    taken = claim(engine, limit=5)

    assert [c.job_id for c in taken] == [first, second]
    assert all(c.attempts == 1 for c in taken)
    assert claim(engine, limit=5) == []
    stored = job(engine, first)
    assert (stored.status, stored.lease_until) == (JobStatus.running,
                                                   T0 + timedelta(seconds=LEASE))


def test_given_many_workers_claiming_at_once_then_every_job_is_taken_exactly_once(
    engine: Engine,
) -> None:
    ids = add_jobs(engine, 30)
    taken: list[int] = []
    lock, start = threading.Lock(), threading.Barrier(6)

    def worker() -> None:
        start.wait()
        while claims := claim(engine, limit=2):
            with lock:
                taken.extend(c.job_id for c in claims)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(taken) == ids


def test_given_a_vanished_worker_when_its_lease_expires_then_the_job_is_taken_again_and_done_once(
    engine: Engine,
) -> None:
    (job_id,) = add_jobs(engine, 1)
    (lost,) = claim(engine)

    with session_scope(engine) as session:
        assert queue.reap_expired(session=session, max_attempts=3,
                                  now=T0 + timedelta(seconds=LEASE - 1)) == 0
        assert queue.reap_expired(session=session, max_attempts=3,
                                  now=T0 + timedelta(seconds=LEASE + 1)) == 1
    assert "lease of attempt 1 expired" in (job(engine, job_id).last_error or "")
    (again,) = claim(engine, now=T0 + timedelta(seconds=LEASE + 1))

    assert again.attempts == 2
    assert complete(engine, lost) is None  # the first worker came back too late
    assert complete(engine, again) is not None
    assert complete(engine, again) is None
    assert (job(engine, job_id).status, transcripts(engine)) == (JobStatus.done, 1)


def test_given_a_lease_renewed_when_the_first_term_ends_then_the_job_stays_taken(
    engine: Engine,
) -> None:
    add_jobs(engine, 1)
    (held,) = claim(engine)
    with session_scope(engine) as session:
        assert queue.renew(session=session, claims=[held], lease_seconds=LEASE,
                           now=T0 + timedelta(seconds=LEASE / 2)) == []
        assert queue.reap_expired(session=session, max_attempts=3,
                                  now=T0 + timedelta(seconds=LEASE + 1)) == 0


def test_given_leases_expiring_at_the_attempt_limit_then_failed_with_the_reason(
    engine: Engine,
) -> None:
    (job_id,) = add_jobs(engine, 1)
    now = T0
    for _ in range(2):
        claim(engine, now=now)
        now += timedelta(seconds=LEASE + 1)
        with session_scope(engine) as session:
            queue.reap_expired(session=session, max_attempts=2, now=now)

    stored = job(engine, job_id)
    assert stored.status == JobStatus.failed
    assert (stored.last_error or "").startswith("gave up after 2 attempts")


def test_given_failures_then_retried_after_a_doubling_backoff_until_the_limit(
    engine: Engine,
) -> None:
    (job_id,) = add_jobs(engine, 1)
    now, waits = T0, []
    for _ in range(3):
        (c,) = claim(engine, now=now)
        status = fail(engine, c, now=now)
        stored = job(engine, job_id)
        if status == JobStatus.failed:
            break
        assert status == JobStatus.queued
        waits.append((stored.next_attempt_at - now).total_seconds())
        assert claim(engine, now=stored.next_attempt_at - timedelta(seconds=1)) == []
        now = stored.next_attempt_at

    assert waits == [queue.backoff_delay(n, base=10, cap=25) for n in (1, 2)]
    assert (stored.status, stored.attempts, stored.last_error) == (JobStatus.failed, 3,
                                                                   "boom 3")


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [queue.backoff_delay(n, base=10, cap=60) for n in range(1, 6)]
    assert delays == [10, 20, 40, 60, 60]


def test_given_unusable_audio_then_failed_at_once(engine: Engine) -> None:
    (job_id,) = add_jobs(engine, 1)
    (c,) = claim(engine)
    assert fail(engine, c, now=T0, permanent=True) == JobStatus.failed
    assert job(engine, job_id).attempts == 1


def test_given_no_model_for_a_language_then_its_jobs_wait_and_are_done_once_one_appears(
    engine: Engine,
) -> None:
    (ko,) = add_jobs(engine, 1, language="ko")
    (zh,) = add_jobs(engine, 1, language="zh")
    with session_scope(engine) as session:
        assert sorted(queue.queued_languages(session=session)) == ["ko", "zh"]
        queue.park_waiting(session=session, language="zh", reason="no speech model for zh")

    assert claim(engine, limit=5, languages=("ko", "zh"))[0].job_id == ko
    waiting = job(engine, zh)
    assert (waiting.status, waiting.last_error) == (JobStatus.waiting_model,
                                                    "no speech model for zh")

    with session_scope(engine) as session:
        assert queue.release_waiting(session=session, languages=["zh"], now=T0) == 1
    (c,) = claim(engine, languages=("zh",))
    complete(engine, c)
    assert (job(engine, zh).status, c.attempts) == (JobStatus.done, 1)


def test_given_a_job_given_back_when_the_service_stops_then_the_attempt_does_not_count(
    engine: Engine,
) -> None:
    (job_id,) = add_jobs(engine, 1)
    (c,) = claim(engine)
    with session_scope(engine) as session:
        assert queue.release(session=session, claim=c, now=T0)
    stored = job(engine, job_id)
    assert (stored.status, stored.attempts, stored.lease_token) == (JobStatus.queued, 0, None)


def test_given_jobs_when_listed_then_newest_first_and_counted_by_status(engine: Engine) -> None:
    ids = add_jobs(engine, 3)
    claim(engine)
    with Session(engine) as session:
        listed = queue.list_jobs(session=session)
        running = queue.list_jobs(session=session, status=JobStatus.running)
        counts = queue.count_by_status(session=session)
        latest = session.exec(select(TranscriptionJob).order_by(
            col(TranscriptionJob.id).desc())).first()
    assert [j.id for j in listed] == sorted(ids, reverse=True)
    assert [j.id for j in running] == [ids[0]]
    assert counts == {"queued": 2, "running": 1}
    assert latest is not None and latest.id == ids[-1]


def test_given_the_migrations_then_the_stt_tables_are_as_the_models_say(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "transcri" in repr(d)] == []


async def test_given_the_service_when_a_recording_is_queued_twice_then_one_job_and_unknown_refused(
    engine: Engine, tmp_path
) -> None:
    rec = add_recording(engine)
    service = TranscriptionService(load_settings(home=str(tmp_path)), engine)

    first = await service.enqueue_recording(rec, language="ko")
    again = await service.enqueue_recording(rec)

    assert first == again
    assert job(engine, first).language == "ko"
    with pytest.raises(SttError, match="no recording 999"):
        await service.enqueue_recording(999)
