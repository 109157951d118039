"""The rates of units over a period, counted in SQL over ``oversight_fact``, and the tickets
behind every number.

Each measure is one ``Measure``: the date that places a fact in the period, and the
conditions of its numerator and denominator. The grouped counts (``unit_rates``) and the ticket
lists (``tickets_behind``) are built from the same expressions, so a number and its tickets
cannot disagree. Definitions: ``definitions.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, and_, case, false, func, literal, or_, true
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from hotline.oversight.definitions import (
    DEFAULT_RULES,
    SATISFIED,
    Deduction,
    OversightRules,
    Period,
    Rate,
    UnitRates,
    UnitScore,
    ranking,
    score,
)
from hotline.oversight.models import OversightFact as F
from hotline.tickets.lifecycle import Satisfaction
from hotline.tickets.models import Matter, Ticket, Unit


class Measure(enum.StrEnum):
    RESPONSE = "response"
    HANDLING = "handling"
    SATISFACTION = "satisfaction"
    LATE_REPLY = "late_reply"
    REDO = "redo"
    REFUSED = "refused"
    UNSATISFIED_TWICE = "unsatisfied_twice"


class Part(enum.StrEnum):
    NUMERATOR = "numerator"
    DENOMINATOR = "denominator"
    MISSED = "missed"  # in the denominator, not in the numerator: the deduction cases


@dataclass(frozen=True)
class _Terms:
    dated: Any  # the column placing a fact in the period
    numerator: ColumnElement[bool]
    denominator: ColumnElement[bool]


def _terms(measure: Measure, *, as_of: datetime, excluded: list[int]) -> _Terms:
    # Never NULL, so that "in the denominator and not in the numerator" is exact in SQL.
    responded = and_(col(F.responded_at).is_not(None), col(F.responded_at) <= col(F.sign_by))
    finished = and_(col(F.finished_at).is_not(None), col(F.finished_at) <= col(F.due_at))
    counted = or_(col(F.matter_id).is_(None), col(F.matter_id).not_in(excluded)) \
        if excluded else true()
    satisfied = and_(col(F.satisfaction).is_not(None),
                     col(F.satisfaction).in_([s.value for s in SATISFIED]))
    match measure:
        case Measure.RESPONSE:
            return _Terms(F.dispatched_at, responded, or_(col(F.sign_by) <= as_of, responded))
        case Measure.HANDLING:
            return _Terms(F.due_at, finished, or_(col(F.due_at) <= as_of, finished))
        case Measure.SATISFACTION:
            return _Terms(F.revisited_at, and_(counted, satisfied), counted)
        case Measure.LATE_REPLY:
            return _Terms(F.due_at, false(), col(F.late_replies) > 0)
        case Measure.REDO:
            return _Terms(F.redo_at, false(), true())
        case Measure.REFUSED:
            return _Terms(F.refused_at, false(), true())
        case Measure.UNSATISFIED_TWICE:
            return _Terms(F.revisited_at, false(), and_(counted, col(F.unsatisfied_twice)))


def excluded_matter_ids(session: Session, rules: OversightRules) -> list[int]:
    if not rules.excluded_matters:
        return []
    codes = sorted(rules.excluded_matters)
    found = session.exec(select(Matter).where(col(Matter.code).in_(codes))).all()
    return sorted(m.id for m in found if m.id is not None)


def run_rows(session: Session, query: Executable) -> Sequence[Any]:
    """Core rows through the session's connection (after flushing what it holds)."""
    session.flush()
    return session.connection().execute(query).all()


def _in_period(dated: Any, period: Period) -> ColumnElement[bool]:
    return and_(dated >= period.start, dated < period.end)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _grouped(
    session: Session, measure: Measure, *, period: Period, as_of: datetime,
    excluded: list[int], units: list[int] | None, weight: Any = None,
) -> dict[int, tuple[int, int]]:
    t = _terms(measure, as_of=as_of, excluded=excluded)
    den = _count(t.denominator) if weight is None else func.coalesce(
        func.sum(case((t.denominator, weight), else_=0)), 0)
    query = core_select(col(F.unit_id), _count(t.numerator), den).where(
        _in_period(t.dated, period))
    if units is not None:
        query = query.where(col(F.unit_id).in_(units))
    rows = run_rows(session, query.group_by(col(F.unit_id)))
    return {unit: (int(num), int(d)) for unit, num, d in rows}


