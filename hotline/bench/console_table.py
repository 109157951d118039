"""The ``make bench-console`` table: percentiles and rows, pure (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PAGE_TARGET_MS = 100.0
POP_TARGET_MS = 300.0


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.95: p95) of ``values``, as
    ``hotline.bench.tickets`` counts it; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass(frozen=True)
class Row:
    """One measure: its samples in ms per database (None: not measured there)."""

    case: str
    target_ms: float
    samples: tuple[Sequence[float] | None, ...]


def _cells(samples: Sequence[float] | None, target_ms: float) -> str:
    if not samples:
        return "— | — | —"
    p95 = percentile(samples, 0.95)
    mark = " ✗" if p95 > target_ms else ""
    return f"{percentile(samples, 0.5):.1f} | {p95:.1f}{mark} | {max(samples):.1f}"


def table(rows: Sequence[Row], databases: Sequence[str]) -> list[str]:
    """Markdown lines: a row per measure, p50 / p95 / max per database (✗: p95 over target)."""
    lines = [
        "| measure | target p95 (ms) | "
        + " | ".join(f"{d} p50 | {d} p95 | {d} max" for d in databases) + " | n |",
        "|---|---|" + "---|---|---|" * len(databases) + "---|",
    ]
    for row in rows:
        counts = {len(s) for s in row.samples if s}
        n = "/".join(str(c) for c in sorted(counts)) or "0"
        cells = " | ".join(_cells(s, row.target_ms) for s in row.samples)
        lines.append(f"| {row.case} | {row.target_ms:.0f} | {cells} | {n} |")
    return lines
