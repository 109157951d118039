"""A migrated, empty database of its own for a module's fixture (the benches' seeders write
millions of rows the other tests must not see): a copy of the SQLite template, or a PostgreSQL
database made from the server's template and dropped afterwards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text

from hotline.bench.pg import PostgresServer
from hotline.db import make_engine
from tests.pg import TEMPLATE


@contextmanager
def fresh_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   name: str, *, postgres: bool) -> Iterator[Engine]:
    if not postgres:
        path = tmp_path_factory.mktemp(name) / "hotline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    engine = make_engine(server.url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
