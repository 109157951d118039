"""The live recogniser's process killed while a caller leaves a message: the message falls
back to the batch job: one job, one transcript, one draft."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.stt.models import JobStatus
from hotline.telephony.phone import SoftPhone, wav_to_phone_audio

from ..conftest import RunningHotline
from ..test_ivr_calls import finished, only_call, reached
from ..test_live_transcription import message_rows
from ..test_stt_vosk import SENTENCE, speak
from ..test_voice_to_ticket import korean_stt, undithered_korean_model, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.failures]


def test_given_the_live_recogniser_killed_mid_message_then_the_batch_job_makes_the_draft(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path
) -> None:
    speech = wav_to_phone_audio(speak(SENTENCE, tmp_path / "message.wav"))
    running = make_hotline(stt=korean_stt(undithered_korean_model(tmp_path / "model")))
    live = running.hotline.live
    wait_for("the live recogniser", lambda: live.status()["ready"], timeout=60)
    pid = live.status()["worker_pid"]
    wait = only_call(running)
    with SoftPhone(user="demo", password=None) as phone:
        call = phone.call("12345", timeout=10)
        wait(reached("no_seat_notice"), what="at the self-service menu")
        call.send_dtmf("2")
        wait(lambda v: any(r.kind == "message" for r in v.recordings), timeout=30,
             what="recording a message")
        call.play(speech[: len(speech) // 2])
        os.kill(pid, signal.SIGKILL)
        call.play(speech[len(speech) // 2:])
        call.send_dtmf("#")
        call.wait_until_ended(timeout=30)
    wait(finished, timeout=60, what="over with its recordings complete")

    wait_for("the draft", lambda: message_rows(running)[3], timeout=120)
    status = live.status()
    assert status["stored"] == 0 and status["fell_back"] == 1, status
    _message, jobs, transcripts, drafts = message_rows(running)
    (job,), (transcript,), (draft,) = jobs, transcripts, drafts
    assert job.status == JobStatus.done and draft.transcript_id == transcript.id
    # Nothing restarted it meanwhile: the next message to be streamed starts a new one.
    assert live.worker is not None and not live.worker.alive
