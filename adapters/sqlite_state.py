"""A :class:`StateStore` in a SQLite file: the directory database itself for the embedded
default, or ``DATA_DIR/gateway-state.db`` beside adapters that bring no state store.

The CLI, run while the gateway serves, writes the same file, so the running gateway honours
``integration rotate``/``remove`` at once: ``active_token_id`` is one primary-key SELECT on a
plain ``sqlite3`` connection (WAL: a reader never waits for a writer), cheaper than a round trip
to a worker thread; the embedded adapter lends it the connection its own reads use.

Every change is one autocommitted statement whose outcome SQLite decides under its write lock
(``INSERT ... ON CONFLICT DO NOTHING``, ``UPDATE``/``DELETE ... WHERE``), so concurrent CLI runs
and gateway processes on the file never both win. Changes run on a worker thread: one may wait
for another writer's lock (the portal's) up to the busy timeout, and on the event loop that wait
stalled every request of the worker (the Integrations page's Enable, a durability review).
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from adapters.location_ids import location_number
from adapters.errors import AlreadyExists, NotFound, Unavailable
from adapters.files import create_private_file
from adapters.activity import ActivityLog
from adapters.operators import OperatorStore
from adapters.sqlite_activity import DDL as ACTIVITY_DDL
from adapters.sqlite_activity import SqliteActivityLog, SqliteFile, SqliteOperatorStore
from adapters.sqlite_file_guard import FileGuard
from adapters.sqlite_wal import LOCK_WAIT, OTHER_WRITERS, is_busy, use_wal
from adapters.state import Integration, SigningKeyRecord, StateStore

_DDL = (
    """
CREATE TABLE IF NOT EXISTS scim_integrations (
    location_id  INTEGER PRIMARY KEY,
    token_id     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    rotated_at   TEXT NOT NULL
)
""",
    # One row at most: the deployment's signing-key id (never the key) and where it was first used.
    """
