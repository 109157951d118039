"""Which ended periods a scheduled report is due for. Pure: no I/O, no clock.

A day, an ISO week (Monday to Sunday) or a month ends at local midnight, in the center's time
zone; its report is due at ``hour`` o'clock local time on the day it ended (the day after its
last day): the day of 23 November at 01:00 on 24 November, the week of 23-29 November at 01:00
on Monday 30 November, November at 01:00 on 1 December. ``due_periods`` gives the last
``count`` periods of a kind that are due at ``now``, newest first: the scheduler generates
those not generated yet, so a service that was down catches up on at most ``count`` of each.

    due_periods(PeriodKind.DAY, now=now, zone=tz, hour=1, count=7)
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from hotline.oversight.definitions import Period, PeriodKind, period


def due_at(p: Period, *, zone: tzinfo, hour: int) -> datetime:
    """When the report of ``p`` is due: ``hour`` o'clock local time on the day it ended."""
    return datetime.combine(p.end.astimezone(zone).date(), time(hour), tzinfo=zone)


def previous(p: Period, *, zone: tzinfo) -> Period:
    return period(p.kind, p.start.astimezone(zone).date() - timedelta(days=1), zone=zone)


def due_periods(kind: PeriodKind, *, now: datetime, zone: tzinfo, hour: int,
                count: int) -> list[Period]:
    if kind is PeriodKind.CUSTOM:
        raise ValueError("scheduled reports are of a day, a week or a month")
    last = previous(period(kind, now.astimezone(zone).date(), zone=zone), zone=zone)
    if due_at(last, zone=zone, hour=hour) > now:  # ended at midnight, not due before hour
        last = previous(last, zone=zone)
    out = [last]
    while len(out) < count:
        out.append(previous(out[-1], zone=zone))
    return out
