"""The early warnings as notices on the consoles (the supervisor workspace, the unit inbox):
the warnings told recently, newest first, in Chinese. A unit handler sees those naming their
unit; the center's roles see all. ``web/static/console.js`` writes the same text for a warning
that arrives on the stream (``noticeText``).

    notices = recent_warnings(session=session, now=now, unit_id=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from hotline.oversight.alerts import HOT_TOPIC, REPEAT
from hotline.tickets.models import ChangeKind, TicketChange

SHOWN_FOR = timedelta(days=7)
MOST = 5


@dataclass(frozen=True)
class WarningNotice:
    action: str
    text: str
    number: str
    at: datetime


def notice_text(action: str, payload: dict[str, Any]) -> str:
    if action == HOT_TOPIC:
        return (f"预警：热点「{payload.get('topic', '')}」本期 {payload.get('now', 0)} 件"
                f"（上期 {payload.get('before', 0)} 件）")
    key = str(payload.get("key", ""))
    where = "同一来电人" if key.startswith("caller:") else \
        f"同一地点同类事项（{key.partition(':')[2]}）"
    return f"预警：重复诉求 {payload.get('size', 0)} 件，{where}"


def recent_warnings(*, session: Session, now: datetime, unit_id: int | None,
                    most: int = MOST) -> list[WarningNotice]:
    rows = session.exec(select(TicketChange).where(
        col(TicketChange.kind) == ChangeKind.ALERT.value,
        col(TicketChange.action).in_([HOT_TOPIC, REPEAT]),
        col(TicketChange.at) >= now - SHOWN_FOR, col(TicketChange.at) <= now,
    ).order_by(col(TicketChange.at).desc(), col(TicketChange.id).desc())).all()
    shown = [c for c in rows if unit_id is None or unit_id in (c.unit_ids or [])]
    return [WarningNotice(c.action, notice_text(c.action, c.payload), c.number, c.at)
            for c in shown[:most]]