CREATE TABLE IF NOT EXISTS scim_signing_key (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    key_id       TEXT NOT NULL,
    host         TEXT NOT NULL,
    source       TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
)
""",
)


_TOKEN_ID = "SELECT token_id FROM scim_integrations WHERE location_id = ?"

#: Runs one SELECT and returns its rows (see :class:`SqliteStateStore`).
Reader = Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _location(tenant: str) -> int:
    number = location_number(tenant)
    if number is None:
        raise NotFound(f"location {tenant[:40]!r} does not exist")
    return number


class SqliteStateStore(StateStore):
    """State in one SQLite file (tenants are integer location ids)."""

    def __init__(self, path: Path | str, *, timeout: float = LOCK_WAIT, reader: Reader | None = None) -> None:
        """``reader`` runs the token check's SELECT instead of this store's own connection: an
        adapter on the same file lends the connection its requests already read through."""
        self.path = Path(path)
        self._timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._reader = reader
        self._file = SqliteFile(self.path, timeout)

    async def start(self) -> None:
        self._conn = await asyncio.to_thread(self._open)

    def _open(self) -> sqlite3.Connection:
        """The store's own connection, in WAL mode, with its tables (on a worker thread: the
        switch to WAL and the tables wait for another writer)."""
        create_private_file(self.path)
        conn = sqlite3.connect(str(self.path), timeout=self._timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            use_wal(conn, self._timeout)
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            for statement in (*_DDL, *ACTIVITY_DDL):
                conn.execute(statement)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError):  # locked past the timeout, unreadable, a full disk
                raise Unavailable(f"the state store {self.path} could not be opened: {exc}") from exc
            if isinstance(exc, sqlite3.DatabaseError):  # damaged: a truncated or overwritten file
                raise Unavailable(f"the state store {self.path} is damaged ({exc}): restore it from a backup "
                                  "(README: Backups)") from exc
            raise
        self._file.guard = FileGuard(self.path, "the state store")
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        await self._file.close()

    def activity_log(self) -> ActivityLog:
        return SqliteActivityLog(self._file)

    def operators(self) -> OperatorStore:
        return SqliteOperatorStore(self._file)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise Unavailable("the state store is not open")
        return self._conn

    async def _write(self, sql: str, params: tuple[Any, ...], then: str | None = None) -> Any:
        """One autocommitted statement on a worker thread: its row count, or with ``then`` the
        first row of that SELECT run after it; a lock held past the busy timeout is ``Unavailable``."""
        def run(conn: sqlite3.Connection) -> Any:
            try:
                count = conn.execute(sql, params).rowcount
                return count if then is None else conn.execute(then).fetchone()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                raise Unavailable(f"state store write failed: {self.path.name} stayed locked by {OTHER_WRITERS} "
                                  f"for {self._timeout:g} s; try again once that writer is done ({exc})") from exc
        return await self._file.run(run)

    async def check_health(self) -> None:
        """The file is still the one opened and undamaged (a deleted ``gateway-state.db`` went on
        taking changes, all lost at the next start: a durability review), and it answers."""
        if self._file.guard is not None:
            self._file.guard.check()
        await self.active_token_id("1")

    async def active_token_id(self, tenant: str) -> str | None:
        try:
            location_id = _location(tenant)
        except NotFound:
            return None
        if self._reader is not None:
            rows = self._reader(_TOKEN_ID, (location_id,))
            return None if not rows else str(rows[0][0])
        try:
            row = self._db().execute(_TOKEN_ID, (location_id,)).fetchone()
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"integration lookup failed: {exc}") from exc
        return None if row is None else row[0]

    async def enable(self, tenant: str) -> str:
        token_id, now = secrets.token_hex(16), _now()
        inserted = await self._write(
            "INSERT INTO scim_integrations (location_id, token_id, created_at, rotated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (location_id) DO NOTHING", (_location(tenant), token_id, now, now))
        if inserted != 1:
            raise AlreadyExists(f"SCIM is already enabled for location {tenant}")
        return token_id

    async def rotate(self, tenant: str) -> str:
        token_id = secrets.token_hex(16)
        updated = await self._write("UPDATE scim_integrations SET token_id = ?, rotated_at = ? WHERE location_id = ?",
                                    (token_id, _now(), _location(tenant)))
        if updated != 1:
            raise NotFound(f"SCIM is not enabled for location {tenant}")
        return token_id

    async def remove(self, tenant: str) -> None:
        if await self._write("DELETE FROM scim_integrations WHERE location_id = ?", (_location(tenant),)) == 0:
            raise NotFound(f"SCIM is not enabled for location {tenant}")

    async def rotate_if_current(self, tenant: str, token_id: str) -> str:
        new_id = secrets.token_hex(16)
        updated = await self._write("UPDATE scim_integrations SET token_id = ?, rotated_at = ? "
                                    "WHERE location_id = ? AND token_id = ?",
                                    (new_id, _now(), _location(tenant), token_id))
        if updated != 1:
            await self._refuse_stale(tenant)
        return new_id

    async def remove_if_current(self, tenant: str, token_id: str) -> None:
        if await self._write("DELETE FROM scim_integrations WHERE location_id = ? AND token_id = ?",
                             (_location(tenant), token_id)) != 1:
            await self._refuse_stale(tenant)

    async def list(self) -> list[Integration]:
        rows = self._db().execute(
            "SELECT location_id, token_id, created_at, rotated_at FROM scim_integrations ORDER BY location_id")
        return [Integration(str(r[0]), r[1], r[2], r[3]) for r in rows.fetchall()]

    async def claim_signing_key(self, candidate: SigningKeyRecord) -> SigningKeyRecord:
        # The record, once there, is read without the write lock: a portal job holding it for
        # longer than the lock wait stopped every `serve` from starting (a race review).
        row = self._db().execute("SELECT key_id, host, source, recorded_at FROM scim_signing_key").fetchone()
        if row is None:
            row = await self._write("INSERT INTO scim_signing_key (singleton, key_id, host, source, recorded_at) "
                                    "VALUES (1, ?, ?, ?, ?) ON CONFLICT (singleton) DO NOTHING",
                                    (candidate.key_id, candidate.host, candidate.source, _now()),
                                    then="SELECT key_id, host, source, recorded_at FROM scim_signing_key")
        if row is None:  # the row is never deleted by the gateway
            raise Unavailable("the signing-key record vanished from the state store")
        return SigningKeyRecord(key_id=row[0], host=row[1], source=row[2], recorded_at=row[3])
