"""``make bench-console``: the console with a million work orders (issue 5, Benchmark). A
benchmark, not a test: it prints a table.

1. Server time of the main pages (target p95 ≤ 100 ms): the operator's ``/seat``, the unit
   handler's ``/unit`` inbox, the supervisor's ``/supervisor`` and ``/supervisor/recordings``,
   the callback agent's ``/callback`` and the public status lookup, each requested ``--reps``
   times (after 5 unmeasured) in process through the real app
   (``hotline.bench.console_pages``).
2. From the AMI event of a new call to the pop in headless chromium (target p95 ≤ 300 ms),
   ``--events`` calls on the first database (``hotline.bench.console_pop``). The events are
   handed to the AMI controller's handler: no Asterisk, so Asterisk's own time to send them is
   not in the number.

The databases are those of ``make bench-tickets`` (``hotline.bench.seed``, the same ``--keep``
folder layout, reused when they hold the same seed); the bench adds its four users, a seat and
its calls to them.

Usage: python -m hotline.bench.console [--n 1000000] [--only sqlite|postgres] [--keep DIR]
       [--reps 100] [--events 50] [--seed 1]
"""

from __future__ import annotations

import random
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from hotline.app import build_app, settle_heap
from hotline.bench.console_pages import (
    BenchClock,
    lookups,
    make_users,
    prepare_app,
    run_pages,
)
from hotline.bench.console_pop import measure_pop
from hotline.bench.console_table import PAGE_TARGET_MS, POP_TARGET_MS, Row, table
from hotline.bench.seed import SeedPlan
from hotline.bench.tickets import bench_parser, postgres_database, prepare, sqlite_files
from hotline.config import load_settings
from hotline.db import make_engine

REPO = Path(__file__).resolve().parents[2]
POP_CASE = "AMI AgentCalled → pop in chromium (no Asterisk: events fed to the AMI handler)"


@dataclass
class DbRun:
    name: str
    pages: dict[str, list[float]] = field(default_factory=dict)
    pop: list[float] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_database(name: str, url: str, *, plan: SeedPlan, work: Path, reps: int,
                   events: int) -> DbRun:
    """Pages (and, when ``events``, the pop) against the seeded database at ``url``."""
    settings = load_settings(
        home=REPO, db={"url": url},
        agi={"port": _free_port()}, ami={"port": _free_port(), "connect_timeout": 0.2},
        recordings={"dir": str(work / "recordings")},
        web={"attachments_dir": str(work / "attachments")},
    )
    app = build_app(settings)
    engine: Engine = app.state.hotline.engine
    clock = BenchClock(plan.now)
    prepare_app(app, clock)
    users = make_users(engine, now=plan.now, seats=[f"PJSIP/{s}" for s in settings.sip.seats])
    settle_heap()  # as `hotline run` / `serve` do once started (no lifespan here)
    run = DbRun(name)
    try:
        for timing in run_pages(app, engine=engine, clock=clock, users=users, reps=reps,
                                seed=plan.seed):
            run.pages[timing.case] = timing.ms
        if events:
            phones = [phone for _, phone in lookups(engine, random.Random(plan.seed), 100)]
            run.pop = measure_pop(app, operator=users.operator, phones=phones, events=events,
                                  seed=plan.seed)
            print(f"    pop: {len(run.pop)} calls", flush=True)
    finally:
        engine.dispose()
    return run


@contextmanager
def sqlite_url(plan: SeedPlan, root: Path, keep: bool) -> Iterator[str]:
    path, marker = sqlite_files(root, keep)
    engine = make_engine(f"sqlite:///{path}")
    try:
        prepare(engine, plan, marker if keep else None)
    finally:
        engine.dispose()
    yield f"sqlite:///{path}"


@contextmanager
def postgres_url(plan: SeedPlan, root: Path, keep: bool) -> Iterator[str]:
    with postgres_database(root, keep) as (url, marker):
        engine = make_engine(url)
        try:
            prepare(engine, plan, marker if keep else None)
        finally:
            engine.dispose()
        yield url


def main() -> int:
    parser = bench_parser(__doc__, reps_help="requests per page")
    parser.add_argument("--events", type=int, default=50, help="calls popping in the browser")
    args = parser.parse_args()
    plan = SeedPlan(n=args.n, seed=args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="hotline-bench-console-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the PostgreSQL server runs as its own user
    work = Path(tempfile.mkdtemp(prefix="hotline-bench-console-files-"))
    keep = args.keep is not None
    runs: list[DbRun] = []
    try:
        databases = [("SQLite", sqlite_url), ("PostgreSQL", postgres_url)]
        for name, url_of in databases:
            if args.only is not None and not name.lower().startswith(args.only):
                continue  # --only postgres names PostgreSQL
            print(f"{name}:", flush=True)
            with url_of(plan, root, keep) as url:
                events = args.events if not runs else 0  # the pop: first database only
                runs.append(bench_database(name, url, plan=plan, work=work / name,
                                           reps=args.reps, events=events))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(runs, plan=plan, reps=args.reps, events=args.events)
    return 0


def print_table(runs: list[DbRun], *, plan: SeedPlan, reps: int, events: int) -> None:
    rows = [Row(case, PAGE_TARGET_MS, tuple(r.pages.get(case) for r in runs))
            for case in runs[0].pages] if runs else []
    rows.append(Row(POP_CASE, POP_TARGET_MS, tuple(r.pop or None for r in runs)))
    print()
    print(f"{plan.n:,} tickets, now = {plan.now.isoformat()}; pages: {reps} requests each "
          f"(after 5 unmeasured), server time in process; pop: {events} calls; ms")
    print()
    for line in table(rows, [r.name for r in runs]):
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
