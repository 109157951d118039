"""Database fixtures: a throwaway PostgreSQL server from Debian's packages, and migrated
SQLite files. Import the fixtures you use into the test module (``from tests.pg import …``).

``postgres_server`` (session): ``initdb`` into a temporary folder and ``pg_ctl start`` a
server that listens only on a unix socket in that folder (no TCP port, so it cannot clash with
anything), with fsync off. As root it runs as the ``postgres`` user through ``runuser``. The
binaries are looked up under ``/usr/lib/postgresql/*/bin``; when they are missing the fixture
FAILS and says which package to install: it never skips.

``pg_database`` gives each test a database of its own, copied from a template migrated once
with ``hotline.db.migrate`` (``CREATE DATABASE … TEMPLATE``, a few tens of milliseconds).
``sqlite_engine`` does the same with a migrated SQLite file copied per test.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from hotline.db import make_engine, migrate

PACKAGE_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
    "`postgresql` package (`apt-get install postgresql`, or `make system-deps`)"
)
TEMPLATE = "hotline_template"


def server_binaries() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(PACKAGE_HINT, pytrace=False)
    return found[-1].parent


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    user: str | None  # run the server as this user (we are root), else as ourselves

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}", pytrace=False)

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--locale=C", "--no-sync")
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                 "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, PostgreSQL needs the `postgres` user: " + PACKAGE_HINT,
                    pytrace=False)
    return "postgres"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = server_binaries()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, user=user)
    try:
        server.start()
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
        admin.dispose()
        engine = make_engine(server.url(TEMPLATE))
        migrate(engine)
        engine.dispose()
        yield server
    finally:
        if (root / "data" / "postmaster.pid").exists():
            server.stop()
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
