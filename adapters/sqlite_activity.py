"""The activity log and the operator accounts in a SQLite file, beside :class:`SqliteStateStore`'s
tables (the directory database for the embedded adapter, ``gateway-state.db`` otherwise).

Reads and appends outside a write transaction run on a worker thread with their own connection
(``asyncio.to_thread``), never on the event loop. The embedded adapter journals its writes on its
own connection inside each write's transaction, through :func:`insert_entry`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from adapters.activity import (ActivityEntry, ActivityLog, ActivityRecord, ActivitySummary, Outcome,
                               read_conditions)
from adapters.errors import Unavailable
from adapters.sqlite_file_guard import FileGuard
from adapters.sqlite_wal import WAL_SIZE_LIMIT
from adapters.operators import Operator, OperatorStore, first_session_version

T = TypeVar("T")

#: The tables, and the migration of files made before them. Each entry is stored inside its write's
#: transaction, so every b-tree page it touches is one more WAL frame per write: the table's last
#: leaf, ``scim_activity_location_time``'s, and formerly ``scim_activity_time``'s and
#: AUTOINCREMENT's ``sqlite_sequence`` row, 5.7 frames per PATCH against 1.2 without the log. Now
#: 3.5 (and 25 µs less per write): retention reads each location's range of the
#: ``(location_id, time)`` index instead of a time index of its own (:meth:`SqliteActivityLog.prune`),
#: and ids come from ``max(rowid) + 1`` (never reused while the
#: newest entry is kept, and retention never deletes it within the day it was written). Files
#: created with AUTOINCREMENT keep it (SQLite cannot drop it without rebuilding the table).
DDL = (
    """
CREATE TABLE IF NOT EXISTS scim_activity (
    id           INTEGER PRIMARY KEY,
    time         TEXT NOT NULL,     -- ISO 8601 UTC, milliseconds
    location_id  INTEGER NOT NULL,
    method       TEXT NOT NULL,
    operation    TEXT NOT NULL,
    resource_id  TEXT,
    user_name    TEXT,
    attributes   TEXT NOT NULL,     -- JSON array of attribute names
    status       INTEGER NOT NULL,
    scim_type    TEXT,
    request_id   TEXT NOT NULL,
    changed_values TEXT             -- JSON, only with activity.log_values
)
""",
    "CREATE INDEX IF NOT EXISTS scim_activity_location_time ON scim_activity (location_id, time)",
    # The Activity page's "refused" filter: without it a walk of every entry of the location (145 ms
    # at 400,000, a soak review). Partial: a write's entry (status < 400) never touches it.
    "CREATE INDEX IF NOT EXISTS scim_activity_refusals ON scim_activity (location_id, time) WHERE status >= 400",
    "DROP INDEX IF EXISTS scim_activity_time",
    """
CREATE TABLE IF NOT EXISTS scim_operators (
    name             TEXT PRIMARY KEY,
    password_hash    TEXT NOT NULL,
    locations        TEXT,           -- JSON array of location ids; NULL: every location
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked_until     TEXT,
    session_version  INTEGER NOT NULL DEFAULT 1
)
""",
)

_INSERT = ("INSERT INTO scim_activity (time, location_id, method, operation, resource_id, user_name, attributes, "
           "status, scim_type, request_id, changed_values) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_COLUMNS = ("id, time, location_id, method, operation, resource_id, user_name, attributes, status, scim_type, "
            "request_id, changed_values")


def _values(entry: ActivityEntry) -> tuple[Any, ...]:
    values = None if entry.values is None else json.dumps(entry.values, ensure_ascii=False)
    return (entry.time, int(entry.tenant), entry.method, entry.operation, entry.resource_id, entry.user_name,
            json.dumps(list(entry.attributes)), entry.status, entry.scim_type, entry.request_id, values)


def insert_entry(conn: sqlite3.Connection, entry: ActivityEntry) -> None:
    """Append ``entry`` on ``conn``, inside the caller's transaction."""
    conn.execute(_INSERT, _values(entry))


