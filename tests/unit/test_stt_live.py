"""Where a recording starts in its live stream, and the check of the stream against the file
(``hotline.stt.live``): pure functions on bytes."""

from __future__ import annotations

import random

import pytest

from hotline.stt.errors import SttError
from hotline.stt.live import CHUNK_BYTES, PROBE_BYTES, _Check, _Fed, find_lead, first_sound


def noise(n_bytes: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n_bytes))


def test_first_sound_is_the_first_non_zero_sample() -> None:
    assert first_sound(bytes(10)) is None
    assert first_sound(bytes(6) + b"\x01\x00") == 6
    assert first_sound(bytes(7) + b"\x01") == 6  # the high byte of sample 3


def test_given_a_recording_after_a_lead_then_the_lead_is_found() -> None:
    recording = bytes(800) + noise(8000)  # silence, then sound, as after a beep
    stream = noise(2240, seed=2) + recording  # the spy heard the beep's time too
    assert find_lead(stream, recording[:3000]) == 2240


def test_given_too_little_sound_in_the_file_yet_then_the_lead_is_not_known() -> None:
    recording = bytes(4000) + noise(8000)
    assert find_lead(recording, recording[:4000 + PROBE_BYTES - 2]) is None
    assert find_lead(recording[:4000], recording[:6000]) is None  # the stream lags


def test_given_a_stream_that_started_after_the_recording_then_it_is_refused() -> None:
    recording = bytes(600) + noise(8000)
    with pytest.raises(SttError, match="started after"):
        find_lead(recording[400:], recording[:4000])  # its first samples are missing
    late = noise(8000, seed=3) * 70  # 35 s of stream, and the file's sound is not in it
    with pytest.raises(SttError, match="not in the stream"):
        find_lead(late, recording[:4000])


def test_given_a_stream_that_differs_from_the_file_then_it_is_refused() -> None:
    recording = bytes(1000) + noise(8000)
    stream = b"\x05\x00" * 500 + recording[1000:]  # not the silence the file holds
    with pytest.raises(SttError, match="differs"):
        find_lead(stream, recording[:4000])


def fed_with(audio: bytes) -> _Fed:
    fed = _Fed()
    for start in range(0, len(audio), CHUNK_BYTES):
        fed.add(audio[start:start + CHUNK_BYTES])
    return fed


def test_what_was_fed_matches_the_file_or_a_file_trimmed_at_its_end() -> None:
    audio = noise(CHUNK_BYTES * 3 + 1234)
    fed = fed_with(audio)
    assert fed.matches(audio)
    assert fed.matches(audio[:CHUNK_BYTES * 2 + 10])  # RECORD FILE trimmed a silence end
    assert not fed.matches(audio + b"\x00\x00")  # the file holds more than was fed
    changed = bytearray(audio)
    changed[CHUNK_BYTES + 5] ^= 1
    assert not fed.matches(bytes(changed))  # one sample differs


def test_the_stream_is_compared_with_the_file_and_where_it_lost_audio_is_named() -> None:
    recording = bytes(600) + noise(20000)
    check = _Check()
    check.stream += noise(1000, seed=4) + recording[:9000] + recording[9320:]  # 20 ms lost
    check.align(bytearray(recording[:6000]))
    assert check.lead == 1000
    check.compare(recording[:8000])
    assert check.agreed == 8000 and check.diverged_at is None
    check.compare(recording)
    assert check.diverged_at == 9000


def test_given_a_stream_without_the_recording_then_only_the_check_says_so() -> None:
    check = _Check()
    check.stream += noise(40000, seed=5)
    check.align(bytearray(bytes(600) + noise(20000)))
    assert check.lead is None and check.diverged_at is None  # not found yet: no verdict
    check.stream += noise(16000 * 31, seed=6)
    check.align(bytearray(bytes(600) + noise(20000)))
    assert check.diverged_at == 0 and "not in the stream" in (check.problem or "")
