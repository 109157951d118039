"""The ranking, the call rates and the analyses as tables, written as CSV or XLSX: both files
of one table come from the same function (``ranking_table``, ``calls_table``,
``analysis_table``), so they hold the same numbers as each other and as the JSON of
``/api/oversight/units``, ``/calls`` and ``/analyses``.

    header, rows = ranking_table(scores)
    csv_text(header, rows); xlsx_bytes(header, rows, title="2026-11")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from hotline.oversight.analyses import Analysis
from hotline.oversight.calls import CallRates
from hotline.oversight.definitions import Deduction, Rate, UnitScore

RATES = ("response", "handling", "satisfaction")
PARTS = ("numerator", "denominator")
LEAD = ("rank", "unit", "score", "base", "deducted")

Cell = str | int | float | None


def rate_value(r: Rate) -> float | None:
    value = r.value
    return None if value is None else round(value, 4)


def ranking_table(scores: Iterable[UnitScore]) -> tuple[list[str], list[list[Cell]]]:
    """One row per unit in ranking order: rank, unit, score, base, deducted, each rate's
    numerator, denominator and value, then each deduction's count."""
    header = [*LEAD, *(f"{n}_{p}" for n in RATES for p in (*PARTS, "value")),
              *(d.value for d in Deduction)]
    rows: list[list[Cell]] = []
    for s in scores:
        r = s.rates
        rates = {"response": r.response, "handling": r.handling,
                 "satisfaction": r.satisfaction}
        rows.append([
            s.rank, r.unit, s.score, s.base, s.deducted,
            *(x for n in RATES for x in (rates[n].numerator, rates[n].denominator,
                                         rate_value(rates[n]))),
            *(r.deductions.get(d, 0) for d in Deduction),
        ])
    return header, rows


CALL_RATES = ("answered", "within_15s", "within_20s", "within_30s", "abandoned",
              "direct_answer", "not_request")
CALL_HEADER = ["measure", "numerator", "denominator", "value"]


def calls_table(c: CallRates) -> tuple[list[str], list[list[Cell]]]:
    """One row per call measure: offered (a count), each rate's numerator, denominator and
    value, then the average wait and talk in seconds (a value only)."""
    rows: list[list[Cell]] = [["offered", None, None, c.offered]]
    for name in CALL_RATES:
        r: Rate = getattr(c, name)
        rows.append([name, r.numerator, r.denominator, rate_value(r)])
    rows.append(["average_wait_seconds", None, None, c.average_wait_seconds])
    rows.append(["average_talk_seconds", None, None, c.average_talk_seconds])
    return list(CALL_HEADER), rows


ANALYSIS_HEADER = ["section", "key", "name", "count", "before", "ratio", "tickets"]


def analysis_table(
    a: Analysis, *, mask: Callable[[str], str | None] = lambda phone: phone,
) -> tuple[list[str], list[list[Cell]]]:
    """The analysis as rows: ``total`` (tickets created in the period), each ``frequent``
    matter, each hot matter and term (``hot_matter``, ``hot_term``: count now and before,
    ratio), each repeat cluster (``repeat_caller`` with the phone through ``mask``,
    ``repeat_place``: its size and ticket numbers)."""
    rows: list[list[Cell]] = [["total", "", "", a.total, None, None, ""]]
    rows += [["frequent", m.code, m.name, m.count, None, None, ""] for m in a.frequent]
    rows += [["hot_matter", h.key, a.matters[h.key].name, h.now, h.before, h.ratio, ""]
             for h in a.hot_matters]
    rows += [["hot_term", h.key, "", h.now, h.before, h.ratio, ""] for h in a.hot_terms]
    rows += [[f"repeat_{r.by.value}", mask(r.key) if r.by.value == "caller" else r.key, "",
              r.cluster.size, None, None, " ".join(d.number for d in r.cluster.tickets)]
             for r in a.repeats]
    return list(ANALYSIS_HEADER), rows


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([["" if c is None else c for c in row] for row in rows])
    return out.getvalue()


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str) -> bytes:
    """One sheet named ``title`` (cut to Excel's 31 characters): the header, then the rows;
    numbers stay numbers, a missing value is an empty cell."""
    return xlsx_book({title: (header, rows)})


def xlsx_book(sheets: Mapping[str, tuple[Sequence[str], Iterable[Sequence[Cell]]]]) -> bytes:
    """A workbook of one sheet per table, in order, named by its key (as ``xlsx_bytes``)."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(_sheet_title(title))
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join("-" if c in "[]:*?/\\" else c for c in title)
    return cleaned[:31] or "ranking"


def as_dicts(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(header, row, strict=True)) for row in rows]
