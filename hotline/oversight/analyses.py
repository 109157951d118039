"""The analyses over tickets of a period, read in SQL and judged by ``trends.py``: frequent
matters, hot topics (matters and terms rising against an earlier period) and repeat requests
(same caller, or same place and matter, within a window).

    found = analyse(session=session, period=p, rules=AnalysisRules(hot_minimum=3))
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from hotline.oversight.definitions import Period
from hotline.oversight.queries import run_rows
from hotline.oversight.trends import (
    DEFAULT_ANALYSIS,
    AnalysisRules,
    Cluster,
    Dated,
    Rising,
    clusters,
    counted_terms,
    place,
    rising,
)
from hotline.tickets.models import Matter, Ticket


class Compare(enum.StrEnum):
    PREVIOUS = "previous"  # the period just before, of the same length
    LAST_YEAR = "last_year"  # the same dates a year before (seasonal)


def earlier(period: Period, compare: Compare) -> Period:
    if compare is Compare.PREVIOUS:
        return Period(period.kind, period.start - (period.end - period.start), period.start)
    return Period(period.kind, _year_before(period.start), _year_before(period.end))


def _year_before(at: datetime) -> datetime:
    try:
        return at.replace(year=at.year - 1)
    except ValueError:  # 29 February
        return at.replace(year=at.year - 1, day=28)


def _created_in(start: datetime, end: datetime) -> Any:
    return and_(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)


@dataclass(frozen=True)
class MatterCount:
    code: str
    name: str
    main_unit_id: int
    count: int


def matter_counts(session: Session, period: Period) -> dict[str, MatterCount]:
    """Tickets created in the period by matter (code), only matters with tickets."""
    query = (
        core_select(col(Matter.code), col(Matter.name), col(Matter.main_unit_id), func.count())
        .select_from(Ticket).join(Matter, col(Matter.id) == col(Ticket.matter_id))
        .where(_created_in(period.start, period.end))
        .group_by(col(Matter.code), col(Matter.name), col(Matter.main_unit_id))
    )
    return {code: MatterCount(code, name, int(unit), int(n))
            for code, name, unit, n in run_rows(session, query)}


def term_tickets(session: Session, period: Period) -> dict[str, set[int]]:
    """For each term, the tickets created in the period whose words hold it."""
    query = core_select(col(Ticket.id), col(Ticket.search_terms)).where(
        _created_in(period.start, period.end))
    out: dict[str, set[int]] = {}
    for ticket_id, terms in run_rows(session, query):
        for term in counted_terms(terms or ""):
            out.setdefault(term, set()).add(int(ticket_id))
    return out


class RepeatBy(enum.StrEnum):
    CALLER = "caller"  # the same phone number
    PLACE = "place"  # the same matter at the same place


@dataclass(frozen=True)
class Repeat:
    by: RepeatBy
    key: str  # the phone, or "<matter code> @ <place>"
    cluster: Cluster[str]


def repeats(session: Session, period: Period, rules: AnalysisRules) -> list[Repeat]:
    start = period.start - rules.repeat_window
    in_period = case((col(Ticket.created_at) >= period.start, literal(True)),
                     else_=literal(False))
    base = core_select(col(Ticket.number), col(Ticket.created_at), in_period)
    by_phone = base.add_columns(col(Ticket.caller_phone)).where(
        _created_in(start, period.end), col(Ticket.caller_phone) != "")
    by_place = (
        base.add_columns(col(Matter.code), col(Ticket.location))
        .join(Matter, col(Matter.id) == col(Ticket.matter_id))
        .where(_created_in(start, period.end), col(Ticket.location) != "")
    )
    phones = ((str(phone), Dated(n, at, bool(p)))
              for n, at, p, phone in run_rows(session, by_phone))
    places = ((f"{code} @ {place(loc)}", Dated(n, at, bool(p)))
              for n, at, p, code, loc in run_rows(session, by_place) if place(loc))
    found = [Repeat(RepeatBy.CALLER, c.key, c) for c in
             clusters(phones, window=rules.repeat_window, minimum=rules.repeat_minimum)]
    found += [Repeat(RepeatBy.PLACE, c.key, c) for c in
              clusters(places, window=rules.repeat_window, minimum=rules.repeat_minimum)]
    return sorted(found, key=lambda r: (-r.cluster.size, r.by, r.key))


@dataclass(frozen=True)
class Analysis:
    period: Period
    earlier: Period
    total: int  # tickets created in the period
    frequent: list[MatterCount]  # the ``top`` matters, most first
    hot_matters: list[Rising[str]]  # by matter code
    hot_terms: list[Rising[str]]
    repeats: list[Repeat]
    matters: dict[str, MatterCount]  # every matter of the period, by code
    term_tickets: dict[str, set[int]]  # ticket ids of the period's terms


def analyse(
    *, session: Session, period: Period, rules: AnalysisRules = DEFAULT_ANALYSIS,
    compare: Compare = Compare.PREVIOUS,
) -> Analysis:
    before = earlier(period, compare)
    matters, matters_before = matter_counts(session, period), matter_counts(session, before)
    terms, terms_before = term_tickets(session, period), term_tickets(session, before)
    total = run_rows(session, core_select(func.count()).select_from(Ticket).where(
        _created_in(period.start, period.end)))[0][0]
    frequent = sorted(matters.values(), key=lambda m: (-m.count, m.code))[: rules.top]
    hot_matters = rising({c: m.count for c, m in matters.items()},
                         {c: m.count for c, m in matters_before.items()},
                         ratio=rules.hot_ratio, minimum=rules.hot_minimum)
    hot_terms = rising(Counter({t: len(ids) for t, ids in terms.items()}),
                       {t: len(ids) for t, ids in terms_before.items()},
                       ratio=rules.hot_ratio, minimum=rules.hot_minimum)
    return Analysis(period=period, earlier=before, total=int(total), frequent=frequent,
                    hot_matters=hot_matters, hot_terms=hot_terms,
                    repeats=repeats(session, period, rules), matters=matters,
                    term_tickets=terms)
