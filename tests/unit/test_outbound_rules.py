"""Rules of outbound calls (hotline.outbound.rules): retries, calling hours, choosing calls."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.outbound.rules import (
    CallingHours,
    Candidate,
    Done,
    GiveUp,
    Live,
    Outcome,
    RetryAt,
    RetryPolicy,
    TrunkLimits,
    after_attempt,
    choose_calls,
    escalate_at,
    normalize_number,
    rating_for_key,
    survey_outcome,
)
from hotline.tickets.calendar import WorkCalendar
from hotline.tickets.lifecycle import Satisfaction

CENTER = ZoneInfo("Asia/Shanghai")
MON = datetime(2026, 11, 23, 9, 0)  # a Monday
NATIONAL_DAY = WorkCalendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    makeup_workdays=frozenset({date(2026, 9, 27), date(2026, 10, 10)}),
)


# --- retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED,
                                     Outcome.HUNG_UP])
def test_given_a_first_attempt_not_reached_then_retried_two_hours_later(outcome):
    assert after_attempt(outcome, attempt=1, now=MON) == RetryAt(MON + timedelta(hours=2))


def test_given_an_answered_attempt_then_done():
    assert after_attempt(Outcome.ANSWERED, attempt=1, now=MON) == Done()


def test_given_the_third_attempt_not_answered_then_given_up():
    assert after_attempt(Outcome.NO_ANSWER, attempt=3, now=MON) == GiveUp(Outcome.NO_ANSWER)


def test_given_a_retry_that_falls_after_hours_then_it_moves_to_next_morning():
    evening = datetime(2026, 11, 23, 19, 0)
    decision = after_attempt(Outcome.BUSY, attempt=1, now=evening, hours=CallingHours())
    assert decision == RetryAt(datetime(2026, 11, 24, 8, 0))


def test_given_an_outcome_not_retried_by_policy_then_given_up_at_once():
    policy = RetryPolicy(retry_on=frozenset({Outcome.NO_ANSWER}))
    assert after_attempt(Outcome.BUSY, attempt=1, now=MON, policy=policy) == GiveUp(Outcome.BUSY)


def test_given_a_policy_without_attempts_then_refused():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@given(
    outcomes=st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=10),
    max_attempts=st.integers(1, 6),
    hours_gap=st.integers(0, 30),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1)),
)
def test_given_any_run_of_attempts_then_at_most_max_and_every_retry_later_and_in_hours(
    outcomes, max_attempts, hours_gap, start
):
    policy = RetryPolicy(max_attempts=max_attempts, interval=timedelta(hours=hours_gap))
    hours = CallingHours(calendar=NATIONAL_DAY)
    now, attempts = hours.next_opening(start), 0
    for outcome in outcomes:
        attempts += 1
        decision = after_attempt(outcome, attempt=attempts, now=now, policy=policy, hours=hours)
        if not isinstance(decision, RetryAt):
            assert isinstance(decision, Done) == (outcome is Outcome.ANSWERED)
            break
        assert decision.at >= now + policy.interval
        assert hours.allows(decision.at)
        now = decision.at
    assert attempts <= max_attempts


# --- calling hours -------------------------------------------------------------------------


@pytest.mark.parametrize(("at", "allowed"), [
    (datetime(2026, 11, 23, 7, 59), False),
    (datetime(2026, 11, 23, 8, 0), True),
    (datetime(2026, 11, 23, 19, 59), True),
    (datetime(2026, 11, 23, 20, 0), False),
    (datetime(2026, 11, 28, 10, 0), True),  # a Saturday: not a holiday
])
def test_given_default_hours_then_eight_to_eight_every_day(at, allowed):
    assert CallingHours().allows(at) is allowed


def test_given_a_public_holiday_then_no_calls_and_the_next_opening_is_after_it():
    hours = CallingHours(calendar=NATIONAL_DAY)
    assert not hours.allows(datetime(2026, 10, 3, 10, 0))
    assert hours.next_opening(datetime(2026, 9, 30, 20, 30)) == datetime(2026, 10, 8, 8, 0)


def test_given_holidays_allowed_then_a_holiday_is_called():
    hours = CallingHours(calendar=NATIONAL_DAY, on_holidays=True)
    assert hours.allows(datetime(2026, 10, 3, 10, 0))


def test_given_weekends_closed_then_a_makeup_working_saturday_is_still_open():
    hours = CallingHours(calendar=NATIONAL_DAY, on_weekends=False)
    assert hours.allows(datetime(2026, 10, 10, 9, 0))  # 调休 Saturday
    assert not hours.allows(datetime(2026, 10, 17, 9, 0))  # plain Saturday
    assert hours.next_opening(datetime(2026, 10, 16, 21, 0)) == datetime(2026, 10, 19, 8, 0)


def test_given_a_utc_time_and_a_center_clock_then_hours_are_read_on_the_center_clock():
    hours = CallingHours(tz=CENTER)
    utc_0100 = datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in the center
    assert hours.allows(utc_0100)
    utc_1300 = datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("UTC"))  # 21:00 in the center
    assert hours.next_opening(utc_1300) == datetime(2026, 11, 24, 8, 0, tzinfo=CENTER)


def test_given_hours_ending_before_they_start_then_refused():
    with pytest.raises(ValueError, match="after start"):
        CallingHours(start=time(20), end=time(8))


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1)))
def test_given_any_time_then_the_next_opening_is_allowed_not_earlier_and_nothing_between(at):
    hours = CallingHours(calendar=NATIONAL_DAY)
    opening = hours.next_opening(at)
    assert opening >= at
    assert hours.allows(opening)
    if opening > at:  # nothing allowed in between, minute by minute at its edges
        assert not hours.allows(at)
        assert not hours.allows(opening - timedelta(minutes=1))


# --- choosing calls ------------------------------------------------------------------------


def cand(call_id: int, number: str, *, trunk: str = "t", minutes: int = 0) -> Candidate:
    return Candidate(call_id, number, trunk, MON + timedelta(minutes=minutes))


def test_given_a_number_on_the_do_not_call_list_then_it_is_blocked_however_written():
    choice = choose_calls([cand(1, "138 0000-0001"), cand(2, "13800000002")], live=[],
                          limits=TrunkLimits(), do_not_call={"13800000001"})
    assert [c.call_id for c in choice.blocked] == [1]
    assert [c.call_id for c in choice.place] == [2]


def test_given_a_full_trunk_then_the_newest_calls_wait():
    due = [cand(i, f"1390000000{i}", minutes=10 - i) for i in range(1, 6)]
    choice = choose_calls(due, live=[Live("13700000000", "t")], limits=TrunkLimits(default=3),
                          do_not_call=set())
    assert [c.call_id for c in choice.place] == [5, 4]  # oldest due first
    assert [c.call_id for c in choice.waiting] == [3, 2, 1]


def test_given_two_calls_to_one_number_then_only_one_is_placed():
    choice = choose_calls([cand(1, "12300"), cand(2, "123-00", minutes=1)], live=[],
                          limits=TrunkLimits(), do_not_call=set())
    assert [c.call_id for c in choice.place] == [1]
    assert [c.call_id for c in choice.waiting] == [2]


def test_given_a_number_already_ringing_then_not_called_again():
    choice = choose_calls([cand(1, "12300")], live=[Live("12300", "other")],
                          limits=TrunkLimits(), do_not_call=set())
    assert choice.place == ()


def test_given_per_trunk_limits_then_each_trunk_counts_alone():
    limits = TrunkLimits(default=1, limits={"big": 2})
    due = [cand(1, "1", trunk="big"), cand(2, "2", trunk="big"), cand(3, "3", trunk="big"),
           cand(4, "4", trunk="small"), cand(5, "5", trunk="small")]
    choice = choose_calls(due, live=[], limits=limits, do_not_call=set())
    assert [c.call_id for c in choice.place] == [1, 2, 4]


numbers = st.sampled_from(["1001", "1002", "1003", "1004", "10-01"])
trunks = st.sampled_from(["a", "b"])


@given(
    due=st.lists(st.builds(Candidate, st.integers(1, 10_000), numbers, trunks,
                           st.datetimes(min_value=MON, max_value=MON + timedelta(days=1))),
                 max_size=20, unique_by=lambda c: c.call_id),
    live=st.lists(st.builds(Live, numbers, trunks), max_size=4),
    limit=st.integers(0, 4),
    dnc=st.sets(numbers, max_size=2),
)
def test_given_any_due_calls_then_limits_numbers_and_the_list_always_hold(due, live, limit, dnc):
    choice = choose_calls(due, live=live, limits=TrunkLimits(default=limit), do_not_call=dnc)
    assert sorted(c.call_id for c in (*choice.place, *choice.blocked, *choice.waiting)) == sorted(
        c.call_id for c in due)
    placed = [normalize_number(c.number) for c in choice.place]
    assert len(placed) == len(set(placed))
    assert not set(placed) & {normalize_number(c.number) for c in live}
    assert not set(placed) & {normalize_number(n) for n in dnc}
    for trunk in ("a", "b"):
        in_use = sum(c.trunk == trunk for c in live)
        assert sum(c.trunk == trunk for c in choice.place) <= max(limit - in_use, 0)


# --- surveys and reminders -----------------------------------------------------------------


def test_given_survey_keys_then_ratings():
    assert rating_for_key("1") is Satisfaction.SATISFIED
    assert rating_for_key("2") is Satisfaction.BASICALLY_SATISFIED
    assert rating_for_key("3") is Satisfaction.UNSATISFIED
    assert rating_for_key("4") is None
    assert rating_for_key("") is None


def test_given_a_survey_answered_without_rating_then_hung_up_mid_survey():
    assert survey_outcome(answered=True, rating=None) is Outcome.HUNG_UP
    assert survey_outcome(answered=True, rating=Satisfaction.SATISFIED) is Outcome.ANSWERED
    assert survey_outcome(answered=False, rating=None) is Outcome.NO_ANSWER


def test_given_a_red_reminder_on_friday_then_escalated_on_monday_not_saturday():
    friday = datetime(2026, 11, 27, 15, 0)
    assert escalate_at(friday, calendar=WorkCalendar()) == datetime(2026, 11, 30, 15, 0)


# --- purity --------------------------------------------------------------------------------


def test_given_the_rules_module_then_neither_it_nor_its_imports_do_io():
    from tests.unit.test_ticket_purity import FORBIDDEN, imported_modules, modules_reached

    for module, tree in modules_reached("hotline.outbound.rules").items():
        used = {name.split(".")[0] for name in imported_modules(tree)}
        assert not used & FORBIDDEN, f"{module} imports {sorted(used & FORBIDDEN)}"
