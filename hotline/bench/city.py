"""A synthetic city for the oversight reports: tickets with their oversight facts
(``hotline.bench.seed``) and call records (``hotline.bench.city_calls``) over some years to a
fixed ``now``, written in bulk into a migrated database with the default responsibility list.

Usage::

    python -m hotline.bench.city seed [--tickets 2000000] [--calls 10000000] [--years 2]
        [--db PATH_OR_URL | --postgres DIR]

The database is ``--db`` (a SQLite path or a database URL), else ``DATABASE_URL``, else
``var/city/sqlite.db``; ``--postgres DIR`` seeds a throwaway PostgreSQL server kept in DIR
(database ``city``). A database already seeded with the same plan is left as it is (a marker
beside a SQLite file, a table ``bench_city`` in a server's database); any other database must
hold no tickets.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Engine, text

from hotline.bench.city_calls import CALL_COLUMNS, CallPlan, CallReport, CallSeeder
from hotline.bench.pg import BENCH_SETTINGS, postgres_server
from hotline.bench.seed import (
    DEFAULT_NOW,
    SEEDER_VERSION,
    SeedPlan,
    SeedReport,
    _after_copy,
    _postgres_time,
    _sqlite_time,
    _write,
    seed_database,
)
from hotline.db import make_engine, migrate, session_scope
from hotline.tickets.units import load_default_list

DEFAULT_SQLITE = Path("var/city/sqlite.db")
# The bench server's settings with less WAL kept: the full city is some 20 GB on each database.
PG_SETTINGS = {**BENCH_SETTINGS, "max_wal_size": "1GB"}
CITY_VERSION = 1


@dataclass(frozen=True)
class CityPlan:
    tickets: int = 2_000_000
    calls: int = 10_000_000
    years: int = 2
    seed: int = 1

    @property
    def days(self) -> int:
        return 365 * self.years

    def tickets_plan(self) -> SeedPlan:
        return SeedPlan(n=self.tickets, now=DEFAULT_NOW, seed=self.seed, days=self.days)

    def calls_plan(self) -> CallPlan:
        return CallPlan(n=self.calls, now=DEFAULT_NOW, days=self.days, seed=self.seed)

    def marker(self) -> str:
        return json.dumps({**asdict(self), "now": DEFAULT_NOW.isoformat(),
                           "seeder": SEEDER_VERSION, "city": CITY_VERSION}, sort_keys=True)


@dataclass
class CityReport:
    tickets: SeedReport
    calls: CallReport
    ticket_seconds: float
    call_seconds: float


Progress = Callable[[str], None]


def seed_city(engine: Engine, plan: CityPlan, *, progress: Progress | None = None) -> CityReport:
    """Write the city into a migrated database whose responsibility list is loaded."""
    say = progress or (lambda _line: None)
    tickets_plan = plan.tickets_plan()
    step = max(plan.tickets // 10, tickets_plan.batch)

    def ticket_progress(report: SeedReport) -> None:
        if report.tickets % step < tickets_plan.batch:
            say(f"  {report.tickets:,} tickets")

    tickets = seed_database(engine, tickets_plan, progress=ticket_progress)
    started = perf_counter()
    calls = seed_calls(engine, plan.calls_plan(), progress=say)
    return CityReport(tickets, calls, tickets.seconds, perf_counter() - started)


def seed_calls(engine: Engine, plan: CallPlan, *, progress: Progress | None = None
               ) -> CallReport:
    postgres = engine.dialect.name == "postgresql"
    seeder = CallSeeder(plan, _postgres_time if postgres else _sqlite_time)
    step = max(plan.n // 10, plan.batch)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        for batch in seeder.batches():
            _write(conn, "call", CALL_COLUMNS, batch, postgres=postgres)
            conn.commit()
            if progress is not None and seeder.report.calls % step < plan.batch:
                progress(f"  {seeder.report.calls:,} calls")
        _analyse(conn, postgres=postgres)
    finally:
        raw.close()
    return seeder.report


def _analyse(conn: Any, *, postgres: bool) -> None:
    if postgres:
        _after_copy(conn, ("call",))
    else:
        conn.execute("ANALYZE")
        conn.commit()


def prepare(engine: Engine, plan: CityPlan, *, progress: Progress | None = None
            ) -> CityReport | None:
    """Migrate and seed, unless the database holds this plan already (None then)."""
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_city (plan TEXT NOT NULL)"))
        held = conn.execute(text("SELECT plan FROM bench_city")).scalars().all()
        if held == [plan.marker()]:
            return None
        if conn.execute(text("SELECT count(*) FROM ticket")).scalar_one():
            raise SystemExit(f"the database holds tickets of another seed ({held}): "
                             "give an empty one")
    with session_scope(engine) as session:
        load_default_list(session=session)
    report = seed_city(engine, plan, progress=progress)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_city (plan) VALUES (:plan)"),
                     {"plan": plan.marker()})
    return report


def describe(report: CityReport | None) -> str:
    if report is None:
        return "  reusing the seeded city"
    t, c = report.tickets, report.calls
    return (f"  {t.tickets:,} tickets, {t.events:,} events, {t.facts:,} oversight facts in "
            f"{report.ticket_seconds:.0f} s; {c.calls:,} calls ({c.offered:,} offered, "
            f"{c.answered:,} answered, {c.abandoned:,} abandoned) in {report.call_seconds:.0f} s")


def _url(db: str | None) -> str:
    found = db or os.environ.get("DATABASE_URL")
    if found and "://" in found:
        return found
    path = Path(found) if found else DEFAULT_SQLITE
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed", help="seed the city")
    add_plan_arguments(seed)
    where = seed.add_mutually_exclusive_group()
    where.add_argument("--db", help="a SQLite path or a database URL")
    where.add_argument("--postgres", type=Path, help="a throwaway PostgreSQL server's folder")
    args = parser.parse_args()
    plan = plan_from(args)
    if args.postgres is not None:
        args.postgres.mkdir(parents=True, exist_ok=True)
        args.postgres.chmod(0o755)
        with postgres_server(args.postgres, settings=PG_SETTINGS) as server:
            server.create_database("city")
            return _seed(make_engine(server.url("city")), plan)
    return _seed(make_engine(_url(args.db)), plan)


def _seed(engine: Engine, plan: CityPlan) -> int:
    try:
        print(f"seeding {engine.url.render_as_string()}", flush=True)
        print(describe(prepare(engine, plan, progress=lambda line: print(line, flush=True))))
    finally:
        engine.dispose()
    return 0


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)


def plan_from(args: argparse.Namespace) -> CityPlan:
    return CityPlan(tickets=args.tickets, calls=args.calls, years=args.years, seed=args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
