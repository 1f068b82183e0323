"""A throwaway PostgreSQL server for the tests: ``initdb`` + ``pg_ctl start`` in a temporary
directory, listening on a free loopback port (and a Unix socket in the same directory), ``trust``
authentication on loopback only, stopped and deleted when the session ends (also on failure).

Used as a plugin (``pytest_plugins = ["tests.pg_cluster"]`` in ``tests/conftest.py``, for
every test): the session fixture ``pg_cluster`` starts the server on first
use; ``pg_dsn`` gives every test an empty database of its own, ``pg_module_dsn`` one per
module, ``pg_directory_dsn`` a fresh copy of a Vizmo directory with locations 1 and 2.

Binaries come from ``$VIZMO_PG_BINDIR``, ``/usr/local/bin`` or ``/usr/lib/postgresql/15/bin``;
without them the fixture fails with a message naming the package to install (never a silent
skip). Running as root, the server runs as the ``postgres`` user (``runuser``), which owns the
temporary directory.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

_BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin")
_INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) were not found in $VIZMO_PG_BINDIR, "
                 f"{', '.join(_BIN_DIRS)} or /usr/lib/postgresql/*/bin. Install them: "
                 "apt-get install -y --no-install-recommends postgresql-15")
#: Loopback only; fsync off for speed (only an OS crash could lose data; ``stop -m immediate`` cannot).
_SERVER_SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")


def find_bin_dir() -> Path:
    """The directory of ``initdb``/``pg_ctl``; fails the test with the package to install."""
    candidates = [os.environ["VIZMO_PG_BINDIR"]] if os.environ.get("VIZMO_PG_BINDIR") else []
    others = [str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                                     key=lambda p: p.parent.name.zfill(4), reverse=True)]
    for directory in (*candidates, *_BIN_DIRS, *others):
        path = Path(directory)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    pytest.fail(_INSTALL_HINT, pytrace=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgCluster:
    """A running server; ``dsn(database)`` for clients, ``create_database`` for isolation."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    user: str = "postgres"
    host: str = "127.0.0.1"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def command(self, *args: str) -> list[str]:
        """A server-side command line, run as the ``postgres`` user when we are root."""
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with the client binary (no event loop involved)."""
        server_bin = Path(os.path.realpath(self.bin_dir / "initdb")).parent  # /usr/local/bin holds links
        psql = next((str(d / "psql") for d in (self.bin_dir, server_bin) if (d / "psql").exists()),
                    shutil.which("psql") or "psql")
        done = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
             "-U", self.user, "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str, template: str = "template0") -> str:
        """A new database, a copy of ``template`` (empty by default); returns its DSN."""
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'')
        return self.dsn(name)

    def _run(self, *args: str) -> None:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"
                               f"\n{server_log}")

    def start(self) -> None:
        """``pg_ctl start`` on ``self.port`` (waits until the server accepts connections)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start", "-o", f"-p {self.port} -k {self.root} {_SERVER_SETTINGS}")

    def stop(self) -> None:
        """``pg_ctl stop -m immediate``: every connection is cut at once, as in a crash."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")


def start_cluster(bin_dir: Path | None = None) -> PgCluster:
    """``initdb`` a new cluster in a temporary directory and start it on a free loopback port."""
    bin_dir = bin_dir or find_bin_dir()
    run_as = "postgres" if os.geteuid() == 0 else None  # the server refuses to run as root
    if run_as:
        try:
            entry = pwd.getpwnam(run_as)
        except KeyError:
            raise RuntimeError("running as root needs a 'postgres' user to run the server as "
                               "(the postgresql package creates it)") from None
    root = Path(tempfile.mkdtemp(prefix="vizmo-pg-"))
    if run_as:
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(bin_dir, root, 0, run_as)
    try:
        locale = ["--locale=C.UTF-8"] if _has_c_utf8() else ["--no-locale"]
        cluster._run(str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", *locale, "--no-sync")
        for attempt in range(3):  # the free port may be taken between the probe and the bind
            cluster.port = _free_port()
            try:
                cluster.start()
                return cluster
            except RuntimeError:
                if attempt == 2:
                    raise
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


def remove_cluster(cluster: PgCluster) -> None:
    """Stop the server (if running) and delete its directory."""
    try:
        subprocess.run(cluster.command(str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.root / "data"),
                                       "-m", "immediate", "-w", "stop"), capture_output=True, timeout=60)
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)


def _has_c_utf8() -> bool:
    try:
        done = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return any(name.lower().replace("-", "") == "c.utf8" for name in done.stdout.split())


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL server (started on first use, stopped at the end)."""
    try:
        cluster = start_cluster(find_bin_dir())
    except RuntimeError as exc:
        pytest.fail(f"PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        remove_cluster(cluster)


_counter = itertools.count(1)

#: The Vizmo directory of the tests: company 1, locations 1 (Delhi) and 2 (Pune), no employees.
VIZMO_TEMPLATE = "vizmo_directory_template"


@pytest.fixture(scope="session")
def pg_vizmo_template(pg_cluster: PgCluster) -> str:
    """A template database holding the legacy Vizmo schema (``directory.sql``) and two locations,
    but none of the gateway's ``scim_`` tables: what an existing directory looks like."""
    pg_cluster.create_database(VIZMO_TEMPLATE)
    schema = (resources.files("adapters.vizmo_postgres") / "directory.sql").read_text(encoding="utf-8")
    pg_cluster.psql(schema + "INSERT INTO companies (id, name) VALUES (1, 'Acme');"
                    "INSERT INTO locations (id, company_id, name) VALUES (1, 1, 'Delhi'), (2, 1, 'Pune');",
                    VIZMO_TEMPLATE)
    return VIZMO_TEMPLATE


def database_name(node_name: str) -> str:
    """A database name unique in the session, readable after the test it serves."""
    stem = "".join(c if c.isalnum() else "_" for c in node_name.lower())[:40]
    return f"t{next(_counter)}_{stem}"


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for this test."""
    return pg_cluster.create_database(database_name(request.node.name))


@pytest.fixture
def pg_directory_dsn(pg_cluster: PgCluster, pg_vizmo_template: str, request: pytest.FixtureRequest) -> str:
    """A fresh copy of the Vizmo directory (locations 1 and 2) for this test."""
    return pg_cluster.create_database(database_name(request.node.name), template=pg_vizmo_template)


@pytest.fixture(scope="module")
def pg_module_dsn(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database shared by the tests of one module."""
    return pg_cluster.create_database(database_name(request.module.__name__.rpartition(".")[2]))
