"""Rates and scores of units on a hand-built week of tickets, every number counted by hand
below; the same on SQLite and PostgreSQL (``desk`` runs each test on both).

Monday 2026-11-23 09:00 (T0) every ticket is dispatched (help: 3 working days, due Thursday
09:00; sign within an hour). 城管 = 市城管局, 住建 = 市住建局.

    ticket  unit(s)        what happens                                      judged
    A       城管           signs +30 min, replies Tue, 满意                  R ✓ H ✓ S ✓
    B       城管           signs +2 h, replies Fri (late), 基本满意          R ✗ H ✗ S ✓ late reply
    C       住建           +2 days extension approved Wed, replies Fri       R ✓ H ✓ (Mon 30) S ✓
    D       住建           不满意 → 重办 (due Fri 12:00), Thu reply, 不满意   R ✓ H ✓ S ✗ redo,
                                                                             twice
    E 双派  城管 + 住建     城管 signs +20 min; 住建 +90 min, replies Wed     城管 R ✓ H ✓ S ✓;
                                                                             住建 R ✗ H ✓
    F ← G   城管           G merged into F; F 满意, G's caller 基本满意      R ✓ H ✓ S ✓ (once)
    H       城管 (SD-001)  邻里纠纷 (excluded): 不满意, 重办, 不满意          R ✓ H ✓ S -, redo
    I       住建           returns before signing, center insists, signs     R ✓ H ✗ refused
    J       城管 → 住建     城管 returns, 改派 to 住建, which signs, no reply  城管 R ✓;
                                                                             住建 R ✓ H ✗
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hotline.db import session_scope
from hotline.oversight.definitions import (
    Deduction,
    PeriodKind,
    Rate,
    UnitRates,
    period,
    ranking,
    score,
)
from hotline.oversight.queries import Measure, Part, tickets_behind, unit_rates
from hotline.tickets import lifecycle as lc
from hotline.tickets.units import unit_ids
from tests.api import CENTER
from tests.oversight_world import CG, T0, ZJ, Desk, at, desk

__all__ = ["desk"]

S = lc.Satisfaction
MIN = timedelta(minutes=1)
AS_OF = at(35, 12)  # Saturday 5 December
FORTNIGHT = period(PeriodKind.CUSTOM, date(2026, 11, 23), zone=CENTER, until=date(2026, 12, 4))


def build(desk: Desk) -> dict[str, int]:
    t = {name: desk.new(matter="SD-001" if name == "H" else None) for name in "ABCDEFGHIJ"}
    desk.merge(t["G"], t["F"], now=T0 - MIN)
    for name in "ABCDFHI":
        desk.dispatch(t[name], ZJ if name in "CDI" else CG)
    desk.dispatch(t["E"], CG, ZJ)
    desk.dispatch(t["J"], CG)

    desk.do(t["A"], lc.Sign(CG), T0 + 30 * MIN)
    desk.close_with(t["A"], CG, replied=at(24, 10), results=(S.SATISFIED,))

    desk.do(t["B"], lc.Sign(CG), T0 + 120 * MIN)
    desk.close_with(t["B"], CG, replied=at(27, 10), results=(S.BASICALLY_SATISFIED,))

    desk.do(t["C"], lc.Sign(ZJ), T0 + 10 * MIN)
    desk.do(t["C"], lc.RequestExtension(ZJ, 2, "parts on order"), at(25, 10))
    desk.do(t["C"], lc.DecideExtension(approve=True), at(25, 11))  # due Mon 30 09:00
    desk.close_with(t["C"], ZJ, replied=at(27, 10), results=(S.SATISFIED,))

    desk.do(t["D"], lc.Sign(ZJ), T0 + 10 * MIN)
    desk.close_with(t["D"], ZJ, replied=at(24, 10), results=(S.UNSATISFIED,))  # redo Tue 12:00
    desk.close_with(t["D"], ZJ, replied=at(26, 10), results=(S.UNSATISFIED,))

    desk.do(t["E"], lc.Sign(CG), T0 + 20 * MIN)
    desk.do(t["E"], lc.Sign(ZJ), T0 + 90 * MIN)
    desk.do(t["E"], lc.Reply(ZJ, "our part"), at(25, 10))
    desk.close_with(t["E"], CG, replied=at(25, 11), results=(S.SATISFIED,))

    desk.do(t["F"], lc.Sign(CG), T0 + 10 * MIN)
    desk.close_with(t["F"], CG, replied=at(24, 10), results=(S.SATISFIED, S.BASICALLY_SATISFIED),
                    caller=desk.number(t["G"]))

    desk.do(t["H"], lc.Sign(CG), T0 + 15 * MIN)
    desk.close_with(t["H"], CG, replied=at(24, 10), results=(S.UNSATISFIED,))
    desk.close_with(t["H"], CG, replied=at(26, 10), results=(S.UNSATISFIED,))

    desk.do(t["I"], lc.Return(ZJ, "not ours"), T0 + 30 * MIN)
    desk.do(t["I"], lc.ReviewReturn(insist=True, reason="it is"), T0 + 60 * MIN)
    desk.do(t["I"], lc.Sign(ZJ), T0 + 90 * MIN)

    desk.do(t["J"], lc.Return(CG, "not ours"), T0 + 20 * MIN)
    desk.do(t["J"], lc.ReviewReturn(redispatch_to=ZJ), T0 + 40 * MIN)
    desk.do(t["J"], lc.Sign(ZJ), T0 + 50 * MIN)
    return t


def rates_by_unit(desk: Desk, **kwargs: object) -> dict[str, UnitRates]:
    with session_scope(desk.engine) as session:
        args = {"period": FORTNIGHT, "as_of": AS_OF, **kwargs}
        return {r.unit: r for r in unit_rates(session=session, **args)}  # type: ignore[arg-type]


def test_given_a_hand_built_fortnight_then_every_rate_and_deduction_is_as_counted(desk: Desk):
    build(desk)
    rates = rates_by_unit(desk)
    assert set(rates) == {CG, ZJ}
    cg, zj = rates[CG], rates[ZJ]
    # 城管: A B E F H J dispatched, B late; A B E F H due, B late; A B E F revisited (H excluded)
    assert (cg.response, cg.handling, cg.satisfaction) == (Rate(5, 6), Rate(4, 5), Rate(4, 4))
    assert cg.deductions == {
        Deduction.LATE_SIGN: 1, Deduction.LATE_HANDLING: 1, Deduction.LATE_REPLY: 1,
        Deduction.REDO: 1, Deduction.REFUSED: 0, Deduction.UNSATISFIED_TWICE: 0,
    }
    # 住建: C D E I J dispatched, E late; C D E due and done, I J overdue; C 满意, D 不满意
    assert (zj.response, zj.handling, zj.satisfaction) == (Rate(4, 5), Rate(3, 5), Rate(1, 2))
    assert zj.deductions == {
        Deduction.LATE_SIGN: 1, Deduction.LATE_HANDLING: 2, Deduction.LATE_REPLY: 0,
        Deduction.REDO: 1, Deduction.REFUSED: 1, Deduction.UNSATISFIED_TWICE: 1,
    }


def test_given_the_fortnight_then_scores_and_ranking_are_as_counted(desk: Desk):
    build(desk)
    rates = rates_by_unit(desk)
    ranked = ranking([score(rates[CG]), score(rates[ZJ])])
    # 城管: 30 × 5/6 + 35 × 4/5 + 35 × 1 = 25 + 28 + 35 = 88; minus 0.5 + 1 + 0.5 + 1 = 3
    # 住建: 30 × 4/5 + 35 × 3/5 + 35 × 1/2 = 24 + 21 + 17.5 = 62.5; minus 0.5 + 2 + 1 + 1 + 2
    assert [(s.rates.unit, s.base, s.deducted, s.score, s.rank) for s in ranked] == [
        (CG, 88.0, 3.0, 85.0, 1),
        (ZJ, 62.5, 6.5, 56.0, 2),
    ]


def test_given_the_week_then_extended_deadline_falls_in_the_next_week(desk: Desk):
    build(desk)
    week = period(PeriodKind.WEEK, date(2026, 11, 25), zone=CENTER)
    zj = rates_by_unit(desk, period=week)[ZJ]
    assert zj.handling == Rate(2, 4)  # D E done, I J overdue; C is due Monday 30
    next_week = period(PeriodKind.WEEK, date(2026, 11, 30), zone=CENTER)
    assert rates_by_unit(desk, period=next_week)[ZJ].handling == Rate(1, 1)


def test_given_a_time_before_the_deadlines_then_open_work_is_not_yet_counted(desk: Desk):
    build(desk)
    zj = rates_by_unit(desk, as_of=at(25, 12))[ZJ]  # Wednesday noon: nothing due yet
    assert zj.handling == Rate(3, 3)  # C D E finished in time count; open I and J not yet
    assert zj.response == Rate(4, 5)


def test_given_no_excluded_matters_then_the_mediation_ticket_counts(desk: Desk):
    from hotline.oversight.definitions import OversightRules

    build(desk)
    cg = rates_by_unit(desk, rules=OversightRules(excluded_matters=frozenset()))[CG]
    assert cg.satisfaction == Rate(4, 5)
    assert cg.deductions[Deduction.UNSATISFIED_TWICE] == 1


@pytest.mark.parametrize(("unit", "measure", "part", "names"), [
    (ZJ, Measure.HANDLING, Part.MISSED, "IJ"),
    (ZJ, Measure.HANDLING, Part.NUMERATOR, "EDC"),  # by due time: Thu, Fri, Mon
    (CG, Measure.RESPONSE, Part.MISSED, "B"),
    (CG, Measure.RESPONSE, Part.DENOMINATOR, "ABEFHJ"),
    (CG, Measure.SATISFACTION, Part.DENOMINATOR, "AFEB"),
    (ZJ, Measure.REFUSED, Part.DENOMINATOR, "I"),
    (ZJ, Measure.UNSATISFIED_TWICE, Part.DENOMINATOR, "D"),
    (CG, Measure.LATE_REPLY, Part.DENOMINATOR, "B"),
])
def test_given_a_number_then_the_tickets_behind_it_are_listed(desk, unit, measure, part, names):
    t = build(desk)
    with session_scope(desk.engine) as session:
        unit_id = unit_ids(session, (unit,))[unit]
        found = tickets_behind(session=session, unit_id=unit_id, measure=measure, part=part,
                               period=FORTNIGHT, as_of=AS_OF)
    numbers = {desk.number(t[n]): n for n in names}
    assert [numbers.get(f.number, f.number) for f in found] == list(names)
