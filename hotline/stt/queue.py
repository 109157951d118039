"""The durable transcription queue: jobs in the database, taken by workers under a lease.

Life of a job::

    queued ──claim──> running ──complete──> done (one transcript)
      ^  ^              │  └──fail──> queued again after a backoff, or failed (last_error)
      │  └─lease expired┘               (bad audio fails at once: retrying cannot help)
      └─ waiting_model <── no model for its language; queued again once one appears

Every change is one ``UPDATE … WHERE`` on the state it expects, and its row count says whether
it happened: two workers never take the same job and a worker whose lease was lost cannot
finish it (SQLite serialises writers; PostgreSQL re-checks the WHERE after a row lock).
All functions take the session and keyword arguments; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from hotline.calls.models import Recording
from hotline.stt.errors import NoSuchJob
from hotline.stt.models import JobStatus, Transcript, TranscriptionJob, utcnow

Job = TranscriptionJob
# A recording never completed within this long does not hold back the scan for new ones.
STALE_RECORDING = timedelta(days=1)


@dataclass(frozen=True)
class Claim:
    """A job taken by a worker: the token proves the lease is still this worker's."""

    job_id: int
    token: str
    audio_path: str
    language: str
    recording_id: int | None
    attempts: int


def backoff_delay(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: base, 2×base, 4×base … ≤ cap
    (the exponent is bounded, so any count of attempts gives the cap, never an overflow)."""
    return float(min(cap, base * 2 ** min(max(attempts - 1, 0), 62)))


def _changed(session: Session, statement: Any) -> int:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount


def _insert_ignoring_duplicates(session: Session) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Job).on_conflict_do_nothing()


def enqueue(*, session: Session, audio_path: str, language: str,
            recording_id: int | None = None, now: datetime | None = None) -> Job:
    """The job of ``recording_id`` (made if there is none yet), or a new job for an upload."""
    now = now or utcnow()
    values = {"recording_id": recording_id, "audio_path": audio_path, "language": language,
              "status": JobStatus.queued, "attempts": 0, "next_attempt_at": now,
              "created_at": now}
    if recording_id is None:
        job = Job.model_validate(values)
        session.add(job)
        session.flush()
        return job
    session.execute(_insert_ignoring_duplicates(session).values(**values))
    return session.exec(select(Job).where(Job.recording_id == recording_id)).one()


def enqueue_finished_recordings(*, session: Session, kinds: Sequence[str], language: str,
                                from_id: int = 0, now: datetime | None = None
                                ) -> tuple[int, int]:
    """Jobs for complete recordings of ``kinds`` with id ≥ ``from_id`` that have none.

    Returns (jobs made, the ``from_id`` of the next scan: the first recording still being
    written, or one past the last).
    """
    now = now or utcnow()
    rows = session.exec(
        select(Recording.id, Recording.path, Recording.complete, Recording.started_at)
        .where(col(Recording.id) >= from_id, col(Recording.kind).in_(kinds))
        .order_by(col(Recording.id))
    ).all()
    next_from, made = None, 0
    for rec_id, path, complete, started_at in rows:
        assert rec_id is not None
        if complete:
            values = {"recording_id": rec_id, "audio_path": path, "language": language,
                      "status": JobStatus.queued, "attempts": 0, "next_attempt_at": now,
                      "created_at": now}
            insert = _insert_ignoring_duplicates(session).values(**values).returning(Job.id)
            made += len(session.execute(insert).all())  # rowcount: -1 with psycopg
        elif next_from is None and now - started_at < STALE_RECORDING:
            next_from = rec_id
    last = rows[-1][0] if rows else from_id - 1
    return made, next_from if next_from is not None else (last or 0) + 1


def reap_expired(*, session: Session, max_attempts: int, now: datetime | None = None) -> int:
    """Jobs whose worker stopped renewing the lease: queued again, or failed at the limit."""
    now = now or utcnow()
    expired = and_(col(Job.status) == JobStatus.running, col(Job.lease_until) < now)
    note = "the lease of attempt {} expired: the worker was killed or stopped"
    count = 0
    for job in session.exec(select(Job).where(expired)).all():
        gave_up = job.attempts >= max_attempts
        values: dict[str, Any] = {
            "status": JobStatus.failed if gave_up else JobStatus.queued,
            "lease_token": None, "lease_until": None, "next_attempt_at": now,
            "last_error": (f"gave up after {job.attempts} attempts; " if gave_up else "")
            + note.format(job.attempts),
        }
        if gave_up:
            values["finished_at"] = now
        count += _changed(session, update(Job).where(col(Job.id) == job.id, expired)
                          .values(**values))
    return count


def claim(*, session: Session, languages: Iterable[str], limit: int, lease_seconds: float,
          owner: str = "worker", now: datetime | None = None) -> list[Claim]:
    """Take up to ``limit`` due jobs of ``languages``; each is ours until its lease ends."""
    now = now or utcnow()
    due = and_(col(Job.status) == JobStatus.queued, col(Job.next_attempt_at) <= now)
    candidates = session.exec(
        select(Job.id).where(due, col(Job.language).in_(list(languages)))
        .order_by(col(Job.next_attempt_at), col(Job.id)).limit(limit * 4)
    ).all()
    tokens: list[str] = []
    for job_id in candidates:
        token = f"{owner[:40]}-{uuid.uuid4().hex[:16]}"
        taken = _changed(session, update(Job).where(col(Job.id) == job_id, due).values(
            status=JobStatus.running, lease_token=token,
            lease_until=now + timedelta(seconds=lease_seconds), attempts=Job.attempts + 1,
            started_at=now))
        if taken:
            tokens.append(token)
            if len(tokens) == limit:
                break
    jobs = session.exec(select(Job).where(col(Job.lease_token).in_(tokens))).all() if tokens \
        else []
    return sorted((Claim(job_id=j.id or 0, token=j.lease_token or "", audio_path=j.audio_path,
                         language=j.language, recording_id=j.recording_id, attempts=j.attempts)
                   for j in jobs), key=lambda c: tokens.index(c.token))


def claim_recording(*, session: Session, recording_id: int, audio_path: str, language: str,
                    lease_seconds: float, owner: str, now: datetime | None = None
                    ) -> Claim | None:
    """The job of a recording still being made, taken at once (a live transcription holds
    it while the caller speaks, so no worker takes it from the finished file meanwhile).
    None when the job exists and is not waiting (another worker has it, or it is done)."""
    now = now or utcnow()
    job = enqueue(session=session, audio_path=audio_path, language=language,
                  recording_id=recording_id, now=now)
    waiting = and_(col(Job.id) == job.id,
                   col(Job.status).in_([JobStatus.queued, JobStatus.waiting_model]))
    token = f"{owner[:40]}-{uuid.uuid4().hex[:16]}"
    if not _changed(session, update(Job).where(waiting).values(
            status=JobStatus.running, lease_token=token, attempts=Job.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds), started_at=now)):
        return None
    session.refresh(job)
    return Claim(job_id=job.id or 0, token=token, audio_path=job.audio_path,
                 language=job.language, recording_id=recording_id, attempts=job.attempts)


def withdraw(*, session: Session, claim: Claim) -> bool:
    """Delete a job taken by ``claim_recording`` whose live transcription failed: the
    recording gets its job again, like any other, once it is complete."""
    return bool(_changed(session, delete(Job).where(_held(claim))))


def _held(claim: Claim) -> Any:
    return and_(col(Job.id) == claim.job_id, col(Job.status) == JobStatus.running,
                col(Job.lease_token) == claim.token)


def renew(*, session: Session, claims: Iterable[Claim], lease_seconds: float,
          now: datetime | None = None) -> list[Claim]:
    """Push the leases of ``claims`` forward; returns the claims that were lost."""
    until = (now or utcnow()) + timedelta(seconds=lease_seconds)
    return [c for c in claims
            if not _changed(session, update(Job).where(_held(c)).values(lease_until=until))]


def complete(*, session: Session, claim: Claim, transcript: dict[str, Any],
             now: datetime | None = None) -> Transcript | None:
    """Mark the job done with its transcript, or None when the lease was lost meanwhile."""
    now = now or utcnow()
    if not _changed(session, update(Job).where(_held(claim)).values(
            status=JobStatus.done, finished_at=now, lease_token=None, lease_until=None)):
        return None
    row = Transcript(job_id=claim.job_id, recording_id=claim.recording_id,
                     audio_path=claim.audio_path, language=claim.language, created_at=now,
                     **transcript)
    session.add(row)
    session.flush()
    return row


def fail(*, session: Session, claim: Claim, error: str, permanent: bool, max_attempts: int,
         backoff: float, backoff_max: float, now: datetime | None = None) -> str | None:
    """Record a failed attempt: queued again after a backoff, or failed for good.

    Returns the job's new status, or None when the lease was lost meanwhile.
    """
    now = now or utcnow()
    values: dict[str, Any] = {"last_error": error[:4000], "lease_token": None,
                              "lease_until": None}
    if permanent or claim.attempts >= max_attempts:
        values.update(status=JobStatus.failed, finished_at=now)
    else:
        delay = backoff_delay(claim.attempts, base=backoff, cap=backoff_max)
        values.update(status=JobStatus.queued, next_attempt_at=now + timedelta(seconds=delay))
    if not _changed(session, update(Job).where(_held(claim)).values(**values)):
        return None
    return str(values["status"])


def release(*, session: Session, claim: Claim, status: str = JobStatus.queued,
            reason: str | None = None, now: datetime | None = None) -> bool:
    """Give a job back untouched (the service stops, the model went away): the attempt does
    not count."""
    values: dict[str, Any] = {"status": status, "attempts": Job.attempts - 1,
                              "lease_token": None, "lease_until": None,
                              "next_attempt_at": now or utcnow()}
    if reason is not None:
        values["last_error"] = reason
    return bool(_changed(session, update(Job).where(_held(claim)).values(**values)))


def park_waiting(*, session: Session, language: str, reason: str) -> int:
    """Queued jobs of a language without a model wait for one (``waiting_model``)."""
    return _changed(session, update(Job).where(
        col(Job.status) == JobStatus.queued, col(Job.language) == language,
    ).values(status=JobStatus.waiting_model, last_error=reason))


def release_waiting(*, session: Session, languages: Iterable[str],
                    now: datetime | None = None) -> int:
    """Jobs waiting for a model of ``languages`` (now installed) are queued again."""
    return _changed(session, update(Job).where(
        col(Job.status) == JobStatus.waiting_model, col(Job.language).in_(list(languages)),
    ).values(status=JobStatus.queued, next_attempt_at=now or utcnow()))


def queued_languages(*, session: Session) -> list[str]:
    return list(session.exec(select(Job.language).where(
        col(Job.status) == JobStatus.queued).distinct()).all())


def get_job(*, session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NoSuchJob(job_id)
    return job


def list_jobs(*, session: Session, status: str | None = None, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(Job.status) == status)
    return list(session.exec(query).all())


def count_by_status(*, session: Session) -> dict[str, int]:
    rows = session.exec(select(Job.status, func.count()).group_by(col(Job.status))).all()
    return dict(rows)


def transcript_of(*, session: Session, job_id: int) -> Transcript | None:
    return session.exec(select(Transcript).where(Transcript.job_id == job_id)).first()

