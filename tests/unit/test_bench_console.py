"""The console benchmark's pure parts: percentiles and the table (``make bench-console``).
How fast anything runs is the benchmark's business, never asserted here."""

from __future__ import annotations

import math

from hotline.bench.console_table import Row, percentile, table


def test_given_samples_when_taking_percentiles_then_nearest_rank_as_the_tickets_bench() -> None:
    samples = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.95) == 96.0
    assert percentile(samples, 1.0) == 100.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0  # unsorted input


def test_given_no_samples_when_taking_a_percentile_then_nan() -> None:
    assert math.isnan(percentile([], 0.95))


def test_given_two_databases_when_tabled_then_p50_p95_max_each_and_over_target_marked() -> None:
    rows = [
        Row("operator: /seat", 100.0, ([10.0] * 19 + [20.0], [150.0] * 20)),
        Row("pop", 300.0, ([100.0, 200.0], None)),
    ]
    lines = table(rows, ["SQLite", "PostgreSQL"])
    assert lines[0] == ("| measure | target p95 (ms) | SQLite p50 | SQLite p95 | SQLite max | "
                        "PostgreSQL p50 | PostgreSQL p95 | PostgreSQL max | n |")
    assert lines[1] == "|---|---|---|---|---|---|---|---|---|"
    assert lines[2] == ("| operator: /seat | 100 | 10.0 | 20.0 | 20.0 | 150.0 | 150.0 ✗ | 150.0 "
                        "| 20 |")
    assert lines[3] == "| pop | 300 | 200.0 | 200.0 | 200.0 | — | — | — | 2 |"
