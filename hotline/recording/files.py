"""Recording files: where they live, whether they are whole, when they are finished.

Asterisk writes ``recordings/YYYY/MM/DD/<uniqueid>-<kind>.wav``: ``full`` (both sides, by
MixMonitor), ``caller`` (the caller's side alone) and ``<name>`` for each message a ``record``
node took. A recording is complete once its call has hung up and the file stopped growing.
"""

from __future__ import annotations

import asyncio
import re
import time
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

NAME_RE = re.compile(r"^(?P<uniqueid>\d+\.\d+)-(?P<kind>[A-Za-z0-9_]+)\.wav$")
STANDARD_KINDS = ("full", "caller")


def day_folder(when: datetime) -> str:
    return when.strftime("%Y/%m/%d")


def relative_path(*, uniqueid: str, when: datetime, kind: str) -> str:
    return f"{day_folder(when)}/{uniqueid}-{kind}.wav"


def parse_name(path: Path) -> tuple[str, str] | None:
    """``(uniqueid, kind)`` of a recording file name, or None if it is not one of ours."""
    match = NAME_RE.match(path.name)
    return (match["uniqueid"], match["kind"]) if match else None


@dataclass(frozen=True)
class AudioInfo:
    size_bytes: int
    duration_seconds: float | None
    problem: str | None  # None when the file is a readable WAV


def inspect(path: Path) -> AudioInfo:
    """Size, duration and, for a broken file, what is wrong with it (never raises)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return AudioInfo(0, None, f"missing: {exc.strerror}")
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            expected = 44 + frames * wav.getsampwidth() * wav.getnchannels()
    except (wave.Error, EOFError, OSError) as exc:
        return AudioInfo(size, None, f"not a readable WAV file: {exc}")
    if rate <= 0:
        return AudioInfo(size, None, "WAV header has a zero sample rate")
    problem = None
    if size + 1 < expected:
        problem = f"truncated: header says {expected} bytes, file has {size}"
    elif size > expected + 64:
        # Asterisk writes the sizes into the header when it closes the file.
        problem = f"header not finalised: it says {expected} bytes, file has {size}"
    return AudioInfo(size, frames / rate, problem)


async def wait_until_settled(path: Path, *, settle: float, timeout: float) -> bool:
    """Wait until ``path`` exists and its size has not changed for ``settle`` seconds."""
    deadline = time.monotonic() + timeout
    last_size, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            size = path.stat().st_size  # noqa: ASYNC240 - one stat per poll
        except FileNotFoundError:
            size = -1
        now = time.monotonic()
        if size != last_size:
            last_size, stable_since = size, now
        elif size >= 0 and now - stable_since >= settle:
            return True
        await asyncio.sleep(min(0.25, settle / 3))
    return False


def rms_level(path: Path, *, start: float = 0.0, end: float | None = None) -> float:
    """Root-mean-square level (0..1) of a 16-bit mono WAV, between two times in seconds."""
    import array

    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples")
        rate = wav.getframerate()
        wav.setpos(min(int(start * rate), wav.getnframes()))
        count = wav.getnframes() - wav.tell() if end is None else int((end - start) * rate)
        data = wav.readframes(max(count, 0))
    samples = array.array("h", data)
    if not samples:
        return 0.0
    return float((sum(s * s for s in samples) / len(samples)) ** 0.5 / 32768.0)
