"""Creating the embedded default directory and the gateway's own tables beside it.

The legacy schema (``directory.sql``, the Vizmo portal's tables) is only ever run on a new,
empty file; an existing directory is used as it is. ``scim_tables.sql`` is idempotent.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

from adapters.errors import Unavailable
from adapters.sqlite_wal import LOCK_WAIT, OTHER_WRITERS, is_busy, use_wal

DEMO_COMPANY = "Demo Company"
DEMO_LOCATION = (1, "Delhi")


#: Seconds a new connection waits for the file while it sets its pragmas (see :func:`connect`).
SETUP_WAIT = LOCK_WAIT


def _sql(name: str) -> str:
    return resources.files("adapters.vizmo_sqlite").joinpath(name).read_text(encoding="utf-8")


def connect(path: Path | str, *, timeout: float = LOCK_WAIT, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection with the pragmas every gateway connection uses: WAL (readers never wait
    for the writer; a killed process loses no committed transaction), a busy timeout so the
    portal and the CLI can write at the same time, and foreign keys off (the portal's own rule).
    ``check_same_thread=False`` for a connection opened here and used on another thread.

    The pragmas themselves wait up to ``SETUP_WAIT`` seconds whatever ``timeout`` says: setting
    WAL reads the file's header, which another process opening the file, recovering its WAL or
    restarting it in a checkpoint holds for a moment (two workers starting side by side met
    ``database is locked`` here on a connection meant never to wait), and the first switch to
    WAL waits for any writer (:func:`adapters.sqlite_wal.use_wal`). ``timeout`` then applies
    to everything the connection runs afterwards. Called off the event loop only (it may wait)."""
    try:
        conn = sqlite3.connect(str(path), timeout=max(timeout, SETUP_WAIT), isolation_level=None,
                               check_same_thread=check_same_thread)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from None
    try:
        use_wal(conn, SETUP_WAIT)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except sqlite3.DatabaseError as exc:  # a folder, a file that is not SQLite, no permission
        conn.close()
        raise unusable(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


#: What SQLite's primary result code says is wrong with the file, and what to do about it (a full
#: disk or a file the gateway may not write was told to check the directory setting: a review).
_FILE_TROUBLE = {
    sqlite3.SQLITE_CANTOPEN: "cannot be opened: check that it exists and that the gateway's user may read and write "
                             "it and its folder, then the directory setting",
    sqlite3.SQLITE_PERM: "may not be opened by the gateway's user: check the file's and its folder's owner and mode",
    sqlite3.SQLITE_READONLY: "is read-only for the gateway: its user must be able to write it and its folder",
    sqlite3.SQLITE_FULL: "cannot be written: the disk is full; free space and start again",
    sqlite3.SQLITE_IOERR: "cannot be read or written: check the disk (free space, errors in the system log)",
    sqlite3.SQLITE_CORRUPT: "is damaged: restore it from a backup (README: Backups)",
}
_SETTING = "[adapter.options] path, --directory or VIZMO_SCIM_DIRECTORY"


def unusable(path: Path | str, exc: sqlite3.Error) -> Unavailable:
    """One line naming the directory file, SQLite's reason and what to do: a full disk, a file
    the gateway may not write, a damaged file, or (anything else: a folder, a file that is not an
    SQLite database) a directory setting that names something else than the directory database."""
    code = getattr(exc, "sqlite_errorcode", None)
    trouble = None if code is None else _FILE_TROUBLE.get(code & 0xFF)
    if trouble is not None:
        return Unavailable(f"the directory {path} {trouble} ({exc}; the setting: {_SETTING})")
    return Unavailable(f"the directory {path} cannot be used as an SQLite database ({exc}); check {_SETTING}")


def create_directory(path: Path) -> None:
    """Create a new directory database with the legacy schema and one demo company and location
    (owner-only: its folder 0700 when it is created here, the file and its WAL 0600).

    The file is built under a name of its own and then linked into place, which fails if
    another process created the directory meanwhile: that one is kept and this copy dropped.
    (Replacing it instead would swap the file under the winner's open connections, losing what
    it wrote since, such as a new integration's token.)"""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".creating", dir=path.parent)  # 0600
    os.close(fd)
    tmp = Path(name)
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.executescript(_sql("directory.sql"))
            conn.execute("BEGIN")
            conn.execute("INSERT INTO companies (id, name) VALUES (1, ?)", (DEMO_COMPANY,))
            conn.execute("INSERT INTO locations (id, company_id, name) VALUES (?, 1, ?)", DEMO_LOCATION)
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process's directory won; it is the one every process uses
        except OSError:  # a filesystem without hard links (some network mounts): a plain rename
            if not path.exists():
                tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def conn_path(conn: sqlite3.Connection) -> str:
    """The file of ``conn``'s main database (for messages)."""
    try:
        return str(conn.execute("PRAGMA database_list").fetchone()[2])
    except sqlite3.Error:
        return "database"


def ensure_scim_tables(conn: sqlite3.Connection) -> None:
    """Create the gateway's ``scim_`` tables if they are missing (never touches legacy tables)."""
    try:
        missing = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'employees'").fetchone()[0] == 0
    except sqlite3.DatabaseError as exc:
        raise unusable(conn_path(conn), exc) from None
    if missing:
        raise Unavailable(f"the directory {conn_path(conn)} is not a Vizmo directory: it has no 'employees' table; "
                          f"check {_SETTING}")
    try:
        conn.executescript(_sql("scim_tables.sql"))
        _drop_scim_users_foreign_keys(conn)
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise unusable(conn_path(conn), exc) from None
        raise Unavailable(f"the directory {conn_path(conn)} stayed locked by {OTHER_WRITERS} for {SETUP_WAIT:g} s "
                          f"while the gateway created or updated its own tables; start it again once that writer "
                          f"is done ({exc})") from None


def _statements(script: str) -> list[str]:
    """The statements of ``script``, split where SQLite's own tokenizer says one is complete (a
    ``;`` in a comment or a string does not end one)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer)
            buffer = ""
    return statements


def _drop_scim_users_foreign_keys(conn: sqlite3.Connection) -> None:
    """``scim_users`` as gateways before 2026-12-07 created it, with foreign keys to
    ``employees`` and ``locations``, rebuilt without them (SQLite cannot drop a constraint: the
    table is copied, in one transaction; "Making Other Kinds Of Table Schema Changes" of SQLite's
    ALTER TABLE page). Nothing references ``scim_users``, so foreign key enforcement stays as the
    connection has it."""
    if not conn.execute("PRAGMA foreign_key_list(scim_users)").fetchall():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA foreign_key_list(scim_users)").fetchall():  # not done meanwhile by another process
            conn.execute("ALTER TABLE scim_users RENAME TO scim_users_with_foreign_keys")
            for (index,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                         "AND tbl_name = 'scim_users_with_foreign_keys'").fetchall():
                # renamed with the table; re-created below under its own name
                conn.execute('DROP INDEX "{}"'.format(index.replace('"', '""')))
            for statement in _statements(_sql("scim_tables.sql")):
                if "scim_users" in statement:
                    conn.execute(statement)
            conn.execute("INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, "
                         "version) SELECT employee_id, location_id, scim_id, incarnation, external_id, extra, version "
                         "FROM scim_users_with_foreign_keys")
            conn.execute("DROP TABLE scim_users_with_foreign_keys")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
