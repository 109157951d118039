"""Recorded calls for the recordings pages: a real WAV in the recordings folder, the call and
recording rows, a ticket of the call and a transcript with word times, made through the app's
own store functions (``CallStore.add_recording_sync``, ``recording.files.inspect``, the
transcription queue's ``claim_recording`` and ``complete``, ``tickets.service``).

    made = add_recorded_call(engine, root, uniqueid="1700000000.1", caller="13812345678",
                             started=now, unit="市城管局", words=WORDS)
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from hotline.calls.models import Call, Recording
from hotline.calls.store import CallStore
from hotline.db import session_scope
from hotline.recording.files import inspect, relative_path
from hotline.stt import queue
from hotline.tickets.models import TicketCreate, TicketType
from hotline.tickets.service import create_ticket, dispatch

RATE = 8000
# (word, start, end) in seconds: what the caller says in the test recording
WORDS = [("你好", 0.2, 0.6), ("解放路", 0.7, 1.3), ("路灯", 1.4, 1.8), ("不亮", 1.9, 2.4),
         ("了", 2.5, 2.7)]


def write_wav(path: Path, *, seconds: float) -> None:
    """A 16-bit mono 8 kHz tone (silence would be as good; a tone is audible in a test run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / RATE)))
                      for i in range(int(seconds * RATE)))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(frames)


@dataclass(frozen=True)
class RecordedCall:
    recording_id: int
    path: Path
    ticket: str | None


def add_recorded_call(engine: Engine, root: Path, *, uniqueid: str, caller: str,
                      started: datetime, unit: str | None = None, seconds: float = 3.0,
                      words: list[tuple[str, float, float]] | None = None,
                      kind: str = "full") -> RecordedCall:
    relative = relative_path(uniqueid=uniqueid, when=started, kind=kind)
    path = root / relative
    write_wav(path, seconds=seconds)
    info = inspect(path)
    with session_scope(engine) as session:
        session.add(Call(uniqueid=uniqueid, linkedid=uniqueid, caller_number=caller,
                         started_at=started, answered_at=started, ended_at=started))
        rec: Recording = CallStore.add_recording_sync(session, uniqueid, kind=kind,
                                                      path=relative, started_at=started)
        rec.size_bytes, rec.duration_seconds = info.size_bytes, info.duration_seconds
        rec.problem, rec.complete = info.problem, True
        session.add(rec)
        session.flush()
        assert rec.id is not None
        if words is not None:
            claim = queue.claim_recording(session=session, recording_id=rec.id,
                                          audio_path=relative, language="zh",
                                          lease_seconds=60, owner="tests", now=started)
            assert claim is not None
            queue.complete(session=session, claim=claim, now=started, transcript={
                "model_name": "test", "text": " ".join(w for w, _, _ in words),
                "words": [{"word": w, "start": s, "end": e, "conf": 1.0} for w, s, e in words],
                "audio_seconds": seconds, "processing_seconds": 0.1})
        number = None
        if unit is not None:
            ticket = create_ticket(session=session, draft=TicketCreate(
                caller_phone=caller, request_type=TicketType.HELP, location="解放路",
                description="解放路路灯不亮", call_uniqueid=uniqueid), now=started, actor="op")
            assert ticket.id is not None
            dispatch(session=session, ticket_id=ticket.id, main_unit=unit, actor="op",
                     now=started)
            number = ticket.number
        return RecordedCall(recording_id=rec.id, path=path, ticket=number)
