"""WAV files read for recognition: formats made 16-bit mono at the model's rate, resampling
(audioop.ratecv) checked against the analytic signal, broken files refused by name."""

from __future__ import annotations

import array
import math
import struct
import tracemalloc
import wave
from pathlib import Path

import pytest

from hotline.stt.audio import duration, is_silent, pcm_chunks, read_pcm, read_wav_info
from hotline.stt.errors import AudioError, SttError

AMPLITUDE = 10000


def tone(rate: int, seconds: float, *, freq: float = 300.0, amplitude: int = AMPLITUDE,
         phase: float = 0.0) -> array.array[int]:
    count = int(rate * seconds)
    return array.array("h", (round(amplitude * math.sin(2 * math.pi * freq * i / rate + phase))
                             for i in range(count)))


def write_wav(path: Path, frames: bytes, *, rate: int, channels: int = 1, width: int = 2
              ) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def samples(pcm: bytes) -> array.array[int]:
    out = array.array("h")
    out.frombytes(pcm)
    return out


def test_given_8khz_audio_when_read_at_16khz_then_twice_as_many_samples_on_the_same_curve(
    tmp_path: Path,
) -> None:
    source = tone(8000, 1.0)
    path = write_wav(tmp_path / "tel.wav", source.tobytes(), rate=8000)

    out = samples(read_pcm(path, rate=16000))

    assert abs(len(out) - 2 * len(source)) <= 1
    # ratecv interpolates linearly: compare with the tone itself at 16 kHz, allowing the
    # converter a delay of up to one input sample.
    errors = {}
    for lag in range(3):
        ideal = tone(16000, len(out) / 16000, phase=-2 * math.pi * 300 * lag / 16000)
        errors[lag] = max(abs(a - b) for a, b in zip(out, ideal, strict=False))
    assert min(errors.values()) < 0.03 * AMPLITUDE
    assert max(abs(s) for s in out) <= AMPLITUDE + 1


def test_given_audio_at_the_model_rate_when_read_then_unchanged(tmp_path: Path) -> None:
    source = tone(16000, 0.5).tobytes()
    assert read_pcm(write_wav(tmp_path / "wide.wav", source, rate=16000), rate=16000) == source


def test_given_stereo_when_read_then_both_channels_mixed(tmp_path: Path) -> None:
    left, right = tone(8000, 0.2), tone(8000, 0.2, freq=500, amplitude=4000)
    frames = array.array("h", (s for pair in zip(left, right, strict=True) for s in pair))
    path = write_wav(tmp_path / "stereo.wav", frames.tobytes(), rate=8000, channels=2)

    out = samples(read_pcm(path, rate=8000))

    assert len(out) == len(left)
    assert all(abs(o - (a + b) / 2) <= 1 for o, a, b in zip(out, left, right, strict=True))


def test_given_8_bit_unsigned_audio_when_read_then_centred_16_bit(tmp_path: Path) -> None:
    source = tone(8000, 0.1, amplitude=100)
    path = write_wav(tmp_path / "u8.wav", bytes(s + 128 for s in source), rate=8000, width=1)

    out = samples(read_pcm(path, rate=8000))

    assert list(out) == [s * 256 for s in source]


def test_given_small_chunks_when_streamed_then_the_same_audio_as_one_read(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "tel.wav", tone(8000, 1.3).tobytes(), rate=8000)
    info = read_wav_info(path)

    small = b"".join(pcm_chunks(info, rate=16000, seconds=0.013))

    assert small == b"".join(pcm_chunks(info, rate=16000, seconds=10))


def test_given_a_header_never_finalised_when_read_then_the_audio_runs_to_the_end(
    tmp_path: Path,
) -> None:
    source = tone(8000, 0.25).tobytes()
    path = write_wav(tmp_path / "open.wav", source, rate=8000)
    raw = bytearray(path.read_bytes())
    data_at = raw.index(b"data")
    raw[data_at + 4 : data_at + 8] = struct.pack("<I", 0)  # as a recorder leaves it
    path.write_bytes(bytes(raw))

    info = read_wav_info(path)

    assert info.frames == len(source) // 2
    assert read_pcm(path, rate=8000) == source


