"""``make bench-tickets``: finding work orders among a million, and the deadline-light scan,
on SQLite and on PostgreSQL (issue 3, Benchmark). A benchmark, not a test: it prints a table.

Each database is migrated, given the default responsibility list and seeded with the same
tickets (``hotline.bench.seed``: two years to ``now``, realistic shares). Then, with the real
code (``queries.list_tickets``, ``scheduler.LightScheduler``):

* the light scan at ``now`` (``LightScheduler.run_once``): the first pass publishes every
  ticket that turned yellow or red (about two thousand), the second finds nothing new; the
  scan's query alone is timed too;
* list, filter and text-search pages (50 rows, newest first), each case repeated with varied
  parameters (a unit, a status, a word …) after a few unmeasured warm-up queries; a session
  per query, as the API opens one per request. Targets: list and filter p95 ≤ 50 ms, text
  search p95 ≤ 200 ms, light scan ≤ 1 s.

``--keep DIR`` keeps the databases in DIR and reuses them when they hold the same seed (what
the light scan published is put back afterwards); without it they live in a temporary folder.

Usage: python -m hotline.bench.tickets [--n 1000000] [--only sqlite|postgres] [--keep DIR]
       [--reps 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter

from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select, update

from hotline.bench.pg import postgres_server
from hotline.bench.seed import (
    DEFAULT_NOW,
    RARE,
    SEEDER_VERSION,
    SeedPlan,
    SeedReport,
    seed_database,
)
from hotline.db import make_engine, migrate, session_scope
from hotline.tickets.models import Light, Ticket, TicketChange, TicketType
from hotline.tickets.queries import TicketQuery, encode_cursor, list_tickets
from hotline.tickets.scheduler import LightScheduler
from hotline.tickets.service import replay_ticket, state_of
from hotline.tickets.units import load_default_list

TARGET_MS = {"list": 50.0, "filter": 50.0, "text": 200.0}
SCAN_TARGET_S = 1.0
WARM_UP = 5
OPEN = ("dispatched", "signed", "in_progress", "replied", "returned")
STATUSES = (*OPEN, "accepted", "reviewed", "revisit", "closed", "archived", "parked",
            "transferred")
FREQUENT = ("物业", "噪音", "路灯", "小区", "扰民", "停水", "电梯", "垃圾", "希望", "社保")
PAIRS = ("路灯 不亮", "噪音 扰民", "物业 收费", "电梯 故障", "停水 通知", "人民路 路灯",
         "幸福家园 物业", "工地 施工", "拖欠 工资", "广场舞 声音")
DB_NAME = "bench_tickets"


@dataclass
class Timing:
    case: str
    kind: str  # list / filter / text
    ms: list[float]
    rows: list[int]

    def p(self, share: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class DbResult:
    name: str
    seed: SeedReport | None  # None: reused from --keep
    size_mb: float
    due: tuple[int, float]  # (tickets due a light, seconds to find them)
    scan: list[tuple[int, float]]  # (changes published, seconds) per pass
    replayed: tuple[int, int]  # (equal, checked)
    timings: list[Timing] = field(default_factory=list)


@dataclass(frozen=True)
class Params:
    """What the varied queries pick from, read from the seeded database."""

    units: list[int]  # main units of tickets
    holders: list[int]  # units holding assignments
    phones: list[str]
    cursors: list[str]  # pages 150 to 250 of the whole list
    anywhere: list[str]  # cursors at random tickets of the two years
    start: datetime
    end: datetime


def read_params(engine: Engine, rng: random.Random) -> Params:
    with Session(engine) as session:
        units = [u for (u,) in session.execute(text(
            "SELECT DISTINCT main_unit_id FROM ticket WHERE main_unit_id IS NOT NULL"))]
        holders = [u for (u,) in session.execute(text("SELECT DISTINCT unit_id FROM assignment"))]
        top = session.execute(text("SELECT max(id) FROM ticket")).scalar_one()
        picked = [session.get(Ticket, rng.randint(1, top)) for _ in range(200)]
        anywhere = [encode_cursor(t) for t in picked if t is not None]
        phones = [t.caller_phone for t in picked if t is not None]
        first = session.exec(select(func.min(Ticket.created_at))).one()
    cursors, cursor = [], None
    for page in range(250):
        with Session(engine) as session:
            cursor = list_tickets(session=session, query=TicketQuery(cursor=cursor)).next_cursor
        if page >= 150 and cursor is not None:
            cursors.append(cursor)
    assert first is not None
    return Params(units=sorted(units), holders=sorted(holders), phones=phones, cursors=cursors,
                  anywhere=anywhere, start=first, end=DEFAULT_NOW)


def cases(p: Params) -> list[tuple[str, str, Callable[[random.Random], TicketQuery]]]:
    """(name, kind, a query with varied parameters)."""
    span = (p.end - p.start).days

    def window(r: random.Random, words: str = "") -> TicketQuery:
        start = p.start + timedelta(days=r.uniform(0, span - 30))
        return TicketQuery(created_from=start, created_to=start + timedelta(days=r.uniform(1, 30)),
                           text=words)

    def status(r: random.Random) -> list[str]:
        return [r.choice(STATUSES)]

    rare = [w for w in RARE if len(w) <= 4]
    return [
        ("list: first page", "list", lambda r: TicketQuery()),
        ("list: pages 150-250 by cursor", "list",
         lambda r: TicketQuery(cursor=r.choice(p.cursors))),
        ("list: a page anywhere in 2 years", "list",
         lambda r: TicketQuery(cursor=r.choice(p.anywhere))),
        ("filter: status", "filter", lambda r: TicketQuery(status=status(r))),
        ("filter: open statuses", "filter", lambda r: TicketQuery(status=list(OPEN))),
        ("filter: main unit", "filter", lambda r: TicketQuery(unit_id=r.choice(p.units))),
        ("filter: request type", "filter",
         lambda r: TicketQuery(request_type=[r.choice(list(TicketType))])),
        ("filter: light", "filter", lambda r: TicketQuery(light=[r.choice(
            (Light.GREEN, Light.YELLOW, Light.RED))])),
        ("filter: date range (1-30 days)", "filter", window),
        ("filter: unit + status", "filter",
         lambda r: TicketQuery(unit_id=r.choice(p.units), status=status(r))),
        ("filter: caller phone", "filter", lambda r: TicketQuery(caller_phone=r.choice(p.phones))),
        ("inbox: unit handler", "filter",
         lambda r: TicketQuery(visible_to_unit=r.choice(p.holders))),
        ("inbox: unit handler, open", "filter",
         lambda r: TicketQuery(visible_to_unit=r.choice(p.holders), status=list(OPEN))),
        ("text: 1 frequent word", "text", lambda r: TicketQuery(text=r.choice(FREQUENT))),
        ("text: 2 words", "text", lambda r: TicketQuery(text=r.choice(PAIRS))),
        ("text: a rare word", "text", lambda r: TicketQuery(text=r.choice(rare))),
        ("text: word + status", "text",
         lambda r: TicketQuery(text=r.choice(FREQUENT), status=status(r))),
        ("text: word + unit", "text",
         lambda r: TicketQuery(text=r.choice(FREQUENT), unit_id=r.choice(p.units))),
        ("text: word + date range", "text",
         lambda r: window(r, r.choice(FREQUENT))),
    ]


def measure(engine: Engine, params: Params, reps: int, seed: int) -> list[Timing]:
    timings = []
    for name, kind, make in cases(params):
        rng = random.Random(f"{seed}:{name}")
        timing = Timing(name, kind, [], [])
        for i in range(WARM_UP + reps):
            query = make(rng)
            started = perf_counter()
            with Session(engine) as session:
                page = list_tickets(session=session, query=query)
            elapsed = (perf_counter() - started) * 1000
            if i >= WARM_UP:
                timing.ms.append(elapsed)
                timing.rows.append(len(page.items))
        timings.append(timing)
        print(f"    {name}: p95 {timing.p(0.95):.1f} ms", flush=True)
    return timings


def find_due(engine: Engine, now: datetime) -> tuple[int, float]:
    """The scan's own query alone: the tickets whose light can change by ``now``."""
    started = perf_counter()
    with Session(engine) as session:
        due = session.exec(select(Ticket.id).where(col(Ticket.next_light_at) <= now)).all()
    return len(due), perf_counter() - started


