"""The rate trend (``oversight.rate_trend``) on the hand-built fortnight of
``test_oversight_rates`` (SQLite and PostgreSQL): each point is the rate the rate tables give
for that single day, summed over the units; the points add up to the fortnight's rates counted
by hand there; the report page draws them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from hotline.db import session_scope
from hotline.oversight.definitions import PeriodKind, Rate, period
from hotline.oversight.queries import unit_rates
from hotline.oversight.rate_trend import DAY_WINDOW, rate_trend, step_bounds
from hotline.web.pages import include_pages
from tests.api import CENTER, make_world
from tests.oversight_world import Desk, desk
from tests.unit.test_oversight_rates import AS_OF, FORTNIGHT, build

__all__ = ["desk"]
REPO = Path(__file__).resolve().parents[2]
NAMES = ("response", "handling", "satisfaction")


def total(rates: list[Rate]) -> Rate:
    return Rate(sum(r.numerator for r in rates), sum(r.denominator for r in rates))


def test_given_the_fortnight_then_each_point_is_the_rate_of_its_single_day(
    desk: Desk,
) -> None:
    build(desk)
    with session_scope(desk.engine) as session:
        trend = rate_trend(session=session, period=FORTNIGHT, as_of=AS_OF)
        assert [s.label for s in trend.steps][:3] == ["11-23", "11-24", "11-25"]
        assert len(trend.steps) == 12 and not trend.weekly
        for step in trend.steps:
            day = period(PeriodKind.DAY, step.start.date(), zone=CENTER)
            units = unit_rates(session=session, period=day, as_of=AS_OF)
            for name in NAMES:
                assert getattr(step, name) == total([getattr(u, name) for u in units]), (
                    step.label, name)
    # By hand: every unit's assignment was dispatched on Monday the 23rd: 城管 5 of 6
    # answered in time, 住建 4 of 5.
    assert trend.steps[0].response == Rate(9, 11)
    assert all(s.response == Rate(0, 0) for s in trend.steps[1:])
    # The fortnight (城管 + 住建, test_oversight_rates): 响应 9/11, 办结 7/10, 满意 5/6.
    assert [total([getattr(s, n) for s in trend.steps]) for n in NAMES] == [
        Rate(9, 11), Rate(7, 10), Rate(5, 6)]


def test_given_periods_then_the_steps_are_days_a_window_for_a_day_and_weeks_beyond(desk):
    day = period(PeriodKind.DAY, date(2026, 11, 30), zone=CENTER)
    bounds, weekly = step_bounds(day)
    assert not weekly and len(bounds) == DAY_WINDOW + 1
    assert bounds[0].date() == date(2026, 11, 17) and bounds[-1] == day.end
    month = period(PeriodKind.MONTH, date(2026, 11, 5), zone=CENTER)
    assert len(step_bounds(month)[0]) == 31
    long = period(PeriodKind.CUSTOM, date(2026, 9, 1), zone=CENTER, until=date(2026, 11, 30))
    bounds, weekly = step_bounds(long)
    assert weekly and bounds[1] - bounds[0] == timedelta(days=7) and bounds[-1] == long.end
    build(desk)
    with session_scope(desk.engine) as session:
        weeks = rate_trend(session=session, period=long, as_of=AS_OF)
    assert len(weeks.steps) == 13 and weeks.steps[-1].label == "11-24起"  # 91 days
    assert total([s.response for s in weeks.steps]) == Rate(9, 11)


def test_given_the_report_page_then_the_rate_trend_is_drawn_with_the_same_numbers(
    desk: Desk, tmp_path: Path,
) -> None:
    build(desk)
    world = make_world(desk.engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web")
    world.clock.now = AS_OF
    try:
        page = world.client("supervisor").get(
            "/supervisor/reports?period=custom&day=2026-11-23&until=2026-12-04")
        assert page.status_code == 200, page.text
        chart = re.search(r'<figure class="chart-rates" id="rate-trend">(.*?)</figure>',
                          page.text, re.S)
        assert chart is not None
        points = re.findall(r'data-series="(\w+)" data-label="([^"]+)" data-numerator="(\d+)" '
                            r'data-denominator="(\d+)" data-value="([\d.]+)"', chart.group(1))
        assert ("response", "11-23", "9", "11", str(round(9 / 11, 4))) in points
        with session_scope(desk.engine) as session:
            trend = rate_trend(session=session, period=FORTNIGHT, as_of=AS_OF)
        drawn = {(s, label): (int(n), int(d)) for s, label, n, d, _ in points}
        expected = {(n, st.label): (getattr(st, n).numerator, getattr(st, n).denominator)
                    for st in trend.steps for n in NAMES if getattr(st, n).denominator}
        assert drawn == expected
    finally:
        world.close()


def test_given_a_time_zone_then_steps_follow_the_center_wall_clock():
    p = period(PeriodKind.WEEK, date(2026, 11, 23), zone=CENTER)
    bounds, _ = step_bounds(p)
    assert [b.hour for b in bounds] == [0] * 8
    assert bounds[3] == datetime(2026, 11, 26, tzinfo=CENTER)
