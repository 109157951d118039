"""What every oversight (督办考核) number counts, precisely. Pure: no I/O, no clock.

Each unit holding an assignment on a ticket has one **fact** (``UnitFacts``): the times the
rates are judged on, folded from the ticket's event log by ``step`` (one transition at a time:
the state before, the event, the state after). The service calls ``step`` in the transaction
of every transition and stores the result (``oversight_fact``, one row per ticket and unit), so
a rate is a count over stored facts and always agrees with the log; ``facts_from_log`` folds a
whole log again from scratch, which must give the same rows.

Rates of a unit over a period ``[start, end)`` read ``as_of`` (normally now):

响应率 (response)
    Denominator: the unit's assignments **dispatched** in the period whose signing deadline
    (``sign_by``, stored on the assignment) has passed by ``as_of``, or which were answered in
    time already. Numerator: those **answered at or before** ``sign_by``; the answer is the
    ``sign`` event, or a ``return`` (退回) made before signing: a unit that says at once that a
    ticket is not its duty has responded.
办结率 (handling)
    Denominator: the unit's assignments whose **handling deadline** (``due_at``) falls in the
    period and has passed by ``as_of`` (or that are finished in time already). Numerator:
    those **finished at or before** ``due_at``. The main unit finishes with the reply the
    center's review approves (the time of that reply, not of the review); an assisting unit
    with its own reply. ``due_at`` is the ticket's handling deadline in force: an **approved
    extension** moves it later (the ticket is judged against the extended deadline); a refused
    or dropped one does not. A unit whose assignment was returned and given to another unit
    (改派) has no ``due_at``: it is judged on response only.
满意率 (satisfaction)
    The main unit only. Denominator: its tickets whose revisit (回访) **ended in the period**
    (the ticket closed with revisit results), leaving out tickets of the excluded matters
    (``OversightRules.excluded_matters``: administrative mediation, law-enforcement cases …).
    Numerator: those 满意 or 基本满意. A ticket with several callers (merged children) is
    judged by its worst result.

Counting rules:

* **重办 counts once.** An unsatisfied first revisit sends the ticket back (``redo_at``): the
  main unit's finish is cleared, its ``due_at`` follows the new limit, and only the second
  revisit is judged (the second result stands). A ticket closed without a second revisit keeps
  the unsatisfied first result.
* **双派**: every unit is judged on its own (latest) assignment: its own ``sign_by`` and
  signing, its own reply against the ticket's handling deadline.
* **Merged tickets** are counted under the parent only: a child is merged before dispatch, so
  it has no assignment and no fact; its caller's revisit result is one of the parent's.
* **退回**: when the center insists (维持) the unit gets a new assignment, judged from the new
  dispatch; ``refused_at`` records the unfounded return (退回不当) for the deductions.
* 即办 tickets have no unit: they count in the direct-answer rate (``calls.py``) only.

Score (``score``): ``100 × (30 % 响应率 + 35 % 办结率 + 35 % 满意率)``, renormalised over the rates
that have a denominator (a unit with nothing to judge on a rate is neither rewarded nor
punished by it; with none, no score), minus ``OversightRules.deductions`` points per case, never
below 0. Cases, each dated by its own time: a late sign (response missed, by dispatch time),
late handling (handling missed, by ``due_at``), a late reply (a reply made after the deadline
then in force, by ``due_at``), returned for redo (重办, by ``redo_at``), refused without reason
(a return the center overruled, by ``refused_at``), unsatisfied twice (by ``revisited_at``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo

from hotline.tickets.lifecycle import (
    Event,
    Reply,
    Return,
    Review,
    ReviewReturn,
    Revisit,
    Role,
    Satisfaction,
    Status,
    TicketState,
)

SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})
_WORST = (Satisfaction.UNSATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.SATISFIED)


class Deduction(enum.StrEnum):
    LATE_SIGN = "late_sign"
    LATE_HANDLING = "late_handling"
    LATE_REPLY = "late_reply"
    REDO = "redo"
    REFUSED = "refused"
    UNSATISFIED_TWICE = "unsatisfied_twice"


DEFAULT_DEDUCTIONS: Mapping[Deduction, float] = {
    Deduction.LATE_SIGN: 0.5,
    Deduction.LATE_HANDLING: 1.0,
    Deduction.LATE_REPLY: 0.5,
    Deduction.REDO: 1.0,
    Deduction.REFUSED: 1.0,
    Deduction.UNSATISFIED_TWICE: 2.0,
}
WEIGHTS = {"response": 0.30, "handling": 0.35, "satisfaction": 0.35}


@dataclass(frozen=True)
class OversightRules:
    """Configurable parts: matters left out of 满意率 (by code) and points per deduction.

    The default leaves out 邻里纠纷 (SD-001, 人民调解), the list's administrative-mediation
    matter; add law-enforcement matters by code where the list has them.
    """

    excluded_matters: frozenset[str] = frozenset({"SD-001"})
    deductions: Mapping[Deduction, float] = field(default_factory=lambda: DEFAULT_DEDUCTIONS)


DEFAULT_RULES = OversightRules()


@dataclass(frozen=True)
class UnitFacts:
    """One unit's share of one ticket, as judged (see the module docstring)."""

    unit: str
    role: Role
    dispatched_at: datetime
    sign_by: datetime
    responded_at: datetime | None = None
    due_at: datetime | None = None
    replied_at: datetime | None = None  # the unit's latest reply
    finished_at: datetime | None = None
    late_replies: int = 0
    redo_at: datetime | None = None
    refused_at: datetime | None = None
    revisited_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    unsatisfied_twice: bool = False


Facts = Mapping[str, UnitFacts]


