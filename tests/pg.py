"""Database fixtures: a throwaway PostgreSQL server from Debian's packages, and migrated
SQLite files. Import the fixtures you use into the test module (``from tests.pg import …``).

``postgres_server`` (session): ``initdb`` into a temporary folder and ``pg_ctl start`` a
server that listens only on a unix socket in that folder (no TCP port, so it cannot clash with
anything), with fsync off (``hotline.bench.pg``, shared with the benchmarks). As root it
runs as the ``postgres`` user through ``runuser``. The binaries are looked up under
``/usr/lib/postgresql/*/bin``; when they are missing the fixture FAILS and says which package
to install: it never skips.

``pg_database`` gives each test a database of its own, copied from a template migrated once
with ``hotline.db.migrate`` (``CREATE DATABASE … TEMPLATE``, a few tens of milliseconds).
``sqlite_engine`` does the same with a migrated SQLite file copied per test.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from hotline.bench.pg import PostgresServer, PostgresUnavailable, server_binaries, server_user
from hotline.db import make_engine, migrate

TEMPLATE = "hotline_template"
# Durability off and no TCP port: a throwaway server that cannot clash with anything.
TEST_SETTINGS = {"listen_addresses": "''", "fsync": "off", "synchronous_commit": "off",
                 "full_page_writes": "off", "max_connections": "50"}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        bindir, user = server_binaries(), server_user()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, user=user)
    try:
        try:
            server.start(TEST_SETTINGS)
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
        admin.dispose()
        engine = make_engine(server.url(TEMPLATE))
        migrate(engine)
        engine.dispose()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def pg_engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    """An engine on a fresh, migrated database of its own."""
    name = f"test_{next(_numbers)}"
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    engine = make_engine(postgres_server.url(name))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "hotline.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a migrated SQLite file of its own."""
    path = tmp_path / "hotline.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
