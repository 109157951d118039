"""The charts of the supervisor's workspace: calls per hour today, open tickets' lights per
unit (``hotline.web.charts`` draws them as SVG on the server).

    charts = workspace_charts(session=session, now=now)   # {"hourly": Markup, "units": Markup}
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from markupsafe import Markup
from sqlmodel import Session, col, func, select

from hotline.calls.models import Call
from hotline.calls.store import aware
from hotline.tickets.models import Light, Ticket, Unit
from hotline.web.charts import Bar, Segment, StackedBar, bar_chart, stacked_bars

LIGHTS = (Light.RED.value, Light.YELLOW.value, Light.GREEN.value)
MAX_UNITS = 10


def calls_per_hour(*, session: Session, now: datetime) -> list[int]:
    """Calls started in each hour of today, on the center's clock (``now``'s zone)."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    starts = session.exec(select(Call.started_at).where(
        col(Call.started_at) >= midnight.astimezone(UTC), col(Call.direction) == "in")).all()
    hours = [0] * 24
    for started in starts:
        local = aware(started)
        if local is not None:
            hours[local.astimezone(now.tzinfo).hour] += 1
    return hours


def lights_per_unit(*, session: Session) -> list[StackedBar]:
    """Open tickets (with a light) by main unit, the units with most first."""
    rows = session.exec(
        select(Unit.name, Ticket.light, func.count())
        .join(Unit, col(Unit.id) == Ticket.main_unit_id)
        .where(col(Ticket.light).in_(LIGHTS))
        .group_by(col(Unit.name), col(Ticket.light))).all()
    by_unit: dict[str, dict[str, int]] = {}
    for name, light, n in rows:
        by_unit.setdefault(name, {})[str(light)] = int(n)
    bars = [StackedBar(name, [Segment(light, counts.get(light, 0)) for light in LIGHTS])
            for name, counts in by_unit.items()]
    return sorted(bars, key=lambda b: (-b.total, b.label))[:MAX_UNITS]


def workspace_charts(*, session: Session, now: datetime) -> dict[str, Markup]:
    hours = calls_per_hour(session=session, now=now)
    last = max(now.hour, max((h for h, n in enumerate(hours) if n), default=0))
    hourly = bar_chart([Bar(f"{h:02d}", hours[h]) for h in range(last + 1)],
                       title="今日每小时来电")
    return {"hourly": hourly,
            "units": stacked_bars(lights_per_unit(session=session), title="各单位工单灯色")}
