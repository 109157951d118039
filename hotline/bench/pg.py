"""A PostgreSQL server for benchmarks and tests, from Debian's packages, on a unix socket only.

Without pytest (``tests/pg.py`` wraps it in fixtures): ``initdb`` into a folder and ``pg_ctl start``
a server that listens on a socket in that folder (no TCP port), as the ``postgres`` user
through ``runuser`` when we are root. Durability is off (``fsync``, ``synchronous_commit``,
``full_page_writes``): a benchmark measures reads and scans, not the disk's flush. A folder
that already holds a cluster is started as it is, so a seeded database can be kept and reused.

    with postgres_server(Path("var/bench/pg")) as server:
        engine = make_engine(server.url("bench"))
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

PACKAGE_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
    "`postgresql` package (`apt-get install postgresql`, or `make system-deps`)"
)
# Sized for a 24 GB machine holding a few GB of tickets; durability off (see above).
BENCH_SETTINGS: Mapping[str, str] = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
}


class PostgresUnavailable(RuntimeError):
    """The server cannot be found, initialised, started or stopped; says which command."""


def server_binaries() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresUnavailable(PACKAGE_HINT)
    return found[-1].parent


def server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root, PostgreSQL needs the `postgres` user: "
                                  + PACKAGE_HINT) from None
    return "postgres"


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

    def run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")

    def start(self, settings: Mapping[str, str] = BENCH_SETTINGS) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E",
                     "UTF8", "--locale=C", "--no-sync")
        options = " ".join([f"-k {self.root}", *(f"-c {k}={v}" for k, v in settings.items())])
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                 "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` checkpoints (a kept cluster restarts at once); ``immediate`` does not."""
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "300", "stop",
                     timeout=330)

    def create_database(self, name: str) -> bool:
        """Create ``name`` unless it exists; True when it was created."""
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": name}).first()
                if found is None:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                return found is None
        finally:
            admin.dispose()


@contextmanager
def postgres_server(
    root: Path, *, settings: Mapping[str, str] = BENCH_SETTINGS
) -> Iterator[PostgresServer]:
    """A server whose cluster lives in ``root/data`` (created when missing), stopped on exit."""
    bindir, user = server_binaries(), server_user()
    root.mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, *root.rglob("*")):
            if path.stat().st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root.resolve(), user=user)
    if user is not None and subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(root)],
                                           check=False).returncode != 0:
        raise PostgresUnavailable(f"the {user} user cannot write to {root}: every folder above "
                                  "it must let others in (chmod o+x)")
    server.start(settings)
    try:
        yield server
    finally:
        server.stop()
