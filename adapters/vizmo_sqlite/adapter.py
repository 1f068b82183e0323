"""The built-in adapter: SCIM Users of a location stored in the Vizmo directory (SQLite).

I/O only; the row ⇄ SCIM mapping is in :mod:`adapters.vizmo_sqlite.mapping` and the filter
translation in :mod:`adapters.vizmo_sqlite.columns`.

Reads that are index lookups (GET by id, ``userName``/``externalId``/``id eq``, and the state
store's token check) run as one indexed SELECT in the calling thread, on the connection the
writes use: in WAL mode a reader never waits for a writer, a round trip to a worker thread
costs more than the query (see docs/architecture.md, performance notes), and a connection that
starts a read after another connection committed pays about 30 µs to take up the new snapshot
(its page cache is dropped and refilled). A PATCH reads, checks the token and writes: on three
connections it paid that three times per request, on one only when another process wrote in
between (bench/load.py-style A/B, PATCH: CPU per request 1,350 against 1,498 µs with one
worker; p99 45.9 against 49.8 ms with two). Every other read runs on aiosqlite's worker thread,
so a scan never blocks the event loop, and stops when its caller gives up (:mod:`.scan_reader`).
Every write is one transaction (:mod:`adapters.vizmo_sqlite.writes`), run on the event loop
when the write lock is free and otherwise on a thread that waits for the lock
(:mod:`adapters.vizmo_sqlite.busy_writer`), so nothing on the loop ever waits for it; WAL
checkpoints run on a thread of their own (:mod:`adapters.vizmo_sqlite.checkpoint`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import aiosqlite

from adapters.activity import Journal
from adapters.base import Adapter, Capabilities, Change, Resource, ResourceAdapter, Tenant
from adapters.errors import NotFound, Unavailable
from adapters.location_ids import location_number
from adapters.padded_emails import bare, padded_user_name
from adapters.sqlite_wal import LOCK_WAIT
from adapters.query import ListQuery, Page
from adapters.sqlite_state import SqliteStateStore
from adapters.state import StateStore
from adapters.versions import ExpectedVersion
from adapters.vizmo_sqlite import bootstrap, mapping, text_values, writes
from adapters.vizmo_sqlite.busy_writer import BusyWriter, HandedBack
from adapters.vizmo_sqlite.checkpoint import WalCheckpointer
from adapters.sqlite_file_guard import FileGuard
from adapters.vizmo_sqlite.columns import TRANSLATOR
from adapters.vizmo_sqlite.scan_reader import CHECK_EVERY, ScanReader
from adapters.vizmo_sqlite.search_sql import (count_sql, is_point_lookup, page_sql, point_count_sql,
                                               point_lookup_sql)
from adapters.vizmo_sqlite.writes import LIVE, SELECT

T = TypeVar("T")

#: Seconds a write waits for another writer's lock before answering 503 (Retry-After).
WRITE_LOCK_WAIT = LOCK_WAIT

log = logging.getLogger("vizmo_scim.adapter.sqlite")

def _written(resource: Resource, journal: Journal | None) -> writes.Written | None:
    return None if journal is None else writes.Written(resource, journal)


class VizmoUserAdapter(ResourceAdapter):
    """Users of one location."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr"}),
        logical=True, sort=True, etag=True, max_results=200, journals_writes=True,
    )

    def __init__(self, store: "VizmoSqliteAdapter", location_id: int) -> None:
        self._store = store
        self._location_id = location_id

    # -- reads ---------------------------------------------------------------------------
    async def get(self, id: str) -> Resource:
        employee_id = mapping.split_id(id)
        if employee_id is not None:
            rows = self._store.read_now(SELECT + "WHERE e.id = ? AND " + LIVE, (employee_id, self._location_id))
            if rows and mapping.scim_id_of(rows[0]) == id:
                return mapping.from_storage(rows[0])
        raise NotFound(f"User {id} not found")

    async def search(self, query: ListQuery) -> Page:
        where, params = ("1", []) if query.filter is None else TRANSLATOR.where(query.filter)
        order, order_params = ("e.id", []) if query.sort is None else TRANSLATOR.order_by(query.sort)
        page = (self._location_id, *params, *order_params, query.count, query.start_index - 1)
        if is_point_lookup(query.filter):
            sql, unordered = point_lookup_sql(query, where, order)
            rows = self._store.read_now(sql, page if not unordered else (self._location_id, *params, query.count,
                                                                         query.start_index - 1))
            total = len(rows) if query.start_index == 1 and len(rows) < query.count else None
            if not rows and query.start_index == 1 and (padded := padded_user_name(query.filter)):
                rows = self._store.read_now(f"{SELECT}WHERE {LIVE} AND e.email IN ({', '.join('?' * len(padded))}) "
                                            "ORDER BY e.id LIMIT ?", (self._location_id, *padded, query.count))
                if not rows:  # an email the portal stored as a BLOB (padded forms surround the userName)
                    rows = self._store.read_now(f"{SELECT}WHERE {LIVE} AND {text_values.BLOB_EMAIL_IS} "
                                                "ORDER BY e.id LIMIT ?", (self._location_id, bare(padded[0]),
                                                                          query.count))
                total = len(rows)
            if total is None:
                total = self._store.read_now(point_count_sql(query, where), (self._location_id, *params))[0]["total"]
        else:
            rows = await self._store.read(page_sql(where, order), (*page, *order_params))
            total = rows[0]["total"] if rows else \
                (await self._store.read(count_sql(where), (self._location_id, *params)))[0]["total"]
        return Page(resources=[mapping.from_storage(r) for r in rows], total_results=total)

    # -- writes (each one transaction, see VizmoSqliteAdapter.write) ------------------------
    # The mapping work runs outside the transaction: the write lock is shared with the other
    # workers (and the portal), and every microsecond it is held is one they may wait.
    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        stored = mapping.to_storage(resource)
        row = await self._store.write(writes.create_user, self._location_id, stored, mapping.extra_json(stored.extra),
                                      _written(resource, journal))
        return mapping.from_storage(row)

    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        stored = mapping.to_storage(resource)
        row = await self._store.write(writes.replace_user, self._location_id, id, stored,
                                      mapping.extra_json(stored.extra), expected_version, _written(resource, journal))
        return mapping.from_storage(row)

    async def modify(self, id: str, change: Change, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> Resource:
        prepared = self._store.read_now_with(writes.prepare_patch, self._location_id, id, change, expected_version,
                                             journal)
        if prepared.stored is None:  # nothing to change: no lock, no entry (RFC 7644 §3.5.2: 200)
            return mapping.from_storage(prepared.row)
        row = await self._store.write(writes.modify_user, self._location_id, id, change, expected_version, journal,
                                      prepared)
        return mapping.from_storage(row)

    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        await self._store.write(writes.delete_user, self._location_id, id, expected_version, journal)


def _fetch_all(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    except BaseException:
        cursor.close()  # ends the read transaction of a fetch that failed halfway (see read)
        raise


class VizmoSqliteAdapter(Adapter):
    """The Vizmo directory in one SQLite file; tenants are location ids."""

    name: ClassVar[str] = "sqlite"
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1, "format": "path",
                     "description": "the directory database file (default DATA_DIR/directory.db)"},
            "create_if_missing": {"type": "boolean", "default": False,
                                  "description": "create a new directory with one demo location if the file is missing"},
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def __init__(self, path: Path | str, *, create_if_missing: bool = False) -> None:
        self.path = Path(path)
        self.create_if_missing = create_if_missing
        self._write_now: sqlite3.Connection | None = None
        self.write_lock_wait = WRITE_LOCK_WAIT
        self._reader: ScanReader | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._busy_writer: BusyWriter | None = None
        self._file: FileGuard | None = None  # deleted, replaced or damaged since it was opened

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "VizmoSqliteAdapter":
        return cls(options["path"], create_if_missing=bool(options.get("create_if_missing", False)))

    async def start(self) -> None:
        await asyncio.to_thread(self._prepare)
        # Opened off the loop: its pragmas may wait for the file (bootstrap.connect); it is then
        # used on the loop only, without a busy handler.
        self._write_now = await asyncio.to_thread(bootstrap.connect, self.path, timeout=0, check_same_thread=False)
        self._write_now.row_factory = sqlite3.Row
        self._write_now.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run off the loop (.checkpoint)
        self._file = FileGuard(self.path)
        self._checkpointer = WalCheckpointer(self.path)
        self._checkpointer.start()
        self._busy_writer = BusyWriter(self.path)
        self._busy_writer.start()
        self._reader = await ScanReader.over(await self._open())

    def _prepare(self) -> None:
        """Create the directory if asked to, and the gateway's tables. Run on a worker thread:
        creating tables waits for the write lock (up to 5 s) while another writer holds it."""
        if not self.path.exists():
            if not self.create_if_missing:
                raise Unavailable(f"no directory database at {self.path} (an existing Vizmo directory is expected "
                                  "there; [adapter.options] create_if_missing = true creates a new, demo one)")
            bootstrap.create_directory(self.path)
        setup = bootstrap.connect(self.path)
        try:
            bootstrap.ensure_scim_tables(setup)
        finally:
            setup.close()

    async def _open(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(self.path), timeout=LOCK_WAIT, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={int(LOCK_WAIT * 1000)}"):
            # closed: a statement left with a row unread counts as running, and SQLite then
            # applies an interrupt (.scan_reader) to every later statement of the connection
            await (await conn.execute(f"PRAGMA {pragma}")).close()
        return conn

    async def stop(self) -> None:
        if self._busy_writer is not None:
            busy_writer, self._busy_writer = self._busy_writer, None
            await busy_writer.stop()
        if self._reader is not None:
            await self._reader.conn.close()
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            await asyncio.to_thread(checkpointer.stop)  # its last checkpoint, and the thread's end
        if self._write_now is not None:
            self._write_now.close()
        self._reader, self._write_now = None, None

    async def check_health(self) -> None:
        self._guard().check()
        await self.read("SELECT count(*) FROM sqlite_master", ())  # reads the file's first pages

    def _guard(self) -> FileGuard:
        if self._file is None:
            raise Unavailable("the directory is not open")
        return self._file

    async def tenant_exists(self, tenant: str) -> bool:
        location = location_number(tenant)
        return bool(location is not None and self.read_now("SELECT 1 FROM locations WHERE id = ?", (location,)))

    async def tenants(self) -> list[Tenant]:
        """The directory's locations (a scan: on aiosqlite's thread)."""
        rows = await self.read("SELECT id, name FROM locations ORDER BY id", ())
        return [Tenant(str(row[0]), str(row[1])) for row in rows]

    def state_store(self) -> StateStore:
        """Gateway state lives in the directory database itself (table ``scim_integrations``);
        the per-request token check reads it through :meth:`read_now`."""
        return SqliteStateStore(self.path, reader=self.read_now)

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        location = location_number(tenant)
        if resource_type != "User" or location is None:
            raise NotFound(f"no {resource_type} storage for tenant {tenant[:40]}")
        return VizmoUserAdapter(self, location)

    # -- connection plumbing used by VizmoUserAdapter --------------------------------------
    def read_now(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """One short indexed read in the calling thread, on the writes' connection (see the
        module docstring). In WAL mode a read takes no lock a writer holds, so it never waits."""
        if self._write_now is None:
            raise Unavailable("the directory is not open")
        try:
            return text_values.read(self._write_now, _fetch_all, sql, params)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"directory read failed: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._guard().note(exc)
            raise

    def read_now_with(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in the calling thread on the writes' connection, outside any
        transaction: reads only, as :meth:`read_now`."""
        if self._write_now is None:
            raise Unavailable("the directory is not open")
        try:
            return text_values.read(self._write_now, fn, *args)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"directory read failed: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._guard().note(exc)
            raise

    async def read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """A read on aiosqlite's worker thread (scans must not block the event loop), stopped
        when its caller gives up (:mod:`.scan_reader`)."""
        if self._reader is None:
            raise Unavailable("the directory is not open")
        try:
            try:
                return await self._reader.fetch_all(sql, params)
            except sqlite3.OperationalError as exc:
                if not text_values.is_not_utf8(exc):
                    raise
            abandoned = threading.Event()  # stops it too (.scan_reader): a lenient scan ran on after its 503
            try:
                return await asyncio.to_thread(self._read_leniently, sql, params, abandoned)
            except asyncio.CancelledError:
                abandoned.set()
                raise
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"directory read failed: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._guard().note(exc)
            raise

    def _read_leniently(self, sql: str, params: tuple[Any, ...], abandoned: threading.Event) -> list[sqlite3.Row]:
        """:meth:`read` once more, on a connection of its own that reads text leniently."""
        conn = sqlite3.connect(self.path, timeout=LOCK_WAIT)
        try:
            conn.row_factory, conn.text_factory = sqlite3.Row, text_values.lenient
            conn.set_progress_handler(abandoned.is_set, CHECK_EVERY)
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` as one transaction (see :mod:`.writes`): on the event loop
        when the write lock is free, else on the busy writer's thread, which waits for the lock
        (:mod:`.busy_writer`), for up to ``write_lock_wait`` seconds, then answers 503.

        The loop's connection never waits for another writer (a second worker process, the
        CLI, the portal, a FULL checkpoint): it has no busy handler, so ``BEGIN IMMEDIATE``
        takes the lock at once or fails at once, and nothing on the loop sleeps or polls. A
        write that finds the lock taken tries once more on the loop after one round of the
        loop's other work (``asyncio.sleep(0)``, no timer) before it goes to the thread: the
        usual holder, another worker's transaction, keeps it about 0.3 ms, while a write on
        the thread pays a thread wake-up and holds the lock across GIL hand-offs. Measured
        with bench/load.py --processes 2, PATCH, six alternating runs of each: writes sent to
        the thread 18-26 % -> 5-11 %; p99 within the host's drift of each other (23-26 against
        25-30 ms on a quiet host, 48-51 against 43-46 ms while other processes took a core).
        Writes queued on the thread behind one that waited come back here once it committed
        (:meth:`.busy_writer.BusyWriter._hand_back_waiting`).
        """
        if self._write_now is None or self._busy_writer is None:
            raise Unavailable("the directory is not open")
        self._guard().check()
        deadline = time.monotonic() + self.write_lock_wait
        try:
            try:
                result = writes.run_transaction(self._write_now, fn, *args)
            except writes.DirectoryBusy:
                await asyncio.sleep(0)  # the rest of this round, never a timer (see above)
                result = await self._write_when_free(fn, args, deadline)
        except Unavailable as exc:  # writes.run_transaction says why with the SQLite error as the cause
            if isinstance(exc.__cause__, sqlite3.DatabaseError):
                self._guard().note(exc.__cause__)
            raise
        if self._checkpointer is not None:
            self._checkpointer.note_write()
        return result

    async def _write_when_free(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float) -> T:
        """Try the lock on the loop again; when it is still taken, let the busy writer wait for
        it, and try here once more each time that thread hands the write back untried (it does
        once it released the lock for another write: :class:`.busy_writer.HandedBack`)."""
        while True:
            if self._write_now is None or self._busy_writer is None:  # stop() ran meanwhile
                raise Unavailable("the directory is not open")
            try:
                return writes.run_transaction(self._write_now, fn, *args)
            except writes.DirectoryBusy:
                pass
            try:
                return await self._busy_writer.run(fn, args, deadline)
            except HandedBack:
                continue
