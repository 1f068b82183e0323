"""Creating the embedded default directory and the gateway's own tables beside it.

The legacy schema (``directory.sql``, the Vizmo portal's tables) is only ever run on a new,
empty file; an existing directory is used as it is. ``scim_tables.sql`` is idempotent.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from adapters.files import create_private_file

DEMO_COMPANY = "Demo Company"
DEMO_LOCATION = (1, "Delhi")


#: Seconds a new connection waits for the file while it sets its pragmas (see :func:`connect`).
SETUP_WAIT = 5.0


def _sql(name: str) -> str:
    return resources.files("adapters.vizmo_sqlite").joinpath(name).read_text(encoding="utf-8")


def connect(path: Path | str, *, timeout: float = 5.0, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection with the pragmas every gateway connection uses: WAL (readers never wait
    for the writer; a killed process loses no committed transaction), a busy timeout so the
    portal and the CLI can write at the same time, and foreign keys off (the portal's own rule).
    ``check_same_thread=False`` for a connection opened here and used on another thread.

    The pragmas themselves wait up to ``SETUP_WAIT`` seconds whatever ``timeout`` says: setting
    WAL reads the file's header, which another process opening the file, recovering its WAL or
    restarting it in a checkpoint holds for a moment (two workers starting side by side met
    ``database is locked`` here on a connection meant never to wait). ``timeout`` then applies
    to everything the connection runs afterwards."""
    conn = sqlite3.connect(str(path), timeout=max(timeout, SETUP_WAIT), isolation_level=None,
                           check_same_thread=check_same_thread)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def create_directory(path: Path) -> None:
    """Create a new directory database with the legacy schema and one demo company and location
    (owner-only: its folder 0700 when it is created here, the file and its WAL 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".creating")
    tmp.unlink(missing_ok=True)
    create_private_file(tmp)
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        conn.executescript(_sql("directory.sql"))
        conn.execute("BEGIN")
        conn.execute("INSERT INTO companies (id, name) VALUES (1, ?)", (DEMO_COMPANY,))
        conn.execute("INSERT INTO locations (id, company_id, name) VALUES (?, 1, ?)", DEMO_LOCATION)
        conn.execute("COMMIT")
    finally:
        conn.close()
    tmp.replace(path)


def ensure_scim_tables(conn: sqlite3.Connection) -> None:
    """Create the gateway's ``scim_`` tables if they are missing (never touches legacy tables)."""
    missing = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'employees'").fetchone()[0] == 0
    if missing:
        raise FileNotFoundError("not a Vizmo directory: it has no 'employees' table")
    conn.executescript(_sql("scim_tables.sql"))