def unit_rates(
    *, session: Session, period: Period, as_of: datetime,
    rules: OversightRules = DEFAULT_RULES, units: Iterable[int] | None = None,
) -> list[UnitRates]:
    """The rates and deduction counts of every unit with anything in the period (or of
    ``units``), by unit name."""
    only = list(units) if units is not None else None
    excluded = excluded_matter_ids(session, rules)

    def grouped(measure: Measure, weight: Any = None) -> dict[int, tuple[int, int]]:
        return _grouped(session, measure, period=period, as_of=as_of, excluded=excluded,
                        units=only, weight=weight)

    response, handling = grouped(Measure.RESPONSE), grouped(Measure.HANDLING)
    satisfaction = grouped(Measure.SATISFACTION)
    late_reply = grouped(Measure.LATE_REPLY, weight=col(F.late_replies))
    redo, refused = grouped(Measure.REDO), grouped(Measure.REFUSED)
    twice = grouped(Measure.UNSATISFIED_TWICE)
    ids = set(response) | set(handling) | set(satisfaction) | set(redo) | set(refused)
    ids |= set(only or ())
    names = _unit_names(session, ids)

    def rate(found: dict[int, tuple[int, int]], unit: int) -> Rate:
        return Rate(*found.get(unit, (0, 0)))

    out = []
    for unit in ids:
        r, h = rate(response, unit), rate(handling, unit)
        out.append(UnitRates(
            unit=names[unit], response=r, handling=h, satisfaction=rate(satisfaction, unit),
            deductions={
                Deduction.LATE_SIGN: r.denominator - r.numerator,
                Deduction.LATE_HANDLING: h.denominator - h.numerator,
                Deduction.LATE_REPLY: rate(late_reply, unit).denominator,
                Deduction.REDO: rate(redo, unit).denominator,
                Deduction.REFUSED: rate(refused, unit).denominator,
                Deduction.UNSATISFIED_TWICE: rate(twice, unit).denominator,
            },
        ))
    return sorted(out, key=lambda u: u.unit)


def ranked_units(
    *, session: Session, period: Period, as_of: datetime, rules: OversightRules = DEFAULT_RULES,
) -> list[UnitScore]:
    """``unit_rates`` scored and ranked: what the API, the exports and the reports show."""
    rates = unit_rates(session=session, period=period, as_of=as_of, rules=rules)
    return ranking(score(r, rules=rules) for r in rates)


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = run_rows(session, core_select(col(Unit.id), col(Unit.name)).where(
        col(Unit.id).in_(sorted(ids))))
    return {int(unit_id): str(name) for unit_id, name in rows}


@dataclass(frozen=True)
class TicketBehind:
    number: str
    role: str
    dated: datetime  # the date that placed it in the period
    in_numerator: bool
    satisfaction: Satisfaction | None
    late_replies: int


def tickets_behind(
    *, session: Session, unit_id: int, measure: Measure, part: Part, period: Period,
    as_of: datetime, rules: OversightRules = DEFAULT_RULES,
) -> list[TicketBehind]:
    """The tickets counted in one number of ``unit_rates``, oldest first."""
    t = _terms(measure, as_of=as_of, excluded=excluded_matter_ids(session, rules))
    chosen = {Part.NUMERATOR: t.numerator, Part.DENOMINATOR: t.denominator,
              Part.MISSED: and_(t.denominator, ~t.numerator)}[part]
    in_num = case((t.numerator, literal(True)), else_=literal(False))
    query = (
        core_select(col(Ticket.number), col(F.role), t.dated, in_num, col(F.satisfaction),
               col(F.late_replies))
        .join(Ticket, col(Ticket.id) == col(F.ticket_id))
        .where(col(F.unit_id) == unit_id, _in_period(t.dated, period), chosen)
        .order_by(t.dated, col(Ticket.number))
    )
    return [
        TicketBehind(number=n, role=role, dated=dated, in_numerator=bool(num),
                     satisfaction=Satisfaction(s) if s else None, late_replies=late)
        for n, role, dated, num, s, late in run_rows(session, query)
    ]


def center_counts(
    *, session: Session, measure: Measure, bounds: Sequence[datetime], as_of: datetime,
    rules: OversightRules = DEFAULT_RULES,
) -> list[Rate]:
    """The rate of ``measure`` over every unit together in each step ``[bounds[i],
    bounds[i + 1])``: the sums of what ``unit_rates`` counts for each unit over that step, from
    the same expressions. One small query per step, each reading its own range of the date's
    covering index (one query with a sum per step made SQLite test every step on every row:
    17 s for the weeks of a year of the synthetic city)."""
    t = _terms(measure, as_of=as_of, excluded=excluded_matter_ids(session, rules))
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        query = core_select(_count(t.numerator), _count(t.denominator)).where(
            t.dated >= a, t.dated < b)
        num, den = run_rows(session, query)[0]
        out.append(Rate(int(num), int(den)))
    return out