def test_given_a_truncated_wav_when_read_then_refused_naming_the_file(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", tone(8000, 1.0).tobytes(), rate=8000)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(AudioError) as caught:
        read_wav_info(path)

    assert str(path) in str(caught.value)
    assert "truncated" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"this is not audio at all", "no RIFF/WAVE header"),
        (b"RIFF\x00\x00\x00\x00WAVE", "no 'fmt ' chunk"),
    ],
)
def test_given_a_file_that_is_not_a_wav_when_read_then_refused_with_the_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "upload.wav"
    path.write_bytes(content)

    with pytest.raises(AudioError) as caught:
        read_wav_info(path)

    assert str(caught.value).startswith(f"{path}: ")
    assert reason in str(caught.value)


def test_given_a_zero_sample_rate_when_read_then_refused(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "zero.wav", tone(8000, 0.1).tobytes(), rate=8000)
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", 0)  # the fmt chunk's sample rate
    path.write_bytes(bytes(raw))

    with pytest.raises(AudioError, match="sample rate of 0"):
        read_wav_info(path)


def test_given_a_wav_without_frames_when_read_then_empty_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", b"", rate=8000)
    info = read_wav_info(path)
    assert (info.frames, info.seconds) == (0, 0.0)
    assert read_pcm(path, rate=16000) == b""


def test_given_a_missing_file_when_read_then_an_error_worth_a_retry(tmp_path: Path) -> None:
    with pytest.raises(SttError) as caught:
        read_wav_info(tmp_path / "gone.wav")
    assert not isinstance(caught.value, AudioError)
    assert "gone.wav" in str(caught.value)


def sparse_wav(path: Path, *, seconds: int, rate: int = 8000) -> Path:
    """A WAV of ``seconds`` of digital silence written as a sparse file (no disk, no time)."""
    data_bytes = seconds * rate * 2
    with path.open("wb") as f:
        f.write(struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ",
                            16, 1, 1, rate, rate * 2, 2, 16, b"data", data_bytes))
        f.truncate(44 + data_bytes)
    return path


def test_given_a_two_hour_recording_when_streamed_then_never_more_than_a_chunk_in_memory(
    tmp_path: Path,
) -> None:
    path = sparse_wav(tmp_path / "two-hours.wav", seconds=2 * 3600)
    info = read_wav_info(path)
    assert info.seconds == 7200.0

    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in pcm_chunks(info, rate=16000, seconds=0.5))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert abs(total - 7200 * 16000 * 2) <= 4
    assert peak < 1_000_000  # the file is 115 MB; a chunk is 8 kB in, 16 kB out


@pytest.mark.parametrize("rate", [1, 3999, 192001, 4_000_000])
def test_given_a_sample_rate_no_recorder_makes_when_read_then_refused_naming_it(
    tmp_path: Path, rate: int
) -> None:
    path = write_wav(tmp_path / "odd.wav", tone(8000, 0.1).tobytes(), rate=8000)
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", rate)
    path.write_bytes(bytes(raw))

    with pytest.raises(AudioError) as caught:
        read_wav_info(path)

    assert str(caught.value) == f"{path}: unsupported sample rate {rate} Hz: 4000–192000 Hz only"


def test_given_float_samples_when_read_then_refused_naming_the_encoding(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "float.wav", tone(8000, 0.1).tobytes() * 2, rate=8000, width=4)
    raw = bytearray(path.read_bytes())
    raw[20:22] = struct.pack("<H", 3)  # WAVE_FORMAT_IEEE_FLOAT
    path.write_bytes(bytes(raw))

    with pytest.raises(AudioError, match="unsupported encoding \\(floating-point samples\\)"):
        read_wav_info(path)


def test_durations_are_written_as_hours_minutes_seconds() -> None:
    assert [duration(s) for s in (0, 59.6, 3600, 7322.2, 4 * 3600)] == [
        "0:00:00", "0:01:00", "1:00:00", "2:02:02", "4:00:00"]


def test_given_samples_below_the_level_then_silent() -> None:
    assert is_silent(b"", level=16)
    assert is_silent(array.array("h", [0, 15, -15]).tobytes(), level=16)
    assert not is_silent(array.array("h", [0, 16, 0]).tobytes(), level=16)
