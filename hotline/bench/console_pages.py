"""The console's main pages timed in process (``make bench-console``, part 1).

The real app (``build_app``) is called through httpx's ``ASGITransport``, without its lifespan:
no AGI server, no AMI connection, no light scheduler nor survey calls touching the seeded
database; the pages need only the database and the web context. The users (an operator at a
seat, the handler of the unit holding the most assignments, a supervisor, a callback agent)
are made by ``hotline.users.service.create_user`` and log in through ``POST /login``. The
app's clock is the seed's ``now``; the public lookup's form is served ten seconds before it
is sent (the form's minimum fill time) and its per-address limit is lifted, since every
lookup comes from this one address.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from time import perf_counter

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlmodel import Session

from hotline.bench.console_table import percentile
from hotline.db import session_scope
from hotline.errors import HotlineError
from hotline.seats.service import bind_seat
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user, get_user_by_username
from hotline.web.deps import WebContext
from hotline.web.pages.public import PublicConsole
from hotline.web.pages.public_guard import RateLimiter

PASSWORD = "bench console password"
SEAT = "PJSIP/seat1"
WARM_UP = 5
_FORM_TOKEN = re.compile(r'name="form_token"[^>]*value="([^"]+)"')


@dataclass
class BenchClock:
    """The app's clock, held at the seed's ``now`` (moved by the public lookup only)."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class PageTiming:
    case: str
    ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class BenchUsers:
    operator: str = "bench-op"
    handler: str = "bench-unit"
    supervisor: str = "bench-sup"
    agent: str = "bench-callback"


def biggest_unit(engine: Engine) -> str:
    """The unit holding the most assignments: its handler has the fullest inbox."""
    with Session(engine) as session:
        return str(session.execute(text(
            "SELECT u.name FROM unit u JOIN (SELECT unit_id, count(*) AS n FROM assignment "
            "GROUP BY unit_id ORDER BY n DESC LIMIT 1) a ON a.unit_id = u.id")).scalar_one())


def make_users(engine: Engine, *, now: datetime, seats: list[str]) -> BenchUsers:
    """The bench's users through the app's own functions (kept databases: made once)."""
    users = BenchUsers()
    unit = biggest_unit(engine)
    wanted = [(users.operator, Role.operator, None), (users.handler, Role.unit_handler, unit),
              (users.supervisor, Role.supervisor, None), (users.agent, Role.callback_agent,
                                                           None)]
    with session_scope(engine) as session:
        for username, role, unit_name in wanted:
            if get_user_by_username(session=session, username=username) is None:
                create_user(session=session, user_create=UserCreate(
                    username=username, role=role, unit_name=unit_name, password=PASSWORD))
        operator = get_user_by_username(session=session, username=users.operator)
        assert operator is not None
        try:
            bind_seat(session=session, user=operator, interface=SEAT, seats=seats, now=now)
        except HotlineError:
            pass  # already seated there (a kept database)
    return users


def prepare_app(app: FastAPI, clock: BenchClock) -> None:
    """The seed's time on the app's clock; the public lookups' per-address limit lifted."""
    context: WebContext = app.state.web
    app.state.web = replace(context, clock=clock)
    public: PublicConsole = app.state.public_console
    app.state.public_console = replace(public, lookups=RateLimiter(
        limit=10**9, window=timedelta(hours=1)))


def lookups(engine: Engine, rng: random.Random, n: int = 200) -> list[tuple[str, str]]:
    """(ticket number, caller phone) of tickets picked at random."""
    with Session(engine) as session:
        top = int(session.execute(text("SELECT max(id) FROM ticket")).scalar_one())
        rows = []
        for _ in range(n):
            row = session.execute(text("SELECT number, caller_phone FROM ticket WHERE id = :i"),
                                  {"i": rng.randint(1, top)}).first()
            if row is not None:
                rows.append((str(row[0]), str(row[1])))
    return rows


async def _logged_in(app: FastAPI, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://bench.local")
    response = await client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 303:
        raise RuntimeError(f"{username} could not log in: {response.status_code}")
    return client


def _get(client: httpx.AsyncClient, path: str, _i: int) -> Awaitable[httpx.Response]:
    return client.get(path)


async def _timed(case: str, reps: int, call: Callable[[int], Awaitable[httpx.Response]], *,
                 shows: str) -> PageTiming:
    """``reps`` requests after ``WARM_UP``; each must answer 200 with ``shows`` in the page."""
    timing = PageTiming(case)
    for i in range(WARM_UP + reps):
        started = perf_counter()
        response = await call(i)
        elapsed = (perf_counter() - started) * 1000
        if response.status_code != 200 or shows not in response.text:
            raise RuntimeError(f"{case}: HTTP {response.status_code}, {shows!r} not shown")
        if i >= WARM_UP:
            timing.ms.append(elapsed)
    return timing


async def measure_pages(app: FastAPI, *, engine: Engine, clock: BenchClock, users: BenchUsers,
                        reps: int, rng: random.Random) -> list[PageTiming]:
    cases: list[tuple[str, str, str, str]] = [
        ("operator: /seat", users.operator, "/seat", 'id="pop"'),
        ("unit handler: /unit inbox (biggest unit)", users.handler, "/unit", 'id="inbox"'),
        ("supervisor: /supervisor", users.supervisor, "/supervisor", 'id="wall"'),
        ("supervisor: /supervisor/recordings", users.supervisor, "/supervisor/recordings",
         'name="caller"'),
        ("callback agent: /callback", users.agent, "/callback", 'id="queue"'),
    ]
    timings = []
    for case, username, path, shows in cases:
        client = await _logged_in(app, username)
        try:
            timings.append(await _timed(case, reps, partial(_get, client, path), shows=shows))
        finally:
            await client.aclose()
        print(f"    {case}: p95 {percentile(timings[-1].ms, 0.95):.1f} ms", flush=True)
    picked = lookups(engine, rng)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench.local") as public:
        served = clock.at
        clock.at = served - timedelta(seconds=10)
        form = await public.get("/public/status")
        clock.at = served
        token = _FORM_TOKEN.search(form.text)
        if token is None:
            raise RuntimeError("no form_token on /public/status")

        def lookup(i: int) -> Awaitable[httpx.Response]:
            number, phone = picked[i % len(picked)]
            return public.post("/public/status", data={
                "form_token": token.group(1), "number": number, "phone": phone})

        timings.append(await _timed("public: status lookup (number + phone)", reps, lookup,
                                      shows='id="found"'))
        print(f"    {timings[-1].case}: p95 {percentile(timings[-1].ms, 0.95):.1f} ms", flush=True)
    return timings


def run_pages(app: FastAPI, *, engine: Engine, clock: BenchClock, users: BenchUsers, reps: int,
              seed: int) -> list[PageTiming]:
    return asyncio.run(measure_pages(app, engine=engine, clock=clock, users=users, reps=reps,
                                     rng=random.Random(seed)))