def worst(results: Iterable[Satisfaction]) -> Satisfaction | None:
    given = set(results)
    return next((r for r in _WORST if r in given), None)


def step(
    facts: Facts, event: Event, before: TicketState, after: TicketState
) -> dict[str, UnitFacts]:
    """The facts after one transition (``before`` --``event``--> ``after``)."""
    out = dict(facts)
    latest = {a.unit: a for a in after.assignments}  # a later assignment of a unit wins
    for unit, a in latest.items():
        f = out.get(unit)
        if f is None or f.dispatched_at != a.dispatched_at or f.role is not a.role:
            f = UnitFacts(unit=unit, role=a.role, dispatched_at=a.dispatched_at, sign_by=a.sign_by)
        if f.responded_at is None and a.signed_at is not None:
            f = replace(f, responded_at=a.signed_at)
        out[unit] = replace(f, due_at=after.handling_deadline if a.is_open else None)
    action, at = event.action, event.at
    match action:
        case Return() if out[action.unit].responded_at is None:
            out[action.unit] = replace(out[action.unit], responded_at=at)
        case ReviewReturn() if action.insist and before.returned_by is not None:
            out[before.returned_by] = replace(out[before.returned_by], refused_at=at)
        case Reply():
            f = out[action.unit]
            deadline = before.handling_deadline
            late = deadline is not None and at > deadline
            f = replace(f, replied_at=at, late_replies=f.late_replies + int(late))
            out[action.unit] = replace(f, finished_at=at) if f.role is Role.ASSIST else f
        case Review() if action.approve:
            main = _main(out, after)
            if main is not None:
                out[main.unit] = replace(main, finished_at=main.replied_at)
        case Revisit() if after.redo_count > before.redo_count:
            main = _main(out, after)
            if main is not None:
                out[main.unit] = replace(main, redo_at=at, finished_at=None)
    if after.status is Status.CLOSED and before.status is not Status.CLOSED:
        main = _main(out, after)
        if main is not None:
            out[main.unit] = _closed(main, after, at)
    return out


def _main(facts: Mapping[str, UnitFacts], state: TicketState) -> UnitFacts | None:
    a = state.main_assignment()
    return facts.get(a.unit) if a is not None else None


def _closed(main: UnitFacts, after: TicketState, at: datetime) -> UnitFacts:
    results = [r for _, r in after.revisit_results]
    result = worst(results)
    if result is None and main.redo_at is not None:
        result = Satisfaction.UNSATISFIED  # closed without a second revisit: the first stands
    if result is None:
        return main  # closed without any revisit: not revisited
    twice = main.redo_at is not None and bool(results) and result is Satisfaction.UNSATISFIED
    return replace(main, revisited_at=at, satisfaction=result, unsatisfied_twice=twice)


def facts_from_log(
    steps: Iterable[tuple[TicketState, Event, TicketState]],
) -> dict[str, UnitFacts]:
    """Fold a whole log of ``(before, event, after)`` from no facts."""
    facts: dict[str, UnitFacts] = {}
    for before, event, after in steps:
        facts = step(facts, event, before, after)
    return facts


# --- periods -------------------------------------------------------------------------------


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` as aware datetimes; built from local dates by ``period``."""

    kind: PeriodKind
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def period(kind: PeriodKind, day: date, *, zone: tzinfo, until: date | None = None) -> Period:
    """The day, the week (Monday to Sunday), the month holding ``day``, or ``day``..``until``
    inclusive (custom), in the center's local time ``zone``."""
    match kind:
        case PeriodKind.DAY:
            first, after = day, day + timedelta(days=1)
        case PeriodKind.WEEK:
            first = day - timedelta(days=day.weekday())
            after = first + timedelta(days=7)
        case PeriodKind.MONTH:
            first = day.replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
        case PeriodKind.CUSTOM:
            if until is None or until < day:
                raise ValueError(f"a custom period needs an end on or after {day}")
            first, after = day, until + timedelta(days=1)
    return Period(kind, _at(first, zone), _at(after, zone))


def _at(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


# --- rates and score -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class UnitRates:
    unit: str
    response: Rate
    handling: Rate
    satisfaction: Rate
    deductions: Mapping[Deduction, int]


@dataclass(frozen=True)
class UnitScore:
    rates: UnitRates
    base: float | None  # the weighted rates, 0-100, before deductions
    deducted: float
    score: float | None
    rank: int | None = None


def score(rates: UnitRates, *, rules: OversightRules = DEFAULT_RULES) -> UnitScore:
    parts = {"response": rates.response, "handling": rates.handling,
             "satisfaction": rates.satisfaction}
    judged = {name: r.value for name, r in parts.items() if r.value is not None}
    deducted = sum(rules.deductions.get(d, 0.0) * n for d, n in rates.deductions.items())
    deducted = round(deducted, 4)
    if not judged:
        return UnitScore(rates, None, deducted, None)
    weight = sum(WEIGHTS[name] for name in judged)
    base = round(100 * sum(WEIGHTS[name] * v for name, v in judged.items()) / weight, 4)
    return UnitScore(rates, base, deducted, round(max(base - deducted, 0.0), 4))


def ranking(scores: Iterable[UnitScore]) -> list[UnitScore]:
    """Best score first (ties share a rank: 1, 2, 2, 4); units without a score last, unranked."""
    scores = list(scores)
    scored = sorted((s for s in scores if s.score is not None),
                    key=lambda s: (-(s.score or 0.0), s.rates.unit))
    out: list[UnitScore] = []
    for i, s in enumerate(scored):
        tied = out and out[-1].score == s.score
        out.append(replace(s, rank=out[-1].rank if tied else i + 1))
    rest = sorted((s for s in scores if s.score is None), key=lambda s: s.rates.unit)
    return out + rest
