"""The three rates (响应率, 办结率, 满意率) of the whole center step by step, for the report's
rate trend: each point is what the rate tables count (``queries.unit_rates``, summed over the
units) for that step alone, judged as of the same moment.

Steps: a day period shows the ``DAY_WINDOW`` days ending with it; a week, a month or a custom
period up to ``volume.MAX_DAILY`` days shows its days; longer ones its weeks (7 days from the
period's first day, the last one cut at its end). Steps follow the center's wall time.

    trend = rate_trend(session=session, period=p, as_of=now, rules=rules)
    trend.steps[0].response.value   # None when nothing was due for judging that day
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from hotline.oversight.definitions import (
    DEFAULT_RULES,
    OversightRules,
    Period,
    PeriodKind,
    Rate,
)
from hotline.oversight.queries import Measure, center_counts
from hotline.oversight.volume import MAX_DAILY

DAY_WINDOW = 14
RATES = (Measure.RESPONSE, Measure.HANDLING, Measure.SATISFACTION)


@dataclass(frozen=True)
class RateStep:
    label: str  # "11-23", or "11-23起" for a week
    start: datetime
    end: datetime
    response: Rate
    handling: Rate
    satisfaction: Rate


@dataclass(frozen=True)
class RateTrend:
    period: Period
    weekly: bool
    steps: list[RateStep]


def step_bounds(p: Period) -> tuple[list[datetime], bool]:
    """The steps' bounds (``len(steps) + 1`` of them) and whether they are weeks."""
    if p.kind is PeriodKind.DAY:
        first = p.start - timedelta(days=DAY_WINDOW - 1)
        return [first + timedelta(days=i) for i in range(DAY_WINDOW + 1)], False
    weekly = p.end - p.start > timedelta(days=MAX_DAILY)
    step = timedelta(days=7 if weekly else 1)
    bounds, at = [], p.start
    while at < p.end:
        bounds.append(at)
        at += step
    return bounds + [p.end], weekly


def rate_trend(*, session: Session, period: Period, as_of: datetime,
               rules: OversightRules = DEFAULT_RULES) -> RateTrend:
    bounds, weekly = step_bounds(period)
    counted = {m: center_counts(session=session, measure=m, bounds=bounds, as_of=as_of,
                                rules=rules) for m in RATES}
    steps = [
        RateStep(label=a.strftime("%m-%d") + ("起" if weekly else ""), start=a, end=b,
                 response=counted[Measure.RESPONSE][i], handling=counted[Measure.HANDLING][i],
                 satisfaction=counted[Measure.SATISFACTION][i])
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
    return RateTrend(period=period, weekly=weekly, steps=steps)