def _record(row: sqlite3.Row | tuple[Any, ...]) -> ActivityRecord:
    (id_, time, location, method, operation, resource_id, user_name, attributes, status, scim_type,
     request_id, values) = row
    return ActivityRecord(id_, ActivityEntry(
        time=time, tenant=str(location), method=method, operation=operation, resource_id=resource_id,
        user_name=user_name, attributes=tuple(json.loads(attributes)), status=status, scim_type=scim_type,
        request_id=request_id, values=None if values is None else json.loads(values)))


class SqliteFile:
    """Connections to one SQLite file for worker threads: one per thread, opened on first use.

    :meth:`close` waits for the calls under way: closing a connection while another thread runs
    a statement on it crashes the process (``vizmo-scim serve`` died of SIGSEGV in about half of
    its stops soon after start, while the activity log's first prune was still running)."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        #: Set by the owner once the file exists: every call first checks the file is still the one
        #: opened and undamaged (writes into a deleted file would be lost).
        self.guard: FileGuard | None = None
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._state = threading.Condition()  # guards _all, _calls and _closed
        self._calls = 0  # calls running on worker threads
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._local.conn = conn
            with self._state:
                self._all.append(conn)
        return conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` on a worker thread; SQLite errors, and a call after :meth:`close`, are
        ``Unavailable``."""
        def call() -> T:
            with self._state:
                if self._closed:
                    raise Unavailable("the state store is closed")
                self._calls += 1
            try:
                if self.guard is not None:
                    self.guard.check()
                return fn(self._conn())
            except sqlite3.Error as exc:
                if self.guard is not None:
                    self.guard.note(exc)
                raise Unavailable(f"state store failed: {exc}") from exc
            finally:
                with self._state:
                    self._calls -= 1
                    self._state.notify_all()
        return await asyncio.to_thread(call)

    async def close(self) -> None:
        """Refuse new calls, wait (off the loop) for those under way, each bounded by the busy
        timeout, then close every connection."""
        with self._state:
            self._closed = True
        await asyncio.to_thread(self._close_when_idle)

    def _close_when_idle(self) -> None:
        with self._state:
            self._state.wait_for(lambda: self._calls == 0)
            for conn in self._all:
                conn.close()
            self._all.clear()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite ends it itself on a full disk or an I/O error, and a ROLLBACK
            conn.execute("ROLLBACK")  # then failed, its error hiding the cause (a durability review)
        raise


