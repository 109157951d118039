"""Working days, time limits and lights (hotline.tickets.calendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.tickets.calendar import (
    Light,
    LightChange,
    Limits,
    RequestType,
    Urgency,
    Watched,
    WorkCalendar,
    light,
    light_changes,
)

NATIONAL_DAY_2026 = WorkCalendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    makeup_workdays=frozenset({date(2026, 9, 27), date(2026, 10, 10)}),
)
NEW_YEAR_2027 = WorkCalendar(holidays=frozenset({date(2027, 1, 1)}))
PLAIN = WorkCalendar()


def test_given_a_weekday_when_adding_one_working_day_then_same_time_next_day():
    assert PLAIN.add_working_days(datetime(2026, 3, 2, 9, 30), 1) == datetime(2026, 3, 3, 9, 30)


def test_given_a_friday_when_adding_one_working_day_then_monday_same_time():
    assert PLAIN.add_working_days(datetime(2026, 3, 6, 15, 0), 1) == datetime(2026, 3, 9, 15, 0)


def test_given_a_friday_when_adding_seven_working_days_then_both_weekends_are_skipped():
    assert PLAIN.add_working_days(datetime(2026, 3, 6, 15, 0), 7) == datetime(2026, 3, 17, 15, 0)


def test_given_a_saturday_start_when_adding_one_working_day_then_all_of_monday_is_given():
    assert PLAIN.add_working_days(datetime(2026, 3, 7, 15, 0), 1) == datetime(2026, 3, 10, 0, 0)


def test_given_a_sunday_start_when_adding_zero_days_then_start_of_next_working_day():
    assert PLAIN.add_working_days(datetime(2026, 3, 8, 23, 0), 0) == datetime(2026, 3, 9, 0, 0)


def test_given_national_day_holidays_when_adding_one_day_from_the_eve_then_after_the_week():
    # Wed 2026-09-30 → the holiday week (Thu 1st to Wed 7th) is skipped.
    start = datetime(2026, 9, 30, 11, 0)
    assert NATIONAL_DAY_2026.add_working_days(start, 1) == datetime(2026, 10, 8, 11, 0)


def test_given_a_makeup_saturday_when_adding_one_day_from_friday_then_saturday_counts():
    start = datetime(2026, 10, 9, 10, 0)
    assert NATIONAL_DAY_2026.add_working_days(start, 1) == datetime(2026, 10, 10, 10, 0)


def test_given_a_makeup_sunday_when_starting_on_it_then_it_is_a_working_day():
    assert NATIONAL_DAY_2026.is_working_day(date(2026, 9, 27))
    start = datetime(2026, 9, 27, 16, 0)
    assert NATIONAL_DAY_2026.add_working_days(start, 1) == datetime(2026, 9, 28, 16, 0)


def test_given_a_holiday_start_when_adding_days_then_counting_starts_at_next_working_day():
    start = datetime(2026, 10, 3, 12, 0)
    assert NATIONAL_DAY_2026.add_working_days(start, 2) == datetime(2026, 10, 10, 0, 0)


def test_given_new_year_holiday_when_adding_one_day_on_new_years_eve_then_monday_jan_4():
    start = datetime(2026, 12, 31, 10, 0)
    assert NEW_YEAR_2027.add_working_days(start, 1) == datetime(2027, 1, 4, 10, 0)


def test_given_new_year_holiday_when_adding_three_days_across_year_end_then_wednesday():
    start = datetime(2026, 12, 30, 17, 45)
    assert NEW_YEAR_2027.add_working_days(start, 3) == datetime(2027, 1, 5, 17, 45)


def test_given_an_aware_timestamp_when_adding_days_then_its_timezone_is_kept():
    beijing = timezone(timedelta(hours=8))
    result = PLAIN.add_working_days(datetime(2026, 3, 7, 15, 0, tzinfo=beijing), 1)
    assert result == datetime(2026, 3, 10, 0, 0, tzinfo=beijing)
    assert result.tzinfo is beijing


def test_given_negative_days_when_adding_then_value_error():
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add_working_days(datetime(2026, 3, 2), -1)


@settings(max_examples=200)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    days=st.integers(min_value=0, max_value=20),
)
def test_given_any_start_when_adding_n_days_then_exactly_n_days_of_working_time_pass(start, days):
    calendar = NATIONAL_DAY_2026
    end = calendar.add_working_days(start, days)
    assert calendar.is_working_day(end.date())
    assert end >= start
    effective_start = calendar.add_working_days(start, 0)
    assert calendar.working_time_between(effective_start, end) == timedelta(days=days)


def test_given_default_limits_then_handling_days_follow_the_request_type():
    limits = Limits()
    expected = {
        RequestType.CONSULTATION: 1,
        RequestType.HELP: 3,
        RequestType.SUGGESTION: 3,
        RequestType.COMPLAINT: 7,
        RequestType.REPORT: 7,
    }
    assert {t: limits.handling_days_for(t) for t in RequestType} == expected
    assert limits.handling_days_for(RequestType.CONSULTATION, difficult=True) == 10


def test_given_default_limits_then_minute_clocks_are_the_centers_rules():
    limits = Limits()
    assert limits.accept == timedelta(minutes=1)
    assert limits.dispatch == timedelta(minutes=2)
    assert limits.sign_within(Urgency.NORMAL) == timedelta(hours=1)
    assert limits.sign_within(Urgency.URGENT) == timedelta(minutes=3)
    assert limits.on_site_urgent == timedelta(minutes=30)
    assert limits.max_handling_days == 14


T0 = datetime(2026, 3, 2, 9, 0)
TEN_HOURS = T0 + timedelta(hours=10)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(0), Light.GREEN),
        (timedelta(hours=7, minutes=59, seconds=59), Light.GREEN),
        (timedelta(hours=8), Light.YELLOW),  # exactly 80 %
        (timedelta(hours=10), Light.YELLOW),  # the deadline instant itself
        (timedelta(hours=10, microseconds=1), Light.RED),
    ],
)
def test_given_a_ten_hour_clock_when_time_passes_then_light_changes_at_80_percent(
    elapsed, expected
):
    assert light(T0 + elapsed, start=T0, deadline=TEN_HOURS) is expected


def test_given_an_urgent_three_minute_sign_clock_then_yellow_at_144_seconds_red_after():
    deadline = T0 + Limits().sign_within(Urgency.URGENT)
    assert light(T0 + timedelta(seconds=143), start=T0, deadline=deadline) is Light.GREEN
    assert light(T0 + timedelta(seconds=144), start=T0, deadline=deadline) is Light.YELLOW
    assert light(T0 + timedelta(minutes=3, seconds=1), start=T0, deadline=deadline) is Light.RED


def test_given_a_yellow_share_of_half_when_half_the_time_is_used_then_yellow():
    now = T0 + timedelta(hours=5)
    assert light(now, start=T0, deadline=TEN_HOURS, yellow_share=0.5) is Light.YELLOW
    assert light(now - timedelta(seconds=1), start=T0, deadline=TEN_HOURS, yellow_share=0.5) is (
        Light.GREEN
    )


def test_given_a_calendar_when_the_weekend_passes_then_it_does_not_use_up_the_limit():
    start = datetime(2026, 3, 6, 12, 0)  # Friday noon, 1 working day → Monday noon
    deadline = PLAIN.add_working_days(start, 1)
    sunday = datetime(2026, 3, 8, 23, 0)  # 59 of 72 wall-clock hours, 12 of 24 working
    assert light(sunday, start=start, deadline=deadline, calendar=PLAIN) is Light.GREEN
    assert light(sunday, start=start, deadline=deadline) is Light.YELLOW  # wall clock: 80 %
    monday_8 = datetime(2026, 3, 9, 7, 12)  # 12 h Friday + 7.2 h Monday = 80 % of 24 h
    assert light(monday_8, start=start, deadline=deadline, calendar=PLAIN) is Light.YELLOW


def test_given_watched_clocks_when_checking_then_only_newly_yellow_or_red_are_reported():
    now = T0 + timedelta(hours=9)
    watched = [
        Watched("T-green", T0, T0 + timedelta(hours=100), Light.GREEN),
        Watched("T-turns-yellow", T0, TEN_HOURS, Light.GREEN),
        Watched("T-still-yellow", T0, TEN_HOURS, Light.YELLOW),
        ("T-turns-red", T0, T0 + timedelta(hours=8), Light.YELLOW),
        ("T-jumps-to-red", T0, T0 + timedelta(hours=1), Light.GREEN),
        ("T-still-red", T0, T0 + timedelta(hours=1), Light.RED),
        ("T-extended", T0, T0 + timedelta(hours=100), Light.RED),
    ]
    assert light_changes(watched, now=now) == [
        LightChange("T-turns-yellow", Light.GREEN, Light.YELLOW),
        LightChange("T-turns-red", Light.YELLOW, Light.RED),
        LightChange("T-jumps-to-red", Light.GREEN, Light.RED),
    ]
