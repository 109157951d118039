"""Bad and unusual audio through the real job queue, process pool and Korean Vosk model: each
job gets a clear status naming the file and what is wrong with it, the pool survives, and the
other jobs go on. (Empty, truncated and non-WAV files: ``test_stt_vosk``.)

A two-hour recording is a real call (a long complaint, a call left on hold): it is streamed
in chunks and transcribed under a renewed lease, and refused by length only above the
configured ``stt.max_audio_seconds``. It is written as a sparse file: speech at both ends,
two hours of digital silence between, no disk and no time spent making it.
"""

from __future__ import annotations

import struct
import subprocess
import wave
from pathlib import Path

import pytest

from hotline.stt.models import JobStatus, TranscriptionJob

from .test_stt_vosk import (
    SENTENCE,
    assert_well_formed,
    migrated,
    service_running,
    speak,
    stt_settings,
    transcripts_of,
    wait_job,
    wav_seconds,
)

TWO_HOURS = 2 * 3600


def finished(job: TranscriptionJob) -> bool:
    return job.status in (JobStatus.done, JobStatus.failed)


def converted(source: Path, target: Path, *sox_args: str) -> Path:
    subprocess.run(["sox", str(source), *sox_args, str(target)], check=True, timeout=60)
    return target


def silence(path: Path, seconds: int, *, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(seconds * rate * 2))
    return path


def two_hour_call(speech: Path, path: Path) -> tuple[Path, float]:
    """8 kHz mono: ``speech``, silence, ``speech`` again ending at exactly two hours.
    Returns the file and where the second speech starts (seconds)."""
    with wave.open(str(speech)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        pcm = w.readframes(w.getnframes())
    data_bytes = TWO_HOURS * 8000 * 2
    with path.open("wb") as f:
        f.write(struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ",
                            16, 1, 1, 8000, 16000, 2, 16, b"data", data_bytes))
        f.write(pcm)
        f.seek(44 + data_bytes - len(pcm))
        f.write(pcm)
    return path, TWO_HOURS - len(pcm) / 16000


async def test_given_unusual_formats_silence_and_a_too_long_call_then_each_gets_a_clear_status(
    tmp_path: Path,
) -> None:
    settings = stt_settings(tmp_path, workers=2, poll_seconds=60, max_audio_seconds=3600)
    engine = migrated(settings)
    good = speak(SENTENCE, tmp_path / "good.wav")
    readable = {
        "stereo 44.1 kHz": speak(SENTENCE, tmp_path / "stereo44k.wav", rate=44100, channels=2),
        "8-bit": converted(good, tmp_path / "u8.wav", "-e", "unsigned-integer", "-b", "8"),
        "A-law": converted(good, tmp_path / "alaw.wav", "-e", "a-law", "-b", "8"),
        "24-bit 16 kHz": converted(good, tmp_path / "s24.wav", "-r", "16000", "-b", "24"),
    }
    floats = converted(good, tmp_path / "float.wav", "-e", "floating-point", "-b", "32")
    quiet = silence(tmp_path / "silent.wav", 30)
    too_long, _ = two_hour_call(good, tmp_path / "two-hours.wav")

    async with service_running(settings, engine) as service:
        files = [too_long, floats, quiet, *readable.values(), good]
        ids = {p: await service.enqueue_file(p) for p in files}
        jobs = {p: await wait_job(engine, finished, job_id=i) for p, i in ids.items()}
        assert len(service.worker_pids()) == 2  # no worker died

    for what, path in readable.items():
        assert jobs[path].status == JobStatus.done, (what, jobs[path].last_error)
        (transcript,) = transcripts_of(engine, ids[path])
        assert transcript.audio_seconds == pytest.approx(wav_seconds(good), abs=0.01), what
        assert transcript.words, f"{what}: no words heard"
    assert_well_formed(transcripts_of(engine, ids[good])[0], good)

    (nothing,) = transcripts_of(engine, ids[quiet])
    assert (jobs[quiet].status, nothing.text, nothing.words) == (JobStatus.done, "", [])
    assert nothing.audio_seconds == 30.0

    refused = {floats: "unsupported encoding (floating-point samples): PCM, A-law or µ-law "
                       "only",
               too_long: "2:00:00 long, more than the configured maximum of 1:00:00 "
                         "(stt.max_audio_seconds)"}
    for path, reason in refused.items():
        assert (jobs[path].status, jobs[path].attempts) == (JobStatus.failed, 1)
        assert jobs[path].last_error == f"{path}: {reason}"
        assert transcripts_of(engine, ids[path]) == []


async def test_given_a_two_hour_call_when_transcribed_then_done_once_with_words_at_both_ends(
    tmp_path: Path,
) -> None:
    # A lease far shorter than the job: it is done once only because the lease is renewed.
    settings = stt_settings(tmp_path, workers=2, poll_seconds=60, lease_seconds=1.0)
    engine = migrated(settings)
    speech = speak(SENTENCE, tmp_path / "speech.wav")
    call, second_from = two_hour_call(speech, tmp_path / "two-hours.wav")
    short = speak("네", tmp_path / "short.wav")

    async with service_running(settings, engine) as service:
        long_id = await service.enqueue_file(call)
        short_id = await service.enqueue_file(short)
        short_job = await wait_job(engine, finished, job_id=short_id)
        long_job = await wait_job(engine, finished, job_id=long_id)

    assert short_job.status == JobStatus.done  # taken by the other worker meanwhile
    assert (long_job.status, long_job.attempts) == (JobStatus.done, 1), long_job.last_error
    (transcript,) = transcripts_of(engine, long_id)
    assert transcript.audio_seconds == TWO_HOURS
    starts = [w["start"] for w in transcript.words]
    assert starts == sorted(starts)
    speech_seconds = wav_seconds(speech)
    first = [w for w in transcript.words if w["end"] <= speech_seconds + 0.05]
    second = [w for w in transcript.words if w["start"] >= second_from - 0.05]
    assert first and second, transcript.words
    assert len(first) + len(second) == len(transcript.words)  # nothing heard in the silence
    assert max(w["end"] for w in second) <= TWO_HOURS + 0.05
    assert transcript.text.split() == [w["word"] for w in transcript.words]
