"""Working days, time limits and traffic lights of work orders. Pure: no I/O.

Working-day convention
----------------------
A working day is a whole calendar day, 00:00 to 24:00 on the timestamp's own clock (office
hours are not modelled). Monday to Friday are working days unless listed as public holidays;
a Saturday or Sunday listed as a make-up working day (调休) is a working day.

``WorkCalendar.add_working_days(start, n)``:

* ``start`` on a working day: the same clock time on the n-th following working day
  (Fri 15:00 + 1 → Mon 15:00; Thu 2026-12-31 10:00 + 1 with Jan 1 a holiday → Mon 2027-01-04
  10:00).
* ``start`` on a non-working day: counting starts at 00:00 of the next working day, as if the
  ticket had arrived then (Sat 15:00 + 1 → Tue 00:00: the unit gets all of Monday).
* ``n == 0`` gives the start itself (moved to 00:00 of the next working day when it is not one).

``tzinfo`` is kept as given; there is no daylight saving time in China, so none is handled.

Minute clocks (sign within 1 hour, 3 minutes when urgent, on site within 30 minutes) are plain
elapsed time: ``start + timedelta``.

Lights: green while less than ``yellow_share`` (default 80 %) of the time from start to deadline
is used, yellow from that share on (exactly 80 % is yellow), red once ``now`` is past the
deadline (the deadline instant itself is still yellow).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

DEFAULT_YELLOW_SHARE = 0.8
_ONE_DAY = timedelta(days=1)


class RequestType(enum.StrEnum):
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    SUGGESTION = "suggestion"  # 建议
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Light(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends, public holidays and make-up working days (调休)."""

    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` working days after ``start`` (see the module docstring for the convention)."""
        if days < 0:
            raise ValueError(f"working days must not be negative, got {days}")
        if not self.is_working_day(start.date()):
            start = _midnight(self.next_working_day(start.date()), like=start)
        day = start.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, start.timetz())

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The part of ``[start, end)`` that falls on working days."""
        total = timedelta(0)
        cursor = start
        while cursor < end:
            segment_end = min(_midnight(cursor.date() + _ONE_DAY, like=cursor), end)
            if self.is_working_day(cursor.date()):
                total += segment_end - cursor
            cursor = segment_end
        return total


def _midnight(day: date, *, like: datetime) -> datetime:
    return datetime.combine(day, time(0, tzinfo=like.tzinfo))


def _default_handling_days() -> Mapping[RequestType, int]:
    return MappingProxyType(
        {
            RequestType.CONSULTATION: 1,
            RequestType.HELP: 3,
            RequestType.SUGGESTION: 3,
            RequestType.COMPLAINT: 7,
            RequestType.REPORT: 7,
        }
    )


@dataclass(frozen=True)
class Limits:
    """Time limits of the hotline; the defaults are the center's rules.

    ``max_handling_days`` caps the original handling limit plus every approved extension, over
    the whole life of the ticket (a redo or a re-dispatch does not give a new extension budget).
    """

    accept: timedelta = timedelta(minutes=1)
    dispatch: timedelta = timedelta(minutes=2)
    sign: timedelta = timedelta(hours=1)
    sign_urgent: timedelta = timedelta(minutes=3)
    on_site_urgent: timedelta = timedelta(minutes=30)
    return_window: timedelta = timedelta(hours=3)
    handling_days: Mapping[RequestType, int] = field(default_factory=_default_handling_days)
    difficult_days: int = 10
    max_handling_days: int = 14
    yellow_share: float = DEFAULT_YELLOW_SHARE

    def sign_within(self, urgency: Urgency) -> timedelta:
        return self.sign_urgent if urgency is Urgency.URGENT else self.sign

    def handling_days_for(self, request_type: RequestType, *, difficult: bool = False) -> int:
        """Working days to handle a ticket; a difficult (疑难) ticket gets ``difficult_days``."""
        return self.difficult_days if difficult else self.handling_days[request_type]


def light(
    now: datetime,
    *,
    start: datetime,
    deadline: datetime,
    yellow_share: float = DEFAULT_YELLOW_SHARE,
    calendar: WorkCalendar | None = None,
) -> Light:
    """The light of a clock running from ``start`` to ``deadline``.

    Without ``calendar`` the share used is elapsed time over the whole span (minute clocks);
    with one, only time on working days counts (working-day limits across a weekend).
    """
    if now > deadline:
        return Light.RED
    if calendar is None:
        used, span = max(now - start, timedelta(0)), deadline - start
    else:
        used = calendar.working_time_between(start, now)
        span = calendar.working_time_between(start, deadline)
    if span <= timedelta(0):
        return Light.YELLOW
    share = Fraction(yellow_share).limit_denominator(1_000_000)
    ratio = Fraction(_micros(used), _micros(span))
    return Light.YELLOW if ratio >= share else Light.GREEN


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Watched(NamedTuple):
    """A clock the scheduler watches, with the light it last published."""

    ticket_id: str
    start: datetime
    deadline: datetime
    last: Light


@dataclass(frozen=True)
class LightChange:
    ticket_id: str
    before: Light
    after: Light


def light_changes(
    watched: Iterable[Watched | tuple[str, datetime, datetime, Light]],
    *,
    now: datetime,
    yellow_share: float = DEFAULT_YELLOW_SHARE,
    calendar: WorkCalendar | None = None,
) -> list[LightChange]:
    """The clocks that turned yellow or red since their last known light, in input order.

    A clock that went back to green (its deadline was extended) is not reported: the scheduler
    resets its last known light when it learns of the new deadline.
    """
    changes: list[LightChange] = []
    for ticket_id, start, deadline, last in watched:
        now_light = light(
            now, start=start, deadline=deadline, yellow_share=yellow_share, calendar=calendar
        )
        if now_light is not Light.GREEN and now_light != last:
            changes.append(LightChange(ticket_id=ticket_id, before=last, after=now_light))
    return changes
