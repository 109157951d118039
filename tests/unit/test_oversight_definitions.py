"""Periods, score and ranking (pure), and the purity of ``oversight.definitions``."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hotline.oversight.definitions import (
    Deduction,
    OversightRules,
    PeriodKind,
    Rate,
    UnitRates,
    period,
    ranking,
    score,
)
from tests.api import CENTER
from tests.unit.test_ticket_purity import (
    FORBIDDEN,
    imported_modules,
    modules_reached,
)

NO_DEDUCTIONS = dict.fromkeys(Deduction, 0)


def rates(unit: str, response: Rate, handling: Rate, satisfaction: Rate,
          **deductions: int) -> UnitRates:
    cases = {**NO_DEDUCTIONS, **{Deduction(k): v for k, v in deductions.items()}}
    return UnitRates(unit, response, handling, satisfaction, cases)


def test_given_the_pure_definitions_then_they_import_no_io_library():
    for module, tree in modules_reached("hotline.oversight.definitions").items():
        used = {name.split(".")[0] for name in imported_modules(tree)}
        assert not used & FORBIDDEN, f"{module} imports {sorted(used & FORBIDDEN)}"


@pytest.mark.parametrize(("kind", "day", "until", "start", "end"), [
    (PeriodKind.DAY, date(2026, 12, 31), None, date(2026, 12, 31), date(2027, 1, 1)),
    (PeriodKind.WEEK, date(2026, 11, 29), None, date(2026, 11, 23), date(2026, 11, 30)),
    (PeriodKind.MONTH, date(2026, 2, 14), None, date(2026, 2, 1), date(2026, 3, 1)),
    (PeriodKind.MONTH, date(2026, 12, 31), None, date(2026, 12, 1), date(2027, 1, 1)),
    (PeriodKind.CUSTOM, date(2026, 11, 23), date(2026, 12, 4), date(2026, 11, 23),
     date(2026, 12, 5)),
])
def test_given_a_kind_of_period_then_it_runs_from_local_midnight_to_local_midnight(
    kind, day, until, start, end
):
    p = period(kind, day, zone=CENTER, until=until)
    assert (p.start, p.end) == (datetime(start.year, start.month, start.day, tzinfo=CENTER),
                                datetime(end.year, end.month, end.day, tzinfo=CENTER))


def test_given_a_custom_period_without_an_end_then_refused():
    with pytest.raises(ValueError, match="needs an end"):
        period(PeriodKind.CUSTOM, date(2026, 11, 23), zone=CENTER)


def test_given_a_rate_with_nothing_to_judge_then_the_score_uses_the_others():
    only_response = rates("u", Rate(3, 4), Rate(0, 0), Rate(0, 0))
    assert score(only_response).base == 75.0  # 30 × 3/4 over a weight of 30
    assert score(rates("v", Rate(0, 0), Rate(0, 0), Rate(0, 0))).score is None


def test_given_deductions_then_points_are_taken_as_configured_and_never_below_zero():
    r = rates("u", Rate(1, 1), Rate(1, 1), Rate(1, 1), late_sign=2, unsatisfied_twice=1)
    assert score(r).score == 97.0  # 100 − 2 × 0.5 − 2
    harsh = OversightRules(deductions={Deduction.LATE_SIGN: 60.0})
    assert (score(r, rules=harsh).deducted, score(r, rules=harsh).score) == (120.0, 0.0)


def test_given_tied_scores_then_they_share_a_rank_and_unscored_units_come_last():
    full, half = Rate(1, 1), Rate(1, 2)
    ranked = ranking([score(rates("c", half, half, half)), score(rates("none", *[Rate(0, 0)] * 3)),
                      score(rates("b", full, full, full)), score(rates("a", full, full, full))])
    assert [(s.rates.unit, s.rank) for s in ranked] == [("a", 1), ("b", 1), ("c", 3),
                                                        ("none", None)]
