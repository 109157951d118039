"""The transcription service's two lanes: a speech menu's answer never waits behind batch jobs.

The recognisers are fakes here (the scheduling is under test, not Vosk): a batch pool whose
jobs stay running until released, and an interactive recogniser that answers at once. The
queue is the real one on SQLite. The priorities are those of real spawned processes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hotline.config import load_settings
from hotline.stt import service as service_module
from hotline.stt.models_dir import ModelInfo
from hotline.stt.recognizer import Choice
from hotline.stt.service import BATCH_NICE, TranscriptionService
from hotline.stt.stream_worker import NICE, StreamWorker
from tests.pg import sqlite_engine, sqlite_template  # noqa: F401

MODEL = ModelInfo(path=Path("/models/ko"), name="ko-test", layout="current", sample_rate=16000,
                  graph="HCLr+Gr", ivector=True)
YES = Choice(phrase="네", heard="네", confidence=0.9)


class BusyPool(Executor):
    """A batch pool whose jobs run until ``release`` (a backlog of two-hour recordings)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls.append((fn, args))
        future: Future[Any] = Future()
        self.futures.append(future)
        return future

    def release(self) -> None:
        for future in self.futures:
            if not future.done():
                future.set_exception(RuntimeError("released"))


class Interactive:
    """The interactive recogniser: answers every choice at once."""

    def __init__(self, *, alive: bool = True) -> None:
        self.alive = alive
        self.asked: list[Sequence[str]] = []
        self.started = 0
        self.pid = 4242

    def start(self) -> None:
        self.started += 1
        self.alive = True

    async def choose(self, audio: Path | bytes, phrases: Sequence[str], model: ModelInfo
                     ) -> Choice:
        assert model == MODEL
        self.asked.append(list(phrases))
        return YES


@pytest.fixture(autouse=True)
def korean_model_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every look-up finds the fake model (a tick looks at the models folders)."""
    monkeypatch.setattr(service_module, "find_model", lambda settings, language: MODEL)


def busy_service(engine: Engine, home: Path, pool: BusyPool, interactive: Interactive
                 ) -> TranscriptionService:
    settings = load_settings(home=str(home), stt={"workers": 2, "language": "ko",
                                                  "models": {"ko": str(MODEL.path)}})
    service = TranscriptionService(settings, engine)
    service.models = {"ko": MODEL}
    service._pool = pool  # type: ignore[assignment]
    service.interactive = interactive  # type: ignore[assignment]
    return service


async def fill_the_pool(service: TranscriptionService, pool: BusyPool, jobs: int) -> None:
    for i in range(jobs):
        await service.enqueue_file(Path(f"/up/two-hours-{i}.wav"), language="ko")
    await service._tick()
    for _ in range(1000):  # the claimed jobs reach the pool (each a task of its own)
        if len(pool.calls) == len(service.running):
            return
        await asyncio.sleep(0)


async def drain(service: TranscriptionService, pool: BusyPool) -> None:
    service._stopping = True
    pool.release()
    await asyncio.gather(*service._tasks, return_exceptions=True)


@pytest.mark.parametrize("jobs", [5, 1], ids=["every-process-busy", "one-process-free"])
async def test_given_batch_jobs_running_when_a_caller_answers_then_the_interactive_lane_answers(
    sqlite_engine: Engine, tmp_path: Path, jobs: int,  # noqa: F811
) -> None:
    pool, interactive = BusyPool(), Interactive()
    service = busy_service(sqlite_engine, tmp_path, pool, interactive)
    await fill_the_pool(service, pool, jobs=jobs)
    answer = asyncio.create_task(
        service.choose(b"\x00" * 16000, ["네", "아니요"], language="ko"))
    try:
        assert len(service.running) == min(jobs, 2)  # two-hour recordings being transcribed
        for _ in range(100):  # the fake answers at once: a few turns of the loop at most
            if answer.done():
                break
            await asyncio.sleep(0)

        assert answer.done(), "the answer waits behind the batch jobs"
        assert answer.result() == YES
        assert interactive.asked == [["네", "아니요"]]
        assert not any(f.done() for f in pool.futures)  # the batch jobs still run
        assert [fn.__name__ for fn, _ in pool.calls] == ["transcribe_file"] * min(jobs, 2)
    finally:
        answer.cancel()
        await drain(service, pool)


async def test_given_the_interactive_recogniser_died_when_a_caller_answers_then_restarted(
    sqlite_engine: Engine, tmp_path: Path,  # noqa: F811
) -> None:
    pool, interactive = BusyPool(), Interactive(alive=False)
    service = busy_service(sqlite_engine, tmp_path, pool, interactive)

    choice = await service.choose(b"\x00" * 16000, ["네", "아니요"], language="ko")

    assert choice == YES
    assert interactive.started == 1
    assert pool.calls == []


async def test_given_a_batch_only_service_when_started_then_no_interactive_process(
    sqlite_engine: Engine, tmp_path: Path,  # noqa: F811
) -> None:
    service = TranscriptionService(load_settings(home=str(tmp_path)), sqlite_engine,
                                   interactive=False)
    await service.start()
    try:
        assert service.interactive is None
        assert service.status()["interactive_pid"] is None
    finally:
        await service.stop()


async def test_the_batch_processes_run_below_the_interactive_recogniser(
    sqlite_engine: Engine, tmp_path: Path,  # noqa: F811
) -> None:
    service = TranscriptionService(load_settings(home=str(tmp_path), stt={"workers": 1}),
                                   sqlite_engine)
    pool = service._new_pool()
    worker = StreamWorker(())
    worker.start()
    try:
        batch_nice = pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
        for _ in range(6000):  # the process sets its priority, then says it is ready
            if worker.ready:
                break
            await asyncio.sleep(0.01)
        assert worker.ready and worker.pid is not None
        interactive_nice = os.getpriority(os.PRIO_PROCESS, worker.pid)
    finally:
        service._terminate(pool)
        await asyncio.to_thread(worker.stop)

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert interactive_nice == min(19, ours + NICE)
    assert batch_nice == min(19, ours + BATCH_NICE)
    assert batch_nice > interactive_nice or ours + NICE >= 19