class SqliteActivityLog(ActivityLog):
    """:class:`ActivityLog` on the table ``scim_activity``."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def append(self, entries: list[ActivityEntry]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany(_INSERT, [_values(e) for e in entries])
        if entries:
            await self._file.run(run)

    async def read(self, tenant: str, *, since: str | None = None, before: ActivityRecord | None = None,
                   user_name: str | None = None, outcome: Outcome | None = None,
                   limit: int = 50) -> list[ActivityRecord]:
        where, params = read_conditions(tenant, since=since, before=before, user_name=user_name, outcome=outcome,
                                        same_user_name="user_name = ? COLLATE NOCASE")
        sql = f"SELECT {_COLUMNS} FROM scim_activity WHERE {where} ORDER BY time DESC, id DESC LIMIT ?"
        rows = await self._file.run(lambda conn: conn.execute(sql, (*params, limit)).fetchall())
        return [_record(row) for row in rows]

    async def summary(self, tenant: str, since: str) -> ActivitySummary:
        def run(conn: sqlite3.Connection) -> ActivitySummary:
            last = conn.execute("SELECT max(time) FROM scim_activity WHERE location_id = ?", (int(tenant),)).fetchone()
            writes, refusals = conn.execute(
                "SELECT coalesce(sum(status < 400), 0), coalesce(sum(status >= 400), 0) FROM scim_activity "
                "WHERE location_id = ? AND time >= ?", (int(tenant), since)).fetchone()
            return ActivitySummary(last_time=last[0], writes=writes, refusals=refusals)
        return await self._file.run(run)

    async def newest_time(self) -> str | None:
        """Location by location, one seek of the ``(location_id, time)`` index each (a ``max(time)``
        over the table would read all of it)."""
        def run(conn: sqlite3.Connection) -> str | None:
            last = "SELECT max(time) FROM scim_activity WHERE location_id = ?"
            times = (conn.execute(last, (location,)).fetchone()[0] for location in _locations(conn))
            return max((time for time in times if time is not None), default=None)
        return await self._file.run(run)

    async def prune(self, before: str, *, batch: int) -> int:
        """Delete up to ``batch`` of the entries older than ``before``: location by location
        (each found with one seek of the ``(location_id, time)`` index), the index's range of
        each location's entries older than ``before``. Whatever the ids' order: a walk of the
        oldest ids that stopped at the first entry kept was held up by entries dated ahead of
        the clock, written while the host's clock ran fast (a review: 600 of them kept 400,000
        past their time). The reads take no lock; only the delete, by id, takes the write lock."""
        def run(conn: sqlite3.Connection) -> int:
            doomed: list[int] = []
            for location in _locations(conn):
                if len(doomed) >= batch:
                    break
                doomed += [row[0] for row in conn.execute(
                    "SELECT id FROM scim_activity WHERE location_id = ? AND time < ? LIMIT ?",
                    (location, before, batch - len(doomed)))]
            if not doomed:
                return 0
            return conn.execute(f"DELETE FROM scim_activity WHERE id IN ({', '.join('?' * len(doomed))}) "
                                "AND time < ?", (*doomed, before)).rowcount
        return await self._file.run(run)


def _locations(conn: sqlite3.Connection) -> Iterator[int]:
    """The locations with entries, in order, each found with one seek of the ``(location_id, time)``
    index (a ``DISTINCT`` would read all of it)."""
    location = -1
    while (location := conn.execute("SELECT min(location_id) FROM scim_activity WHERE location_id > ?",
                                    (location,)).fetchone()[0]) is not None:
        yield location


def _operator(row: tuple[Any, ...]) -> Operator:
    name, password_hash, locations, failed, locked_until, version = row
    return Operator(name, password_hash, None if locations is None else tuple(json.loads(locations)),
                    failed, locked_until, version)


class SqliteOperatorStore(OperatorStore):
    """:class:`OperatorStore` on the table ``scim_operators``."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def put(self, name: str, password_hash: str, locations: tuple[str, ...] | None) -> None:
        listed = None if locations is None else json.dumps(list(locations))
        await self._file.run(lambda conn: conn.execute(
            "INSERT INTO scim_operators (name, password_hash, locations, session_version) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, locations = excluded.locations, "
            "failed_attempts = 0, locked_until = NULL, session_version = session_version + 1",
            (name, password_hash, listed, first_session_version())))

    async def get(self, name: str) -> Operator | None:
        row = await self._file.run(lambda conn: conn.execute(
            "SELECT name, password_hash, locations, failed_attempts, locked_until, session_version "
            "FROM scim_operators WHERE name = ?", (name,)).fetchone())
        return None if row is None else _operator(row)

    async def list(self) -> list[Operator]:
        rows = await self._file.run(lambda conn: conn.execute(
            "SELECT name, password_hash, locations, failed_attempts, locked_until, session_version "
            "FROM scim_operators ORDER BY name").fetchall())
        return [_operator(row) for row in rows]

    async def remove(self, name: str) -> bool:
        return bool(await self._file.run(
            lambda conn: conn.execute("DELETE FROM scim_operators WHERE name = ?", (name,)).rowcount))

    async def begin_attempt(self, name: str, *, limit: int, now: str) -> bool:
        return bool(await self._file.run(lambda conn: conn.execute(
            "UPDATE scim_operators SET failed_attempts = failed_attempts + 1 WHERE name = ? AND failed_attempts < ? "
            "AND (locked_until IS NULL OR locked_until <= ?)", (name, limit, now)).rowcount))

    async def record_failure(self, name: str, *, limit: int, locked_until: str) -> None:
        await self._file.run(lambda conn: conn.execute(
            "UPDATE scim_operators SET failed_attempts = 0, locked_until = ? WHERE name = ? AND failed_attempts >= ?",
            (locked_until, name, limit)))

    async def record_success(self, name: str, *, now: str) -> bool:
        return bool(await self._file.run(lambda conn: conn.execute(
            "UPDATE scim_operators SET failed_attempts = 0 WHERE name = ? AND (locked_until IS NULL OR "
            "locked_until <= ?)", (name, now)).rowcount))

    async def end_sessions(self, name: str) -> None:
        await self._file.run(lambda conn: conn.execute(
            "UPDATE scim_operators SET session_version = session_version + 1 WHERE name = ?", (name,)))
