"""Recording files: integrity check, names, levels, and knowing when Asterisk finished one."""

from __future__ import annotations

import asyncio
import math
import wave
from datetime import datetime
from pathlib import Path

import pytest

from hotline.recording.files import (
    inspect,
    parse_name,
    relative_path,
    rms_level,
    wait_until_settled,
)

RATE = 8000


def write_wav(path: Path, samples: list[int], *, rate: int = RATE, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(b"".join(s.to_bytes(width, "little", signed=width > 1) for s in samples))
    return path


def silence(seconds: float) -> list[int]:
    return [0] * int(RATE * seconds)


def tone(seconds: float, *, amplitude: float = 0.5, hz: float = 440.0) -> list[int]:
    return [int(amplitude * 32767 * math.sin(2 * math.pi * hz * n / RATE))
            for n in range(int(RATE * seconds))]


# ---- inspect ---------------------------------------------------------------------------------


def test_given_good_8khz_wav_when_inspected_then_size_and_duration_and_no_problem(
    tmp_path: Path,
) -> None:
    path = write_wav(tmp_path / "good.wav", silence(1.5))

    info = inspect(path)

    assert info.size_bytes == 44 + 2 * 12000
    assert info.duration_seconds == pytest.approx(1.5)
    assert info.problem is None


def test_given_empty_file_when_inspected_then_problem_says_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")

    info = inspect(path)

    assert info.size_bytes == 0
    assert info.duration_seconds is None
    assert info.problem is not None and info.problem.startswith("not a readable WAV file")


def test_given_truncated_file_when_inspected_then_problem_says_how_much_is_missing(
    tmp_path: Path,
) -> None:
    path = write_wav(tmp_path / "cut.wav", tone(1.0))
    path.write_bytes(path.read_bytes()[:8044])  # the header still promises 1 s

    info = inspect(path)

    assert info.size_bytes == 8044
    assert info.problem == "truncated: header says 16044 bytes, file has 8044"


def test_given_text_file_when_inspected_then_problem_says_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("这不是录音文件\n" * 20)

    info = inspect(path)

    assert info.duration_seconds is None
    assert info.problem is not None and info.problem.startswith("not a readable WAV file")


def test_given_missing_file_when_inspected_then_problem_says_missing(tmp_path: Path) -> None:
    info = inspect(tmp_path / "gone.wav")

    assert info.size_bytes == 0
    assert info.problem is not None and info.problem.startswith("missing")


# ---- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("1795501598.2-full.wav", ("1795501598.2", "full")),
        ("1795501598.2-caller.wav", ("1795501598.2", "caller")),
        ("1795501598.12-message_2.wav", ("1795501598.12", "message_2")),
        ("notes.wav", None),
        ("1795501598-full.wav", None),  # a unique id has a dot
        ("1795501598.2-full.gsm", None),
        ("1795501598.2-.wav", None),
        ("1795501598.2-full.wav.tmp", None),
    ],
)
def test_given_file_name_when_parsed_then_uniqueid_and_kind_or_none(
    name: str, parsed: tuple[str, str] | None
) -> None:
    assert parse_name(Path("/recordings/2026/11/24") / name) == parsed


def test_given_call_when_naming_recording_then_day_folder_and_kind_are_used() -> None:
    path = relative_path(uniqueid="1795501598.2", when=datetime(2026, 11, 24, 6, 26),
                         kind="caller")

    assert path == "2026/11/24/1795501598.2-caller.wav"
    assert parse_name(Path(path)) == ("1795501598.2", "caller")


# ---- levels ----------------------------------------------------------------------------------


def test_given_silence_and_a_tone_when_measuring_rms_then_tone_is_loud_and_silence_zero(
    tmp_path: Path,
) -> None:
    quiet = write_wav(tmp_path / "quiet.wav", silence(1.0))
    loud = write_wav(tmp_path / "loud.wav", tone(1.0, amplitude=0.5))

    assert rms_level(quiet) == 0.0
    assert rms_level(loud) == pytest.approx(0.5 / math.sqrt(2), rel=0.02)


def test_given_tone_after_silence_when_measuring_a_window_then_only_that_window_counts(
    tmp_path: Path,
) -> None:
    path = write_wav(tmp_path / "mixed.wav", silence(1.0) + tone(1.0, amplitude=0.25))

    assert rms_level(path, start=0.0, end=1.0) == 0.0
    assert rms_level(path, start=1.0) == pytest.approx(0.25 / math.sqrt(2), rel=0.02)
    assert rms_level(path, start=5.0) == 0.0  # past the end


def test_given_8_bit_wav_when_measuring_rms_then_value_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "u8.wav", [128] * 800, width=1)

    with pytest.raises(ValueError, match="16-bit"):
        rms_level(path)


# ---- settling --------------------------------------------------------------------------------


async def test_given_file_stops_growing_when_waiting_then_settled(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"

    async def asterisk_writes() -> None:
        for _ in range(5):
            with path.open("ab") as f:
                f.write(b"\0" * 320)
            await asyncio.sleep(0.02)

    writer = asyncio.create_task(asterisk_writes())
    settled = await wait_until_settled(path, settle=0.15, timeout=3.0)
    await writer

    assert settled is True
    assert path.stat().st_size == 5 * 320


async def test_given_file_keeps_growing_when_waiting_then_not_settled_at_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.wav"
    stop = asyncio.Event()

    async def asterisk_writes() -> None:
        while not stop.is_set():
            with path.open("ab") as f:
                f.write(b"\0" * 320)
            await asyncio.sleep(0.01)

    writer = asyncio.create_task(asterisk_writes())
    try:
        started = asyncio.get_running_loop().time()
        settled = await wait_until_settled(path, settle=0.3, timeout=0.6)
        waited = asyncio.get_running_loop().time() - started
    finally:
        stop.set()
        await writer

    assert settled is False
    assert 0.5 <= waited < 1.5


async def test_given_file_never_appears_when_waiting_then_not_settled(tmp_path: Path) -> None:
    assert await wait_until_settled(tmp_path / "never.wav", settle=0.05, timeout=0.3) is False
