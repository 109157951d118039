"""Writing and reading the audit log, keyword-only with the session passed in.

    record(session=session, at=now, actor="sup", role="supervisor",
           action=AuditAction.PLAY, recording=rec, client="10.0.0.5")
    entries = latest(session=session, limit=100)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from hotline.audit.models import AuditAction, AuditEntry
from hotline.calls.models import Recording


def record(*, session: Session, at: datetime, actor: str, role: str, action: AuditAction,
           recording: Recording, client: str = "") -> AuditEntry:
    entry = AuditEntry(at=at, actor=actor[:64], role=role, action=action.value,
                       recording_id=recording.id, call_uniqueid=recording.call_uniqueid,
                       path=recording.path, client=client[:64])
    session.add(entry)
    session.flush()
    return entry


def record_event(*, session: Session, at: datetime, actor: str, role: str,
                 action: AuditAction, call_uniqueid: str = "", client: str = "",
                 detail: dict[str, Any] | None = None, path: str = "") -> AuditEntry:
    """An entry not about a recording: a monitoring session, a retention clean-up, an export."""
    entry = AuditEntry(at=at, actor=actor[:64], role=role, action=action.value,
                       call_uniqueid=call_uniqueid[:64], client=client[:64], detail=detail,
                       path=path[:512])
    session.add(entry)
    session.flush()
    return entry


def close_event(*, session: Session, entry_id: int, ended_at: datetime,
                detail: dict[str, Any] | None = None) -> AuditEntry | None:
    """Set the end of a session entry once (a later call keeps the first end)."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None or entry.ended_at is not None:
        return entry
    entry.ended_at = ended_at
    if detail:
        entry.detail = {**(entry.detail or {}), **detail}
    session.add(entry)
    session.flush()
    return entry


def latest(*, session: Session, limit: int = 100, actor: str | None = None,
           recording_id: int | None = None,
           actions: list[AuditAction] | None = None) -> list[AuditEntry]:
    """Newest first."""
    statement = select(AuditEntry)
    if actions:
        statement = statement.where(col(AuditEntry.action).in_([a.value for a in actions]))
    if actor:
        statement = statement.where(col(AuditEntry.actor) == actor)
    if recording_id is not None:
        statement = statement.where(col(AuditEntry.recording_id) == recording_id)
    statement = statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(statement.limit(max(1, min(limit, 500)))).all())


def played_since(*, session: Session, actor: str, recording_id: int, since: datetime) -> bool:
    """Whether ``actor`` has a play of the recording logged at or after ``since``."""
    return session.exec(
        select(AuditEntry.id).where(
            col(AuditEntry.actor) == actor[:64], col(AuditEntry.recording_id) == recording_id,
            col(AuditEntry.action) == AuditAction.PLAY.value, col(AuditEntry.at) >= since)
        .limit(1)
    ).first() is not None


LISTENING = timedelta(minutes=30)  # a seek within this of a logged play belongs to it
