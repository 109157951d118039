"""Which ended periods a scheduled report is due for (``oversight.report_periods``): a day,
an ISO week, a month, in the center's time, due at the configured hour of the day it ended;
the catch-up looks back a bounded number of periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.oversight.definitions import PeriodKind
from hotline.oversight.report_periods import due_at, due_periods

CST = ZoneInfo("Asia/Shanghai")
DAY, WEEK, MONTH = PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH


def firsts(kind: PeriodKind, now: datetime, *, hour: int = 1, count: int = 1) -> list[date]:
    return [p.start.date() for p in due_periods(kind, now=now, zone=CST, hour=hour,
                                                count=count)]


def test_given_the_hour_not_reached_then_yesterday_is_not_due_yet():
    assert firsts(DAY, datetime(2026, 11, 24, 0, 59, tzinfo=CST)) == [date(2026, 11, 22)]
    assert firsts(DAY, datetime(2026, 11, 24, 1, 0, tzinfo=CST)) == [date(2026, 11, 23)]
    assert firsts(DAY, datetime(2026, 11, 24, 23, 0, tzinfo=CST), hour=0) == [
        date(2026, 11, 23)]


def test_given_a_utc_clock_then_the_center_time_decides():
    # 17:00 UTC on the 23rd is 01:00 on the 24th in the center.
    now = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert firsts(DAY, now) == [date(2026, 11, 23)]
    assert firsts(DAY, now, hour=2) == [date(2026, 11, 22)]


def test_given_a_week_then_it_is_due_on_the_monday_after_it():
    monday = datetime(2026, 11, 30, 0, 30, tzinfo=CST)
    assert firsts(WEEK, monday) == [date(2026, 11, 16)]  # 23-29 due at 01:00
    assert firsts(WEEK, monday.replace(hour=1)) == [date(2026, 11, 23)]
    assert firsts(WEEK, datetime(2026, 12, 5, 12, tzinfo=CST)) == [date(2026, 11, 23)]
    p = due_periods(WEEK, now=monday.replace(hour=1), zone=CST, hour=1, count=1)[0]
    assert p.label == "2026-11-23..2026-11-29"
    assert due_at(p, zone=CST, hour=1) == datetime(2026, 11, 30, 1, tzinfo=CST)


def test_given_a_month_then_it_is_due_on_the_first_and_months_have_their_lengths():
    assert firsts(MONTH, datetime(2026, 12, 1, 0, 10, tzinfo=CST)) == [date(2026, 10, 1)]
    found = due_periods(MONTH, now=datetime(2026, 3, 1, 1, tzinfo=CST), zone=CST, hour=1,
                        count=3)
    assert [p.label for p in found] == ["2026-02-01..2026-02-28", "2026-01-01..2026-01-31",
                                        "2025-12-01..2025-12-31"]


def test_given_a_catch_up_count_then_that_many_periods_newest_first():
    now = datetime(2026, 11, 24, 9, tzinfo=CST)
    assert firsts(DAY, now, count=3) == [date(2026, 11, 23), date(2026, 11, 22),
                                        date(2026, 11, 21)]
    assert firsts(WEEK, now, count=2) == [date(2026, 11, 16), date(2026, 11, 9)]
    with pytest.raises(ValueError, match="day, a week or a month"):
        due_periods(PeriodKind.CUSTOM, now=now, zone=CST, hour=1, count=1)
