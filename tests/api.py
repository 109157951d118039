"""The REST API on a real database, with one logged-in client per role.

``api_world`` is parametrized over SQLite and PostgreSQL (``tests/pg.py``): every API test that
takes it runs on both. The world has the default responsibility list loaded, a clock the test
moves (``world.clock.advance(hours=2)``), and these users, each with an API token:

    operator      operator               op     话务员
    supervisor    supervisor             sup    督办/审核
    callback      callback_agent         cb     回访员
    admin         admin                  admin
    cg            unit_handler of 市城管局
    zj            unit_handler of 市住建局

    def test_something(api_world: ApiWorld) -> None:
        r = api_world.client("operator").post("/api/tickets", json={...})

Import the fixtures you use: ``from tests.api import api_world, postgres_server, ...``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from hotline.config import Settings
from hotline.db import session_scope
from hotline.tickets.units import load_default_list
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user, issue_token
from hotline.web.api import include_api
from tests.pg import pg_engine, postgres_server, sqlite_engine, sqlite_template

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package and warns when it falls back on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["ApiWorld", "Clock", "api_world", "pg_engine", "postgres_server", "sqlite_engine",
           "sqlite_template", "CENTER", "PASSWORD"]

CENTER = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct horse battery"
# Monday 2026-11-23 09:00 in the center: a working day with working days after it.
START = datetime(2026, 11, 23, 9, 0, tzinfo=CENTER)

USERS: dict[str, tuple[Role, str | None]] = {
    "operator": (Role.operator, None),
    "supervisor": (Role.supervisor, None),
    "callback": (Role.callback_agent, None),
    "admin": (Role.admin, None),
    "cg": (Role.unit_handler, "市城管局"),
    "zj": (Role.unit_handler, "市住建局"),
}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class ApiWorld:
    engine: Engine
    app: FastAPI
    clock: Clock
    tokens: dict[str, str]
    _clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, username: str) -> TestClient:
        """A client sending ``username``'s API token with every request."""
        if username not in self._clients:
            self._clients[username] = TestClient(
                self.app, headers={"Authorization": f"Bearer {self.tokens[username]}"}
            )
        return self._clients[username]

    def anonymous(self) -> TestClient:
        return TestClient(self.app)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def make_world(engine: Engine, home: Path, settings: Settings | None = None) -> ApiWorld:
    clock = Clock()
    tokens: dict[str, str] = {}
    with session_scope(engine) as session:
        load_default_list(session=session)
        for username, (role, unit) in USERS.items():
            user = create_user(session=session, user_create=UserCreate(
                username=username, role=role, unit_name=unit, password=PASSWORD,
            ))
            _, tokens[username] = issue_token(session=session, user=user, name="tests")
    app = FastAPI()
    include_api(app, engine=engine, settings=settings or Settings(home=home), clock=clock)
    return ApiWorld(engine=engine, app=app, clock=clock, tokens=tokens)


@pytest.fixture(params=["sqlite", "postgres"])
def api_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                     else "pg_engine")
    world = make_world(engine, tmp_path)
    try:
        yield world
    finally:
        world.close()