def light_scan(engine: Engine, now: datetime) -> list[tuple[int, float]]:
    """Two passes of the real scheduler at ``now``: (changes published, seconds) each."""
    scheduler = LightScheduler(engine=engine, clock=lambda: now)
    passes = []
    for _ in range(2):
        started = perf_counter()
        published = scheduler.run_once()
        passes.append((published, perf_counter() - started))
    return passes


@contextmanager
def light_scan_undone(engine: Engine, now: datetime) -> Iterator[None]:
    """Put back the lights the scan publishes, so that a kept database can be measured again."""
    with Session(engine) as session:
        due = session.exec(select(Ticket.id, Ticket.light, Ticket.next_light_at)
                           .where(col(Ticket.next_light_at) <= now)).all()
        last_change = session.exec(select(func.coalesce(func.max(TicketChange.id), 0))).one()
    try:
        yield
    finally:
        with session_scope(engine) as session:
            if due:
                session.execute(update(Ticket), [
                    {"id": ticket_id, "light": light, "next_light_at": at}
                    for ticket_id, light, at in due
                ])
            session.execute(text("DELETE FROM ticket_change WHERE id > :last"),
                            {"last": last_change})


def replay_check(engine: Engine, rng: random.Random, n: int = 200) -> tuple[int, int]:
    """Seeded tickets whose event log replays to their stored state, of ``n`` picked at random."""
    with Session(engine) as session:
        top = session.execute(text("SELECT max(id) FROM ticket")).scalar_one()
        equal = 0
        for _ in range(n):
            ticket = session.get(Ticket, rng.randint(1, top))
            assert ticket is not None and ticket.id is not None
            equal += replay_ticket(session=session, ticket_id=ticket.id) == state_of(ticket)
    return equal, n


