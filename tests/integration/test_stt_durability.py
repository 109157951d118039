"""Transcription jobs survive the death of a worker process and of the whole service: the job
is taken again and done once, with exactly one transcript (real Vosk, real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from hotline.stt.models import JobStatus
from tests.integration.test_stt_vosk import (
    SENTENCE,
    assert_well_formed,
    job_of,
    recorded,
    service_running,
    transcripts_of,
    wait_job,
)

LONG_MESSAGE = " ".join([SENTENCE] * 5)  # about 30 s of speech: seconds of work to interrupt
# The model loads in 1-2.5 s; recognising the message takes about 10 s more.
INTO_RECOGNITION = 4.0


async def test_given_a_worker_process_killed_mid_job_then_the_job_is_done_once_by_a_new_one(
    tmp_path: Path,
) -> None:
    settings, engine, audio, recording_id = recorded(tmp_path, LONG_MESSAGE)
    async with service_running(settings, engine) as service:
        running = await wait_job(engine, lambda j: j.status == JobStatus.running,
                                 recording_id=recording_id)
        assert running.id in service.running
        await asyncio.sleep(INTO_RECOGNITION)
        assert (job_of(engine, recording_id=recording_id) or running).status == "running"
        killed = service.worker_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        done = await wait_job(engine, lambda j: j.status == JobStatus.done,
                              recording_id=recording_id)
        assert not set(killed) & set(service.worker_pids())

    assert killed
    assert done.attempts == 2
    assert "the worker process died during attempt 1" in (done.last_error or "")
    (transcript,) = transcripts_of(engine, done.id or 0)
    assert_well_formed(transcript, audio)


async def test_given_the_whole_service_killed_mid_job_when_its_lease_expires_then_another_takes_it(
    tmp_path: Path,
) -> None:
    settings, engine, audio, recording_id = recorded(tmp_path, LONG_MESSAGE)
    settings_file = tmp_path / "hotline.yaml"
    settings_file.write_text(yaml.safe_dump(settings.model_dump(
        mode="json", include={"home", "db", "recordings", "stt"})))
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "--settings", str(settings_file), "stt", "work",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        taken = await wait_job(engine, lambda j: j.status == JobStatus.running,
                               recording_id=recording_id)
        await asyncio.sleep(INTO_RECOGNITION)
        assert (job_of(engine, recording_id=recording_id) or taken).status == "running"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the service and its pool, as a crash would
        await asyncio.wait_for(worker.wait(), 10)
    assert taken.lease_token and taken.lease_token.startswith(f"{os.uname().nodename}:"
                                                               f"{worker.pid}-")

    async with service_running(settings, engine):
        done = await wait_job(engine, lambda j: j.status == JobStatus.done,
                              recording_id=recording_id)

    assert done.attempts == 2
    assert done.last_error == "the lease of attempt 1 expired: the worker was killed or stopped"
    assert taken.lease_until is not None and done.started_at is not None
    assert done.started_at >= taken.lease_until  # not before the first lease ran out
    (transcript,) = transcripts_of(engine, done.id or 0)
    assert_well_formed(transcript, audio)
