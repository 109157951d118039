"""Finding recordings to listen to: search by ticket, caller number, day and unit, with the
tickets of each call and the transcript with word times.

    found = search(session=session, query=RecordingQuery(caller="5678", day=date(2026, 11, 23)),
                   tz=ZoneInfo("Asia/Shanghai"))

Only recordings with sound are listed: a zero-length file (a call hung up before anything was
recorded, or a header with no samples) never shows, nor one whose length is still unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from hotline.calls.models import Call, Recording
from hotline.stt.models import Transcript
from hotline.tickets.models import Ticket, Unit

WAV_HEADER_BYTES = 44


@dataclass(frozen=True)
class RecordingQuery:
    ticket: str = ""  # a ticket number, whole (YYYYMMDD-NNNNN)
    caller: str = ""  # the caller's number or its last digits
    day: date | None = None  # the day the recording started, on the center's clock
    unit: str = ""  # the main unit of a ticket of the call
    limit: int = 50


@dataclass(frozen=True)
class FoundRecording:
    recording: Recording
    caller: str
    tickets: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)


def audible() -> ColumnElement[bool]:
    """Recordings with sound: complete, longer than zero and more than a bare header."""
    return (col(Recording.complete).is_(True) & (col(Recording.duration_seconds) > 0)
            & (col(Recording.size_bytes) > WAV_HEADER_BYTES))


def search(*, session: Session, query: RecordingQuery, tz: ZoneInfo) -> list[FoundRecording]:
    """Newest first, at most ``query.limit``."""
    conditions = [audible()]
    if query.ticket or query.unit:
        calls = select(col(Ticket.call_uniqueid)).where(col(Ticket.call_uniqueid).is_not(None))
        if query.ticket:
            calls = calls.where(col(Ticket.number) == query.ticket.strip())
        if query.unit:
            calls = calls.join(Unit, col(Unit.id) == col(Ticket.main_unit_id)).where(
                col(Unit.name) == query.unit)
        conditions.append(col(Recording.call_uniqueid).in_(calls))
    if query.caller.strip():
        digits = query.caller.strip()
        conditions.append(col(Recording.call_uniqueid).in_(
            select(col(Call.uniqueid)).where(col(Call.caller_number).endswith(digits))))
    if query.day is not None:
        start = datetime.combine(query.day, time(), tzinfo=tz)
        conditions += [col(Recording.started_at) >= start,
                       col(Recording.started_at) < start + timedelta(days=1)]
    rows = session.exec(select(Recording).where(*conditions).order_by(
        col(Recording.started_at).desc(), col(Recording.id).desc())
        .limit(max(1, min(query.limit, 200)))).all()
    return _with_calls(session, list(rows))


def _with_calls(session: Session, rows: list[Recording]) -> list[FoundRecording]:
    uids = {r.call_uniqueid for r in rows}
    callers = dict(session.exec(select(Call.uniqueid, Call.caller_number)
                                .where(col(Call.uniqueid).in_(uids))).all()) if uids else {}
    tickets: dict[str, list[tuple[str, str]]] = {}
    if uids:
        for uid, number, unit in session.exec(
                select(Ticket.call_uniqueid, Ticket.number, Unit.name)
                .join(Unit, col(Unit.id) == col(Ticket.main_unit_id), isouter=True)
                .where(col(Ticket.call_uniqueid).in_(uids))
                .order_by(col(Ticket.number))).all():
            tickets.setdefault(uid or "", []).append((number, unit or ""))
    return [FoundRecording(recording=r, caller=callers.get(r.call_uniqueid, ""),
                           tickets=[n for n, _ in tickets.get(r.call_uniqueid, [])],
                           units=sorted({u for _, u in tickets.get(r.call_uniqueid, []) if u}))
            for r in rows]


def get_audible(*, session: Session, recording_id: int) -> FoundRecording | None:
    """The recording if it is listed (has sound), with its call's caller and tickets."""
    row = session.exec(select(Recording).where(
        col(Recording.id) == recording_id, audible())).first()
    return _with_calls(session, [row])[0] if row is not None else None


def transcript_words(*, session: Session, recording_id: int) -> list[dict[str, Any]]:
    """The words of the recording's newest transcript, in time order: ``word``, ``start``,
    ``end`` (seconds of audio). Empty when it has not been transcribed."""
    row = session.exec(select(Transcript).where(col(Transcript.recording_id) == recording_id)
                       .order_by(col(Transcript.id).desc())).first()
    if row is None:
        return []
    words = [w for w in row.words if isinstance(w, dict) and "word" in w and "start" in w]
    return sorted(({"word": str(w["word"]), "start": float(w["start"]),
                    "end": float(w.get("end", w["start"]))} for w in words),
                  key=lambda w: w["start"])
