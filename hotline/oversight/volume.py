"""Ticket volume over a period, in steps, beside an earlier period (the one just before, or
the same dates a year before: ``analyses.earlier``), for the report's trend chart.

Steps: hours for a day, days up to 62 days, weeks (7 days from the period's first day) beyond.
Step ``i`` of the earlier period starts as far from its start as step ``i`` of the period from
its own (local wall time: the center's zone); a step is cut at its period's end. A ticket counts
in the step its ``created_at`` falls in, as in the analyses' totals.

    trend = ticket_volume(session=session, period=p, compare=Compare.LAST_YEAR)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from hotline.oversight.analyses import Compare, earlier
from hotline.oversight.definitions import Period, PeriodKind
from hotline.oversight.queries import run_rows
from hotline.tickets.models import Ticket

MAX_DAILY = 62


@dataclass(frozen=True)
class Step:
    label: str  # "09时", "11-23", "11-23起"
    now: int  # tickets created in the step of the period
    before: int  # … in the same step of the earlier period


@dataclass(frozen=True)
class Trend:
    period: Period
    earlier: Period
    compare: Compare
    steps: list[Step]


def _offsets(p: Period) -> tuple[list[timedelta], str]:
    span = p.end - p.start
    if p.kind is PeriodKind.DAY:
        step, unit = timedelta(hours=1), "hour"
    elif span <= timedelta(days=MAX_DAILY):
        step, unit = timedelta(days=1), "day"
    else:
        step, unit = timedelta(days=7), "week"
    out, at = [], timedelta(0)
    while at < span:
        out.append(at)
        at += step
    return out + [span], unit


def _label(at: datetime, unit: str) -> str:
    if unit == "hour":
        return f"{at.hour:02d}时"
    return at.strftime("%m-%d") + ("起" if unit == "week" else "")


def _counts(session: Session, start: datetime, end: datetime,
            offsets: list[timedelta]) -> list[int]:
    bounds = [min(start + o, end) for o in offsets]
    created = col(Ticket.created_at)
    sums = [func.coalesce(func.sum(case((and_(created >= a, created < b), 1), else_=0)), 0)
            for a, b in zip(bounds, bounds[1:], strict=False)]
    row = run_rows(session, core_select(*sums).where(created >= start, created < end))[0]
    return [int(n) for n in row]


def ticket_volume(*, session: Session, period: Period,
                  compare: Compare = Compare.PREVIOUS) -> Trend:
    before = earlier(period, compare)
    offsets, unit = _offsets(period)
    now_counts = _counts(session, period.start, period.end, offsets)
    before_counts = _counts(session, before.start, before.end, offsets)
    steps = [Step(_label(period.start + o, unit), n, b)
             for o, n, b in zip(offsets, now_counts, before_counts, strict=False)]
    return Trend(period=period, earlier=before, compare=compare, steps=steps)