def prepare(engine: Engine, plan: SeedPlan, marker: Path | None) -> SeedReport | None:
    """Migrate and seed, unless ``marker`` says the database already holds this seed."""
    wanted = {"n": plan.n, "seed": plan.seed, "now": plan.now.isoformat(),
              "seeder": SEEDER_VERSION}
    migrate(engine)  # a kept database too: it may predate a migration
    if marker is not None and marker.exists() and json.loads(marker.read_text()) == wanted:
        print("  reusing the seeded database", flush=True)
        return None
    with session_scope(engine) as session:
        load_default_list(session=session)
    step = max(plan.n // 10, plan.batch)

    def progress(report: SeedReport) -> None:
        if report.tickets % step < plan.batch:
            print(f"  seeded {report.tickets:,} tickets", flush=True)

    report = seed_database(engine, plan, progress=progress)
    if marker is not None:
        marker.write_text(json.dumps(wanted))
    return report


def run_database(name: str, engine: Engine, plan: SeedPlan, *, marker: Path | None,
                 reps: int, size: Callable[[], float]) -> DbResult:
    print(f"{name}:", flush=True)
    report = prepare(engine, plan, marker)
    if report is not None:
        print(f"  seeding: {report.seconds:.0f} s ({report.templates:,} templates, "
              f"{report.exact:,} tickets walked for themselves, {report.due:,} due a light)",
              flush=True)
    rng = random.Random(plan.seed)
    replayed = replay_check(engine, rng)
    with light_scan_undone(engine, plan.now):
        due = find_due(engine, plan.now)
        scan = light_scan(engine, plan.now)
        print(f"  light scan: {scan}", flush=True)
        params = read_params(engine, rng)
        timings = measure(engine, params, reps, plan.seed)
    return DbResult(name, report, size(), due, scan, replayed, timings)


def sqlite_files(root: Path, keep: bool) -> tuple[Path, Path]:
    """The SQLite database in ``root`` and its seed marker; removed unless kept and marked."""
    path = root / "tickets.db"
    marker = root / "sqlite.json"
    if not (keep and marker.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    return path, marker


@contextmanager
def postgres_database(root: Path, keep: bool) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL server on ``root/pg`` with the bench's database: (its URL, seed marker)."""
    marker = root / "postgres.json"
    with postgres_server(root / "pg") as server:
        if server.create_database(DB_NAME) or not keep:
            marker.unlink(missing_ok=True)
        yield server.url(DB_NAME), marker


def run_sqlite(plan: SeedPlan, root: Path, reps: int, keep: bool) -> DbResult:
    path, marker = sqlite_files(root, keep)
    engine = make_engine(f"sqlite:///{path}")
    try:
        return run_database("SQLite", engine, plan, marker=marker if keep else None, reps=reps,
                            size=lambda: sum(p.stat().st_size for p in root.glob("tickets.db*"))
                            / 2**20)
    finally:
        engine.dispose()


def run_postgres(plan: SeedPlan, root: Path, reps: int, keep: bool) -> DbResult:
    with postgres_database(root, keep) as (url, marker):
        engine = make_engine(url)
        try:
            def size() -> float:
                with engine.connect() as conn:
                    return float(conn.execute(text(
                        "SELECT pg_database_size(current_database())")).scalar_one()) / 2**20

            return run_database("PostgreSQL", engine, plan, marker=marker if keep else None,
                                reps=reps, size=size)
        finally:
            engine.dispose()


def print_table(results: list[DbResult], plan: SeedPlan, reps: int) -> None:
    names = [r.name for r in results]
    print()
    print(f"{plan.n:,} tickets, now = {plan.now.isoformat()}, {reps} queries per case "
          f"(after {WARM_UP} unmeasured), times in ms, 50 rows a page")
    print()
    print("| case | target p95 | " + " | ".join(f"{n} p50 | {n} p95 | {n} max" for n in names)
          + " | rows |")
    print("|---|---|" + "---|---|---|" * len(results) + "---|")
    for i, timing in enumerate(results[0].timings):
        cells = []
        for r in results:
            t = r.timings[i]
            p95 = t.p(0.95)
            mark = " ✗" if p95 > TARGET_MS[t.kind] else ""
            cells.append(f"{t.p(0.5):.1f} | {p95:.1f}{mark} | {max(t.ms):.1f}")
        rows = statistics.mean(results[0].timings[i].rows)
        print(f"| {timing.case} | {TARGET_MS[timing.kind]:.0f} | " + " | ".join(cells)
              + f" | {rows:.0f} |")
    print()
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(results))
    lines: list[tuple[str, Callable[[DbResult], str]]] = [
        ("seeding (s)", lambda r: f"{r.seed.seconds:.0f}" if r.seed else "reused"),
        ("tickets / events / assignments", lambda r: (
            f"{r.seed.tickets:,} / {r.seed.events:,} / {r.seed.assignments:,}"
            if r.seed else "reused")),
        ("database size (MB)", lambda r: f"{r.size_mb:,.0f}"),
        ("light scan, its query alone: tickets due, s",
         lambda r: f"{r.due[0]:,}, {r.due[1]:.3f}"),
        ("light scan, first pass: changes, s (target 1 s)",
         lambda r: _scan_cell(r.scan[0])),
        ("light scan, second pass: changes, s", lambda r: _scan_cell(r.scan[1])),
        ("seeded tickets replaying to their state", lambda r: f"{r.replayed[0]}/{r.replayed[1]}"),
    ]
    for label, cell in lines:
        print(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")


def _scan_cell(scan: tuple[int, float]) -> str:
    changes, seconds = scan
    return f"{changes:,}, {seconds:.2f}" + (" ✗" if seconds > SCAN_TARGET_S else "")


def bench_parser(doc: str | None, *, reps_help: str) -> argparse.ArgumentParser:
    """The options of the benches on the seeded databases: --n, --only, --keep, --reps, --seed."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="tickets to seed")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the databases in this folder")
    parser.add_argument("--reps", type=int, default=100, help=reps_help)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def main() -> int:
    parser = bench_parser(__doc__, reps_help="queries per case")
    args = parser.parse_args()
    plan = SeedPlan(n=args.n, seed=args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="hotline-bench-tickets-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the PostgreSQL server runs as its own user (root runs it through runuser)
    results = []
    try:
        if args.only in (None, "sqlite"):
            results.append(run_sqlite(plan, root, args.reps, args.keep is not None))
        if args.only in (None, "postgres"):
            results.append(run_postgres(plan, root, args.reps, args.keep is not None))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print_table(results, plan, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
