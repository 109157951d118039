"""The demo caller behind ``hotline call``: a real SIP call with the project's soft phone.

It calls the hotline as the open caller ``demo``, presses each key once the prompt before it
has finished (the line has gone quiet), speaks a message (a WAV file, or text through
espeak-ng) after the beep and ends it with ``#``, waits for the end and returns the call's
record as the controller stored it.

Example::

    record = place_demo_call(settings, to="12345", keys="2", text="路灯坏了，请派人修理。")
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline.calls.store import CallStore, call_as_dict
from hotline.config import Settings
from hotline.db import make_engine, migrate
from hotline.errors import PhoneError
from hotline.ivr.ports import Prompt
from hotline.prompts.store import PromptStore
from hotline.telephony.phone import PhoneCall, SoftPhone, rms, wav_to_phone_audio

QUIET_RMS = 3  # 8-bit samples centred at 128: prompts are far above this


def wait_for_quiet(call: PhoneCall, *, quiet: float = 1.2, timeout: float = 90) -> None:
    """Wait until something was heard and then the line stayed quiet for ``quiet`` seconds."""
    start = time.monotonic()
    heard = False
    while time.monotonic() - start < timeout:
        if call.ended_at is not None:
            raise PhoneError("the hotline hung up before the next key could be pressed")
        now = time.monotonic()
        recent = call.received_audio(since=now - quiet)
        if rms(recent) > QUIET_RMS:
            heard = True
        elif heard and now - start > quiet:
            return
        time.sleep(0.1)
    raise PhoneError(f"the line did not go quiet within {timeout} s")


def speech_audio(settings: Settings, *, wav: Path | None, text: str | None) -> bytes | None:
    if wav is not None:
        return wav_to_phone_audio(wav)
    if text:
        with tempfile.TemporaryDirectory() as tmp:
            store = PromptStore(folder=Path(tmp), voice=settings.prompts.voice,
                                speed=settings.prompts.speed, asterisk_folder=tmp)
            return wav_to_phone_audio(store.ensure(Prompt(text=text)))
    return None


def place_demo_call(settings: Settings, *, to: str, keys: str = "", wav: Path | None = None,
                    text: str | None = None, max_seconds: float = 180) -> dict[str, Any] | None:
    """Call, key through, speak, wait for the end; return the stored call record (or None)."""
    audio = speech_audio(settings, wav=wav, text=text)
    started = datetime.now(UTC)
    with SoftPhone(user="demo", password=None, server=settings.sip.bind_host,
                   server_port=settings.sip.port) as phone:
        call = phone.call(to, timeout=15)
        for key in keys:
            wait_for_quiet(call)
            call.send_dtmf(key)
        if audio is not None:
            wait_for_quiet(call)  # the message prompt, then the beep
            call.play(audio)
            call.send_dtmf("#")
        try:
            call.wait_until_ended(timeout=max_seconds)
        except PhoneError:
            call.hangup()
    return _stored_record(settings, started)


def _stored_record(settings: Settings, started: datetime) -> dict[str, Any] | None:
    engine = make_engine(settings.db_url)
    migrate(engine)
    store = CallStore(engine)
    deadline = time.monotonic() + 20
    found: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        for view in store.recent(limit=20):
            when = view.call.started_at.replace(tzinfo=view.call.started_at.tzinfo or UTC)
            if view.call.caller_number == "demo" and when >= started.replace(microsecond=0):
                found = call_as_dict(view, recordings_root=str(settings.recordings_dir))
                done = view.call.ended_at is not None and all(r.complete for r in
                                                              view.recordings)
                if done:
                    engine.dispose()
                    return found
        time.sleep(0.3)
    engine.dispose()
    return found
