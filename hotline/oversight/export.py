"""The ranking as a table, written as CSV or XLSX: both files come from ``ranking_table``, so
they hold the same numbers as each other and as the JSON of ``/api/oversight/units``.

    header, rows = ranking_table(scores)
    csv_text(header, rows); xlsx_bytes(header, rows, title="2026-11")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

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


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([["" if c is None else c for c in row] for row in rows])
    return out.getvalue()


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str) -> bytes:
    """One sheet named ``title`` (cut to Excel's 31 characters): the header, then the rows;
    numbers stay numbers, a missing value is an empty cell."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(title)
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
