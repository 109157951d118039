"""Everything one report (统计报表) of a period shows, gathered once: the page
(``/supervisor/reports``) and the scheduled reports (``generated.py``) both read ``gather``,
and the scheduled CSV and XLSX files are built from the same ``ReportData`` by the table
functions of ``export.py``, so a file holds the numbers its page shows.

    data = gather(session=session, period=p, as_of=now, rules=rules)
    tables = report_tables(data, mask=mask)       # ranking, calls, analyses, rates
    xlsx_book(tables)                             # one sheet per table
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from hotline.oversight.analyses import Analysis, Compare, analyse
from hotline.oversight.calls import CallRates, call_rates
from hotline.oversight.definitions import OversightRules, Period, Rate, UnitScore
from hotline.oversight.export import (
    Cell,
    analysis_table,
    calls_table,
    ranking_table,
    rate_value,
)
from hotline.oversight.queries import ranked_units
from hotline.oversight.rate_trend import RateTrend, rate_trend
from hotline.oversight.volume import Trend, ticket_volume

Table = tuple[list[str], list[list[Cell]]]
RATE_NAMES = ("response", "handling", "satisfaction")


@dataclass(frozen=True)
class ReportData:
    period: Period
    as_of: datetime  # the rates are judged as of this moment
    compare: Compare
    scores: list[UnitScore]
    calls: CallRates
    analysis: Analysis
    volume: Trend
    rates: RateTrend


def gather(*, session: Session, period: Period, as_of: datetime, rules: OversightRules,
           compare: Compare = Compare.PREVIOUS) -> ReportData:
    return ReportData(
        period=period, as_of=as_of, compare=compare,
        scores=ranked_units(session=session, period=period, as_of=as_of, rules=rules),
        calls=call_rates(session=session, period=period),
        analysis=analyse(session=session, period=period, compare=compare),
        volume=ticket_volume(session=session, period=period, compare=compare),
        rates=rate_trend(session=session, period=period, as_of=as_of, rules=rules),
    )


def rates_table(trend: RateTrend) -> Table:
    """One row per step: its label and local dates, then each rate's numerator, denominator
    and value (as the ranking's columns)."""
    header = ["step", "start", "end",
              *(f"{n}_{p}" for n in RATE_NAMES for p in ("numerator", "denominator", "value"))]
    rows: list[list[Cell]] = []
    for s in trend.steps:
        rates: tuple[Rate, ...] = (s.response, s.handling, s.satisfaction)
        rows.append([s.label, s.start.date().isoformat(), s.end.date().isoformat(),
                     *(x for r in rates for x in (r.numerator, r.denominator, rate_value(r)))])
    return header, rows


def report_tables(data: ReportData, *, mask: Callable[[str], str | None]) -> dict[str, Table]:
    """The report's tables by name, in the page's order."""
    return {"ranking": ranking_table(data.scores), "calls": calls_table(data.calls),
            "analyses": analysis_table(data.analysis, mask=mask),
            "rates": rates_table(data.rates)}
