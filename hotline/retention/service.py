"""The retention clean-up: what is older than its period goes, once planned and shown.

Call records (with their IVR steps) older than ``call_days``, recordings (the file, its
transcription job and transcript, the row) older than ``recording_days``, and files in the
exports folder last written more than ``export_days`` ago, with the scheduled reports
generated that long ago (their files, and their rows marked removed: ``oversight.generated``).

**Open tickets keep their evidence.** A recording or call record whose call is the source of a
ticket that is not finished is never deleted, however old: finished means closed (办结),
archived (归档) or handed to 110/119/120/122 (transferred); a merged ticket (合并) counts as its
parent does. An outbound call (``hotline-ob-<attempt id>``: a survey's recorded comment; an
agent's click-to-call ``hotline-ag-…``, named by its attempt's channel) counts as the ticket it
was made for (``outbound_call.ticket_id``); a queue call-back counts as the ticket the seat took
on it (its channel is the ticket's call). Such items are counted as kept,
and go at the first clean-up after the ticket is finished. Audit entries name recordings by id
and path without a key, so they outlive them.

    plan = plan_cleanup(session=s, settings=settings.retention, now=now,
                        recordings_root=settings.recordings_dir, exports_dir=exports)
    report = run_cleanup(engine=engine, ..., dry_run=False)   # deletes, then logs the counts
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, or_
from sqlmodel import Session, col, select

from hotline.audit import store as audit
from hotline.audit.models import AuditAction
from hotline.calls.models import Call, IvrStep, Recording
from hotline.db import session_scope
from hotline.outbound.ami import attempt_of
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.oversight.generated import expired_reports, remove_reports
from hotline.retention.periods import effective
from hotline.retention.settings import RetentionSettings
from hotline.stt.models import Transcript, TranscriptionJob
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket

FINISHED = frozenset({Status.CLOSED.value, Status.ARCHIVED.value, Status.TRANSFERRED.value})
CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    kind: str  # call / recording / export
    name: str  # the call's unique id, the recording's path, the export's path
    at: datetime  # when it started or was last written
    size: int = 0  # bytes on disk (0 for call records)
    id: int | None = None


@dataclass
class Plan:
    now: datetime
    settings: RetentionSettings
    calls: list[Item] = field(default_factory=list)
    recordings: list[Item] = field(default_factory=list)
    exports: list[Item] = field(default_factory=list)
    reports: list[Item] = field(default_factory=list)  # scheduled reports (their folder)
    kept_calls: int = 0  # old enough, held by an open ticket
    kept_recordings: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "calls": len(self.calls), "recordings": len(self.recordings),
            "recording_bytes": sum(i.size for i in self.recordings),
            "exports": len(self.exports), "export_bytes": sum(i.size for i in self.exports),
            "reports": len(self.reports),
            "kept_calls": self.kept_calls, "kept_recordings": self.kept_recordings,
        }


@dataclass
class Report:
    plan: Plan
    dry_run: bool
    errors: list[str] = field(default_factory=list)  # files that could not be deleted
    audit_id: int | None = None

    def summary(self) -> dict[str, Any]:
        return {**self.plan.counts(), "dry_run": self.dry_run, "errors": len(self.errors)}


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def held_by_open_tickets(*, session: Session, uniqueids: Iterable[str]) -> set[str]:
    """Which of these calls are the source of a ticket that is not finished, or an outbound
    call (``hotline-ob-<attempt id>``) made for one."""
    held: set[str] = set()
    for chunk in _chunks(sorted(set(uniqueids))):
        rows = session.exec(select(Ticket.call_uniqueid, Ticket.status, Ticket.parent_id)
                            .where(col(Ticket.call_uniqueid).in_(chunk))).all()
        for uid, status, parent_id in rows:
            if uid and _is_open(session, status, parent_id):
                held.add(uid)
        held |= _held_outbound(session, chunk)
    return held


def _held_outbound(session: Session, uniqueids: list[str]) -> set[str]:
    """The outbound calls among ``uniqueids`` whose ticket is not finished: surveys and
    reminders by the attempt in their channel's name (``hotline-ob-<attempt id>``), agent
    call-backs (click-to-call, ``hotline-ag-…``) by the channel their attempt stored."""
    by_attempt = {a: uid for uid in uniqueids if (a := attempt_of(uid)) is not None}
    named = or_(col(OutboundAttempt.id).in_(list(by_attempt)),
                col(OutboundAttempt.uniqueid).in_(uniqueids))
    rows = session.exec(
        select(OutboundAttempt.id, OutboundAttempt.uniqueid, Ticket.status, Ticket.parent_id)
        .join(OutboundCall, col(OutboundCall.id) == OutboundAttempt.call_id)
        .join(Ticket, col(Ticket.id) == OutboundCall.ticket_id)
        .where(named)).all()
    held: set[str] = set()
    for attempt_id, channel, status, parent_id in rows:
        if not _is_open(session, status, parent_id):
            continue
        if attempt_id in by_attempt:
            held.add(by_attempt[attempt_id])
        if channel in uniqueids:
            held.add(channel)
    return held


def _is_open(session: Session, status: str, parent_id: int | None) -> bool:
    seen: set[int] = set()
    while status == Status.MERGED.value and parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = session.get(Ticket, parent_id)
        if parent is None:
            return False
        status, parent_id = parent.status, parent.parent_id
    return status not in FINISHED


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    # Rows are stored in UTC (SQLite hands them back naive): compare in UTC.
    return None if days is None else now.astimezone(UTC) - timedelta(days=days)


def _inside(root: Path, rel: str) -> Path | None:
    path = (root / rel).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def plan_cleanup(*, session: Session, settings: RetentionSettings, now: datetime,
                 recordings_root: Path, exports_dir: Path) -> Plan:
    plan = Plan(now=now, settings=settings)
    calls_before = _cutoff(now, settings.call_days)
    if calls_before is not None:
        old_calls = session.exec(select(Call.id, Call.uniqueid, Call.started_at).where(
            col(Call.started_at) < calls_before).order_by(col(Call.started_at))).all()
        held = held_by_open_tickets(session=session, uniqueids=(u for _, u, _ in old_calls))
        plan.calls = [Item("call", uid, started, id=cid)
                      for cid, uid, started in old_calls if uid not in held]
        plan.kept_calls = len(old_calls) - len(plan.calls)
    recordings_before = _cutoff(now, settings.recording_days)
    if recordings_before is not None:
        old = session.exec(select(Recording).where(col(Recording.started_at) < recordings_before)
                           .order_by(col(Recording.started_at))).all()
        held = held_by_open_tickets(session=session, uniqueids=(r.call_uniqueid for r in old))
        for rec in old:
            if rec.call_uniqueid in held:
                plan.kept_recordings += 1
                continue
            path = _inside(recordings_root, rec.path)
            size = path.stat().st_size if path is not None and path.is_file() else 0
            plan.recordings.append(Item("recording", rec.path, rec.started_at, size, rec.id))
    exports_before = _cutoff(now, settings.export_days)
    if exports_before is not None and exports_dir.is_dir():
        limit = exports_before.timestamp()
        for path in sorted(exports_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                if stat.st_mtime < limit:
                    plan.exports.append(Item(
                        "export", str(path.relative_to(exports_dir)),
                        datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size))
    if exports_before is not None:  # their rows too, files deleted or not
        plan.reports = [Item("report", r.folder, r.generated_at or now, sum(r.files.values()),
                             r.id) for r in expired_reports(
            session=session, before=exports_before, deleted=(i.name for i in plan.exports))]
    return plan


def apply_plan(*, session: Session, plan: Plan, recordings_root: Path,
               exports_dir: Path) -> list[str]:
    """Delete what the plan lists; files first, then rows. Returns the files that failed."""
    errors: list[str] = []
    for item in plan.recordings:
        path = _inside(recordings_root, item.name)
        errors.extend(_unlink(path, item.name))
    for ids in _chunks([i.id for i in plan.recordings if i.id is not None]):
        jobs = select(TranscriptionJob.id).where(col(TranscriptionJob.recording_id).in_(ids))
        session.execute(delete(Transcript).where(
            col(Transcript.recording_id).in_(ids) | col(Transcript.job_id).in_(jobs)))
        session.execute(delete(TranscriptionJob)
                        .where(col(TranscriptionJob.recording_id).in_(ids)))
        session.execute(delete(Recording).where(col(Recording.id).in_(ids)))
    for chunk in _chunks(plan.calls):
        session.execute(delete(IvrStep).where(
            col(IvrStep.call_uniqueid).in_([i.name for i in chunk])))
        session.execute(delete(Call).where(col(Call.id).in_([i.id for i in chunk])))
    for item in plan.exports:
        errors.extend(_unlink(_inside(exports_dir, item.name), item.name))
    errors += remove_reports(session=session, ids=[i.id for i in plan.reports if i.id],
                             exports_dir=exports_dir, now=plan.now)
    return errors


def _unlink(path: Path | None, name: str) -> list[str]:
    if path is None:
        return [f"{name}: outside its folder, not deleted"]
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return [f"{name}: {exc}"]
    return []


def run_cleanup(*, engine: Engine, settings: RetentionSettings, now: datetime,
                recordings_root: Path, exports_dir: Path, dry_run: bool,
                actor: str = "retention", role: str = "system") -> Report:
    """Plan, and unless ``dry_run`` delete and write the counts to the audit log. The periods
    set on the retention page override those of ``settings`` (``periods.effective``)."""
    with session_scope(engine) as session:
        settings = effective(session=session, base=settings)
        plan = plan_cleanup(session=session, settings=settings, now=now,
                            recordings_root=recordings_root, exports_dir=exports_dir)
        report = Report(plan=plan, dry_run=dry_run)
        if dry_run:
            return report
        report.errors = apply_plan(session=session, plan=plan, recordings_root=recordings_root,
                                   exports_dir=exports_dir)
        entry = audit.record_event(
            session=session, at=now, actor=actor, role=role, action=AuditAction.RETENTION,
            detail={**report.summary(), "days": {
                "calls": settings.call_days, "recordings": settings.recording_days,
                "exports": settings.export_days}, "failed": report.errors[:20]})
        report.audit_id = entry.id
    return report
