"""The transcription service: a poll loop on the job queue feeding a pool of Vosk processes.

The application owns one (``start`` in its lifespan, ``stop`` on the way out)::

    service = TranscriptionService(settings, engine)
    await service.start()
    job_id = await service.enqueue_recording(recording.id)   # or enqueue_file(path)
    ...
    await service.stop()

Each tick (on a wake-up, after each job, or every ``stt.poll_seconds``) it looks at the
models, gives finished recordings a job, puts jobs whose lease expired back in the queue,
parks jobs without a model (``waiting_model``) or releases them once one appears, and takes
as many due jobs as it has idle processes. The pool has ``stt.workers`` processes (default:
one per core), started with ``spawn`` (never a fork of a process with threads) and loading
the available models once each. A running job's lease is renewed every third of
``stt.lease_seconds``: a job is taken again only when its owner is gone.

Two lanes, so that a caller never waits behind the queue: the pool takes batch jobs only, its
processes at nice ``BATCH_NICE`` (19); what a caller waits on (a speech menu's answer,
``choose``, and the live messages of ``hotline.stt.live``) goes to ``interactive``, one
process of its own (``StreamWorker``, nice 10, started again if it died). A backlog of
two-hour recordings keeps every pool process busy for minutes; an answer still takes the
interactive process at once, and the pool only has the CPU the callers leave.

``on_transcript(session, transcript)`` runs in the transaction that stores each transcript
(inside a savepoint: if it fails, it is logged and the transcript is kept), so what it writes
(a work-order draft) is committed with the transcript or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.calls.models import Recording
from hotline.config import Settings
from hotline.db import session_scope
from hotline.stt import queue
from hotline.stt.errors import AudioError, ModelMissing, SttError
from hotline.stt.models import JobStatus, Transcript, utcnow
from hotline.stt.models_dir import ModelInfo, find_model
from hotline.stt.recognizer import Choice, preload_niced, recognize_choice, transcribe_file
from hotline.stt.stream_worker import StreamWorker

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH_NICE = 19  # the pool's processes: below the interactive recogniser (10) and Asterisk
TranscriptHook = Callable[[Session, Transcript], None]


class TranscriptionService:
    def __init__(self, settings: Settings, engine: Engine, *, owner: str | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_transcript: TranscriptHook | None = None, interactive: bool = True
                 ) -> None:
        """``interactive=False``: batch jobs only (``hotline stt work``, a benchmark), no
        interactive process; ``choose`` then recognises in a thread of this process."""
        self.settings = settings
        self._interactive_lane = interactive
        self.on_transcript = on_transcript
        self.stt = settings.stt
        self.engine = engine
        self.workers = self.stt.workers or os.cpu_count() or 1
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        self.models: dict[str, ModelInfo] = {}
        self.missing: dict[str, str] = {}  # language -> why there is no model
        self.running: dict[int, queue.Claim] = {}
        self._pool: ProcessPoolExecutor | None = None
        self.interactive: StreamWorker | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._scan_from = 0
        self._rescan_from: int | None = None

    # life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        languages = await self._db(lambda s: queue.queued_languages(session=s))
        await asyncio.to_thread(self._refresh_models, languages)
        self._pool = self._new_pool()
        if self._interactive_lane:
            self.interactive = StreamWorker(tuple(self.models.values()))
            self.interactive.start()
        self._loop_task = asyncio.create_task(self._run(), name="stt-poll")

    async def stop(self) -> None:
        """Stop taking jobs; jobs in progress go back to the queue (their attempt uncounted)
        and the worker processes end."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        claims = list(self.running.values())
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._db(lambda s: [queue.release(session=s, claim=c) for c in claims])
        if self._pool is not None:
            self._terminate(self._pool)
            self._pool = None
        if self.interactive is not None:
            await asyncio.to_thread(self.interactive.stop)
            self.interactive = None

    def notify(self) -> None:
        """Look at the queue now (another component added a job)."""
        self._wake.set()

    # queueing ---------------------------------------------------------------------------
    async def enqueue_file(self, path: Path, *, language: str | None = None) -> int:
        """A job for an uploaded file (absolute path); returns its id."""
        lang = language or self.stt.language
        job = await self._db(lambda s: queue.enqueue(
            session=s, audio_path=str(path.resolve()), language=lang, now=self.clock()))
        self.notify()
        return job.id or 0

    async def enqueue_recording(self, recording_id: int, *, language: str | None = None) -> int:
        """The job of a finished recording (made once: a second call returns the same)."""
        lang = language or self.stt.language

        def add(session: Session) -> int:
            rec = session.get(Recording, recording_id)
            if rec is None:
                raise SttError(f"no recording {recording_id}")
            job = queue.enqueue(session=session, audio_path=rec.path, language=lang,
                                recording_id=recording_id, now=self.clock())
            return job.id or 0

        job_id = await self._db(add)
        self.notify()
        return job_id

    async def choose(self, audio: Path | bytes, phrases: Sequence[str], *,
                     language: str | None = None) -> Choice:
        """Which phrase was said (a speech menu), recognised by the interactive process,
        never queued behind batch jobs (in a thread of this process when the service is not
        started)."""
        lang = language or self.stt.language
        model = self.models.get(lang) or find_model(self.settings, lang)
        interactive = self.interactive_recogniser()
        if interactive is None:
            return await asyncio.to_thread(recognize_choice, audio, list(phrases), model)
        return await interactive.choose(audio, phrases, model)

    def interactive_recogniser(self) -> StreamWorker | None:
        """The interactive lane's process, started again if it died (None: the service is
        not started)."""
        interactive = self.interactive
        if interactive is not None and not interactive.alive and not self._stopping:
            log.warning("transcription: the interactive recogniser died; starting another")
            interactive.start()
        return interactive

    # live transcriptions (hotline.stt.live) hold a recording's job while the caller speaks
    async def claim_live(self, *, path: str, language: str | None = None
                         ) -> queue.Claim | None:
        """The job of the recording being made at ``path`` (relative to the recordings
        folder), held by a live transcription; None when there is no such recording or its
        job is taken."""
        lang = language or self.stt.language

        def take(session: Session) -> queue.Claim | None:
            rec = session.exec(select(Recording).where(Recording.path == path)).first()
            if rec is None or rec.id is None:
                return None
            return queue.claim_recording(
                session=session, recording_id=rec.id, audio_path=rec.path, language=lang,
                lease_seconds=self.stt.lease_seconds, owner=f"live:{self.owner}",
                now=self.clock())

        return await self._db(take)

    async def renew_live(self, claim: queue.Claim) -> bool:
        lost = await self._db(lambda s: queue.renew(
            session=s, claims=[claim], lease_seconds=self.stt.lease_seconds, now=self.clock()))
        return not lost

    async def complete_live(self, claim: queue.Claim, result: dict[str, Any]
                            ) -> Transcript | None:
        """The live transcript stored as the job's (``on_transcript`` runs as for any job)."""
        return await self._db(lambda s: self._complete(s, claim, result))

    async def withdraw_live(self, claim: queue.Claim) -> None:
        """A live transcription failed: its job goes, and the recording is queued again like
        any other once complete (the next scan starts at it)."""
        await self._db(lambda s: queue.withdraw(session=s, claim=claim))
        if claim.recording_id is not None:
            rescan = self._rescan_from
            self._rescan_from = claim.recording_id if rescan is None \
                else min(rescan, claim.recording_id)
        self.notify()

    def status(self) -> dict[str, Any]:
        return {"workers": self.workers, "worker_pids": self.worker_pids(),
                "interactive_pid": self.interactive.pid if self.interactive else None,
                "running_jobs": sorted(self.running),
                "models": {lang: m.name for lang, m in self.models.items()},
                "missing_models": dict(self.missing)}

    def worker_pids(self) -> list[int]:
        processes = self._pool._processes if self._pool is not None else None
        return sorted(p.pid for p in (processes or {}).values() if p.pid is not None)

    # the loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._tick()
            except Exception:  # the database is away: log, and try again on the next tick
                log.exception("transcription queue: poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.stt.poll_seconds)

    async def _tick(self) -> None:
        languages = await self._db(self._housekeeping)
        await asyncio.to_thread(self._refresh_models, languages)  # a few stat() calls
        idle = self.workers - len(self.running)
        if idle <= 0 or not self.models or self._stopping:
            return
        claims = await self._db(lambda s: queue.claim(
            session=s, languages=list(self.models), limit=idle,
            lease_seconds=self.stt.lease_seconds, owner=self.owner, now=self.clock()))
        for claim in claims:
            self.running[claim.job_id] = claim
            task = asyncio.create_task(self._process(claim), name=f"stt-job-{claim.job_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _housekeeping(self, session: Session) -> list[str]:
        now = self.clock()
        rescan, self._rescan_from = self._rescan_from, None  # a live transcription gave up
        start = self._scan_from if rescan is None else min(self._scan_from, rescan)
        made, self._scan_from = queue.enqueue_finished_recordings(
            session=session, kinds=self.stt.recording_kinds, language=self.stt.language,
            from_id=start, now=now)
        if made:
            log.info("transcription: %d finished recording(s) queued", made)
        queue.reap_expired(session=session, max_attempts=self.stt.max_attempts, now=now)
        for language, reason in self.missing.items():
            queue.park_waiting(session=session, language=language, reason=reason)
        if self.models:
            queue.release_waiting(session=session, languages=list(self.models), now=now)
        return queue.queued_languages(session=session)

    def _refresh_models(self, languages: Sequence[str]) -> None:
        for language in {*self.stt.models, *languages, *self.missing}:
            try:
                model = find_model(self.settings, language)
            except ModelMissing as exc:
                if self.missing.get(language) != exc.message:
                    log.warning("transcription waits: %s", exc.message)
                self.missing[language] = exc.message
                self.models.pop(language, None)
            else:
                if language in self.missing or language not in self.models:
                    log.info("transcription: %s model %s ready", language, model.name)
                self.missing.pop(language, None)
                self.models[language] = model

    async def _process(self, claim: queue.Claim) -> None:
        lease = asyncio.create_task(self._keep_lease(claim))
        try:
            await self._attempt(claim)
        finally:
            lease.cancel()
            self.running.pop(claim.job_id, None)
            self._wake.set()

    async def _attempt(self, claim: queue.Claim) -> None:
        model, pool = self.models.get(claim.language), self._pool
        if model is None or pool is None:
            reason = self.missing.get(claim.language, "no model")
            await self._db(lambda s: queue.release(session=s, claim=claim, reason=reason,
                                                   status=JobStatus.waiting_model))
            return
        path = self.settings.recordings_dir / claim.audio_path  # an absolute path stays
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(pool, transcribe_file, str(path), model,
                                                self.stt.max_audio_seconds)
        except AudioError as exc:
            await self._failed(claim, str(exc), permanent=True)
        except BrokenProcessPool as exc:
            self._replace_pool(pool)
            await self._failed(claim, f"the worker process died during attempt "
                                      f"{claim.attempts} ({exc})", permanent=False)
        except Exception as exc:
            await self._failed(claim, f"{type(exc).__name__}: {exc}", permanent=False)
        else:
            done = await self._db(lambda s: self._complete(s, claim, result))
            if done is None:
                log.warning("transcription job %d: lease lost, result dropped", claim.job_id)

    def _complete(self, session: Session, claim: queue.Claim, result: dict[str, Any]
                  ) -> Transcript | None:
        row = queue.complete(session=session, claim=claim, transcript=result, now=self.clock())
        if row is not None and self.on_transcript is not None:
            try:
                with session.begin_nested():
                    self.on_transcript(session, row)
            except Exception:
                log.exception("transcription job %d: on_transcript failed", claim.job_id)
        return row

    async def _failed(self, claim: queue.Claim, error: str, *, permanent: bool) -> None:
        status = await self._db(lambda s: queue.fail(
            session=s, claim=claim, error=error, permanent=permanent,
            max_attempts=self.stt.max_attempts, backoff=self.stt.backoff_seconds,
            backoff_max=self.stt.backoff_max_seconds, now=self.clock()))
        log.warning("transcription job %d attempt %d: %s -> %s", claim.job_id, claim.attempts,
                    error, status or "lease lost")

    async def _keep_lease(self, claim: queue.Claim) -> None:
        while True:
            await asyncio.sleep(self.stt.lease_seconds / 3)
            lost = await self._db(lambda s: queue.renew(
                session=s, claims=[claim], lease_seconds=self.stt.lease_seconds,
                now=self.clock()))
            if lost:
                log.warning("transcription job %d: lease lost", claim.job_id)
                return

    # pool and database ------------------------------------------------------------------
    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=preload_niced,
                                   initargs=(tuple(self.models.values()), BATCH_NICE))

    def _replace_pool(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken and not self._stopping:
            log.warning("transcription: a worker process died; starting a new pool")
            self._terminate(broken)
            self._pool = self._new_pool()

    @staticmethod
    def _terminate(pool: ProcessPoolExecutor) -> None:
        for process in list((pool._processes or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    async def _db(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with session_scope(self.engine) as session:
                return fn(session)

        return await asyncio.to_thread(run)
