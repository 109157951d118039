"""Benchmark (not a test) of the oversight reports on the synthetic city (``bench.city``).

Times, on SQLite and on PostgreSQL, p50 and p95 over ``--reps`` runs after one warm-up:

* **monthly report**: what ``/supervisor/reports`` computes for the last whole month: the
  rates, score and rank of every unit, the month's call rates and the analyses (frequent
  matters, hot topics against the month before, repeat requests) (target ≤ 5 s); each of the
  three parts is also timed alone;
* **ranking for a year**: rates, score and rank of every unit over the last 365 days
  (target ≤ 2 s);
* **dashboard refresh**: what the supervisor's workspace (``/supervisor``, fetched again on
  every ticket change) reads: the live wall (calls in progress, waiting, lights), today's calls
  per hour and the open tickets' lights per unit, the replies, red tickets and extensions to
  review (target ≤ 200 ms). The template's rendering is not included.

The city is seeded into ``--keep DIR`` (``sqlite.db``, a PostgreSQL cluster in ``pg``) unless
it holds the same plan already (``make seed-city`` seeds the same SQLite file).

Usage: python -m hotline.bench.reports [--tickets N] [--calls N] [--years 2] [--reps 5]
    [--only sqlite|postgres] [--keep var/city]
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from time import perf_counter, process_time

from sqlalchemy import Engine
from sqlmodel import Session

from hotline.bench.city import (
    PG_SETTINGS,
    CityPlan,
    add_plan_arguments,
    describe,
    plan_from,
    prepare,
)
from hotline.bench.pg import postgres_server
from hotline.bench.seed import CST, DEFAULT_NOW
from hotline.db import make_engine
from hotline.oversight.analyses import analyse
from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import Period, PeriodKind, period
from hotline.oversight.queries import ranked_units
from hotline.web.pages.supervisor_charts import workspace_charts
from hotline.web.pages.supervisor_review import review_context, wall

# The parts of the monthly report are timed apart too (no target of their own).
TARGETS: dict[str, float | None] = {
    "monthly report": 5.0, "· its ranking": None, "· its call rates": None,
    "· its analyses": None, "ranking for a year": 2.0, "dashboard refresh": 0.2,
}


def last_month() -> Period:
    return period(PeriodKind.MONTH, DEFAULT_NOW.date().replace(day=1) - timedelta(days=1),
                  zone=CST)


def month_ranking(session: Session) -> int:
    return len(ranked_units(session=session, period=last_month(), as_of=DEFAULT_NOW))


def month_calls(session: Session) -> int:
    return call_rates(session=session, period=last_month()).offered


def month_analyses(session: Session) -> int:
    return analyse(session=session, period=last_month()).total


def monthly(session: Session) -> int:
    units = month_ranking(session)
    month_calls(session)
    month_analyses(session)
    return units


def yearly(session: Session) -> int:
    today = DEFAULT_NOW.date()
    p = period(PeriodKind.CUSTOM, today - timedelta(days=364), zone=CST, until=today)
    return len(ranked_units(session=session, period=p, as_of=DEFAULT_NOW))


def dashboard(session: Session) -> int:
    lights = wall(session, DEFAULT_NOW)["lights"]
    workspace_charts(session=session, now=DEFAULT_NOW)
    review_context(session, DEFAULT_NOW)
    return sum(lights.values())


CASES: dict[str, tuple[Callable[[Session], int], str]] = {
    "monthly report": (monthly, "units"), "· its ranking": (month_ranking, "units"),
    "· its call rates": (month_calls, "calls offered"),
    "· its analyses": (month_analyses, "tickets"),
    "ranking for a year": (yearly, "units"), "dashboard refresh": (dashboard, "open tickets lit"),
}


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float
    units: int
    cpu: float  # p50 of this process's CPU time (SQLite's work, not a PostgreSQL server's)


def measure(engine: Engine, reps: int) -> dict[str, Timing]:
    out = {}
    for name, (case, what) in CASES.items():
        seconds, cpu, units = [], [], 0
        for i in range(reps + 1):
            with Session(engine) as session:
                started, used = perf_counter(), process_time()
                units = case(session)
                if i:  # the first run warms the caches
                    seconds.append(perf_counter() - started)
                    cpu.append(process_time() - used)
        seconds.sort()
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
        out[name] = Timing(statistics.median(seconds), p95, units, statistics.median(cpu))
        print(f"  {name}: p50 {out[name].p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"CPU {out[name].cpu * 1000:.0f} ms ({units:,} {what})", flush=True)
    return out


def run(name: str, engine: Engine, plan: CityPlan, reps: int) -> dict[str, Timing]:
    print(f"{name}:", flush=True)
    try:
        print(describe(prepare(engine, plan, progress=lambda line: print(line, flush=True))),
              flush=True)
        analyse_tables(engine)  # the statistics of indexes a later migration made
        print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
        return measure(engine, reps)
    finally:
        engine.dispose()


def analyse_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit = 10000")
        conn.exec_driver_sql("ANALYZE")


def print_table(results: dict[str, dict[str, Timing]], plan: CityPlan, reps: int) -> None:
    names = list(results)
    print()
    print(f"{plan.tickets:,} tickets, {plan.calls:,} calls over {plan.years} years, "
          f"now = {DEFAULT_NOW.isoformat()}, wall p50 / p95 of {reps} runs (this process's "
          f"CPU p50), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| report | target | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for case, target in TARGETS.items():
        cells = []
        for name in names:
            t = results[name][case]
            ok = "" if target is None else " ok" if t.p95 <= target else " MISSED"
            cells.append(f"{_ms(t.p50)} / {_ms(t.p95)} ({_ms(t.cpu)}){ok}")
        goal = "" if target is None else f"≤ {_ms(target)}"
        print(f"| {case} | {goal} | " + " | ".join(cells) + " |")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_arguments(parser)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--keep", type=Path, default=Path("var/city"))
    args = parser.parse_args()
    plan = plan_from(args)
    root: Path = args.keep
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the PostgreSQL server runs as its own user (root runs it through runuser)
    results = {}
    if args.only in (None, "sqlite"):
        engine = make_engine(f"sqlite:///{root / 'sqlite.db'}")
        results["SQLite"] = run("SQLite", engine, plan, args.reps)
    if args.only in (None, "postgres"):
        with postgres_server(root / "pg", settings=PG_SETTINGS) as server:
            server.create_database("city")
            results["PostgreSQL"] = run("PostgreSQL", make_engine(server.url("city")), plan,
                                        args.reps)
    print_table(results, plan, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
