"""A ticket's light as stored columns, so that the scheduler scans an index instead of every
ticket. Pure: no I/O, no clock.

A ticket runs several clocks (dispatch, each unit's signing, handling); its light is the worst
of theirs. Each clock's light only gets worse with time, so the ticket turns yellow at the
earliest instant any clock turns yellow (``yellow_at``) and red just after the earliest
deadline (``deadline``). The stored ``next_light_at`` is when the light can next differ from
the one last published: ``yellow_at`` while green, just after ``deadline`` while yellow, none
once red or when no clock runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from hotline.tickets.calendar import Light, WorkCalendar, light
from hotline.tickets.lifecycle import Clock, TicketState

_RANK = {None: 0, Light.GREEN: 1, Light.YELLOW: 2, Light.RED: 3}
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Marks:
    """What the ticket row stores about its clocks."""

    deadline: datetime | None  # the earliest running deadline: red just after it
    yellow_at: datetime | None
    current: Light | None  # the light at ``now``; None when no clock runs
    published: Light | None  # the light to keep as last published
    next_light_at: datetime | None


def clock_yellow_at(
    clock: Clock, *, yellow_share: float, calendar: WorkCalendar
) -> datetime:
    """The first instant ``calendar.light`` calls this clock yellow (or red)."""
    share = Fraction(yellow_share).limit_denominator(1_000_000)
    if not clock.working_days:
        span = _micros(clock.deadline - clock.start)
        return clock.start + timedelta(microseconds=math.ceil(share * max(span, 0)))
    span = _micros(calendar.working_time_between(clock.start, clock.deadline))
    remaining = timedelta(microseconds=math.ceil(share * span))
    cursor = clock.start
    while cursor < clock.deadline:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time())
        segment_end = min(midnight.replace(tzinfo=cursor.tzinfo), clock.deadline)
        if calendar.is_working_day(cursor.date()):
            if segment_end - cursor >= remaining:
                return cursor + remaining
            remaining -= segment_end - cursor
        cursor = segment_end
    return clock.deadline


def clock_light(
    clock: Clock, now: datetime, *, yellow_share: float, calendar: WorkCalendar
) -> Light:
    return light(
        now,
        start=clock.start,
        deadline=clock.deadline,
        yellow_share=yellow_share,
        calendar=calendar if clock.working_days else None,
    )


def marks(
    state: TicketState,
    *,
    now: datetime,
    published: Light | None,
    yellow_share: float,
    calendar: WorkCalendar,
) -> Marks:
    """The columns after a change at ``now``; ``published`` is the light last published.

    A light better than the published one (a clock stopped, a deadline moved later) resets
    what was published, so that the ticket is reported again when it turns yellow again.
    """
    clocks = state.running_clocks()
    if not clocks:
        return Marks(None, None, None, None, None)
    deadline = min(c.deadline for c in clocks)
    yellow_at = min(
        clock_yellow_at(c, yellow_share=yellow_share, calendar=calendar) for c in clocks
    )
    current = max(
        (clock_light(c, now, yellow_share=yellow_share, calendar=calendar) for c in clocks),
        key=_RANK.__getitem__,
    )
    if published is None:
        published = Light.GREEN  # a clock started: report it when it turns yellow
    elif _RANK[current] < _RANK[published]:
        published = current
    return Marks(deadline, yellow_at, current, published, _next(published, yellow_at, deadline))


def stored_marks(
    *, yellow_at: datetime, deadline: datetime, published: Light | None, now: datetime
) -> Marks:
    """``marks`` from a row's stored ``yellow_at`` and ``deadline`` alone, for the scanner.

    Every clock's light only gets worse with time, so the ticket is red once ``now`` passes the
    earliest deadline and yellow once it reaches the earliest ``yellow_at``: the same as
    ``marks`` on the state the columns were written from, without decoding it.
    """
    current = light_between(now, yellow_at=yellow_at, deadline=deadline)
    if published is None:
        published = Light.GREEN
    elif _RANK[current] < _RANK[published]:
        published = current
    return Marks(deadline, yellow_at, current, published, _next(published, yellow_at, deadline))


def light_between(now: datetime, *, yellow_at: datetime, deadline: datetime) -> Light:
    """Green before ``yellow_at``, yellow from it, red once ``now`` is past ``deadline``."""
    if now > deadline:
        return Light.RED
    return Light.YELLOW if now >= yellow_at else Light.GREEN


def publishing(m: Marks, light: Light) -> Marks:
    """``m`` once ``light`` is published: the next mark moves on."""
    assert m.yellow_at is not None and m.deadline is not None
    return Marks(m.deadline, m.yellow_at, m.current, light,
                 _next(light, m.yellow_at, m.deadline))


def worse(after: Light | None, before: Light | None) -> bool:
    return _RANK[after] > _RANK[before]


def from_stored(value: str) -> Light | None:
    """The light column holds ``none`` when no clock runs."""
    return None if value == "none" else Light(value)


def _next(published: Light, yellow_at: datetime, deadline: datetime) -> datetime | None:
    if published is Light.GREEN:
        return yellow_at
    if published is Light.YELLOW:
        return deadline + _TICK
    return None


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
