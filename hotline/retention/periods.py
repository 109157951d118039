"""The retention periods in force: the settings' defaults, overridden by what was set on the
page (``RetentionPeriod`` rows). The clean-up reads them at each run, in the app and in
``hotline retention run`` alike, so a change holds from the next clean-up on.

    settings = effective(session=session, base=settings.retention)
    days = parse_form({"call_days": "400", "recording_days": "", "export_days": "30"})
    entry = change(session=session, base=settings.retention, days=days, at=now,
                   actor="sup", role="supervisor")   # one audit entry, old and new days
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, select

from hotline.audit import store as audit
from hotline.audit.models import AuditAction, AuditEntry
from hotline.errors import HotlineError
from hotline.retention.models import RetentionPeriod
from hotline.retention.settings import RetentionSettings

# kind (the audit log's and the clean-up report's word) -> (settings field, label on the page)
KINDS: dict[str, tuple[str, str]] = {
    "calls": ("call_days", "通话记录保留天数"),
    "recordings": ("recording_days", "录音保留天数"),
    "exports": ("export_days", "导出文件保留天数"),
}
MIN_DAYS = 1
MAX_DAYS = 3650  # ten years; longer is "keep forever" (the field left empty)


class RetentionPeriodError(HotlineError):
    """A period typed on the page is not a whole number of days in range."""

    error_id = "invalid-retention-period"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.field = field


def days_of(settings: RetentionSettings) -> dict[str, int | None]:
    return {kind: getattr(settings, name) for kind, (name, _) in KINDS.items()}


def effective(*, session: Session, base: RetentionSettings) -> RetentionSettings:
    """``base`` with the periods set on the page put in."""
    rows = session.exec(select(RetentionPeriod)).all()
    changes = {KINDS[r.kind][0]: r.days for r in rows if r.kind in KINDS}
    return base.model_copy(update=changes) if changes else base


def parse_days(field: str, raw: str) -> int | None:
    """A form field's value: empty keeps forever, else a whole number of days in range."""
    label = next(lbl for name, lbl in KINDS.values() if name == field)
    text = raw.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not MIN_DAYS <= int(text) <= MAX_DAYS:
        raise RetentionPeriodError(
            f"{label}须为 {MIN_DAYS} 到 {MAX_DAYS} 之间的整数天（留空为永久保存），"
            f"收到“{text[:20]}”", field=field)
    return int(text)


def parse_form(form: Mapping[str, str]) -> dict[str, int | None]:
    """The three periods of the form by kind; the first bad one raises."""
    return {kind: parse_days(name, form.get(name, "")) for kind, (name, _) in KINDS.items()}


def change(*, session: Session, base: RetentionSettings, days: Mapping[str, int | None],
           at: datetime, actor: str, role: str, client: str = "") -> AuditEntry | None:
    """Store the periods and log the change (old and new days of each kind); None when
    nothing changed (nothing stored, nothing logged)."""
    old = days_of(effective(session=session, base=base))
    new = {kind: days.get(kind, old[kind]) for kind in KINDS}
    if new == old:
        return None
    changed = [kind for kind in KINDS if old[kind] != new[kind]]
    for kind in changed:  # a kind left as it was keeps following the settings' default
        row = session.get(RetentionPeriod, kind) or RetentionPeriod(
            kind=kind, updated_at=at, updated_by=actor[:64])
        row.days, row.updated_at, row.updated_by = new[kind], at, actor[:64]
        session.add(row)
    session.flush()
    return audit.record_event(
        session=session, at=at, actor=actor, role=role, action=AuditAction.RETENTION_EDIT,
        client=client, detail={"old": old, "new": new, "changed": changed})
