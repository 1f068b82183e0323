"""The built-in adapter: SCIM Users of a location stored in the Vizmo directory (SQLite).

I/O only; the row ⇄ SCIM mapping is in :mod:`adapters.vizmo_sqlite.mapping` and the filter
translation in :mod:`adapters.vizmo_sqlite.columns`.

Reads that are index lookups (GET by id, ``userName``/``externalId``/``id eq``) run as one
indexed SELECT on a plain ``sqlite3`` connection in the calling thread: in WAL mode a reader
never waits for a writer, and a round trip to a worker thread costs more than the query
(see ARCHITECTURE.md, performance notes). Every other read, and every write, runs on
aiosqlite's worker thread. Writes are serialised on one connection, one transaction per
request (``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import aiosqlite

from adapters.base import Adapter, Capabilities, Resource, ResourceAdapter
from adapters.errors import AlreadyExists, BackendUnavailable, NotFound, VersionMismatch
from adapters.query import And, Compare, Filter, ListQuery, Page
from adapters.sqlite_state import SqliteStateStore
from adapters.state import StateStore
from adapters.vizmo_sqlite import bootstrap, mapping
from adapters.vizmo_sqlite.columns import TRANSLATOR

log = logging.getLogger("vizmo_scim.adapter.sqlite")

_SELECT = (
    "SELECT e.id, e.email, e.first_name, e.last_name, e.display_name, e.phone, e.mobile, "
    "e.department, e.designation, e.employee_code, e.status, e.created_at, e.updated_at, "
    "s.scim_id, s.external_id, s.extra, s.version, s.incarnation "
    "FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id "
)
_LIVE = "e.location_id = ? AND e.status <> 'removed'"
_POINT_ATTRIBUTES = frozenset({"id", "userName", "externalId"})


def _split_id(scim_id: str) -> int | None:
    """The employee id inside a SCIM id (``"123"`` or ``"123.2"``), or None if malformed."""
    head = scim_id.split(".", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) < 19 else None


def _is_point_lookup(node: Filter | None) -> bool:
    """Whether the filter pins an indexed unique attribute with ``eq`` (an index lookup)."""
    if isinstance(node, Compare):
        return node.op == "eq" and node.path.urn is None and node.path.sub_attr is None \
            and node.path.attr in _POINT_ATTRIBUTES
    if isinstance(node, And):
        return _is_point_lookup(node.left) or _is_point_lookup(node.right)
    return False


class VizmoUserAdapter(ResourceAdapter):
    """Users of one location."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr"}),
        logical=True, sort=True, etag=True, max_results=200,
    )

    def __init__(self, store: "VizmoSqliteAdapter", location_id: int) -> None:
        self._store = store
        self._location_id = location_id

    # -- reads ---------------------------------------------------------------------------
    async def get(self, id: str) -> Resource:
        employee_id = _split_id(id)
        if employee_id is not None:
            rows = self._store.read_now(
                _SELECT + "WHERE e.id = ? AND " + _LIVE, (employee_id, self._location_id))
            if rows and mapping.scim_id_of(rows[0]) == id:
                return mapping.from_storage(rows[0])
        raise NotFound(f"User {id} not found")

    async def search(self, query: ListQuery) -> Page:
        where, params = ("1", []) if query.filter is None else TRANSLATOR.where(query.filter)
        order, order_params = ("e.id", []) if query.sort is None else TRANSLATOR.order_by(query.sort)
        sql = (f"{_SELECT.replace('SELECT ', 'SELECT count(*) OVER () AS total, ', 1)}"
               f"WHERE {_LIVE} AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?")
        args = (self._location_id, *params, *order_params, query.count, query.start_index - 1)
        if _is_point_lookup(query.filter):
            rows = self._store.read_now(sql, args)
        else:
            rows = await self._store.read(sql, args)
        if rows:
            total = rows[0]["total"]
        elif query.start_index > 1 or query.count == 0:
            count_sql = f"SELECT count(*) AS total FROM employees e LEFT JOIN scim_users s " \
                        f"ON s.employee_id = e.id WHERE {_LIVE} AND ({where})"
            total = (await self._store.read(count_sql, (self._location_id, *params)))[0]["total"]
        else:
            total = 0
        return Page(resources=[mapping.from_storage(r) for r in rows], total_results=total)

    # -- writes --------------------------------------------------------------------------
    async def create(self, resource: Resource) -> Resource:
        stored = mapping.to_storage(resource)
        async with self._store.transaction() as db:
            cur = await db.execute(
                "SELECT e.id, e.status, s.incarnation FROM employees e "
                "LEFT JOIN scim_users s ON s.employee_id = e.id "
                "WHERE e.location_id = ? AND e.email = ?", (self._location_id, stored.columns["email"]))
            existing = await cur.fetchone()
            now = mapping.now_iso()
            if existing is None:
                employee_id = await self._insert_employee(db, stored, now)
                incarnation = 0
            elif existing["status"] == "removed":
                # Re-create after a delete: the row is revived (UNIQUE (location_id, email) keeps
                # one row per address) under a new SCIM id, so the old id stays 404 forever.
                employee_id = existing["id"]
                incarnation = (existing["incarnation"] or 0) + 1
                await self._update_employee(db, employee_id, stored, now, created_at=now)
                # The new account starts as a plain employee, like a new row would: portal roles of
                # the removed account (location_admin, receptionist) are not inherited.
                await db.execute("DELETE FROM employee_roles WHERE employee_id = ?", (employee_id,))
            else:
                raise AlreadyExists(f"userName {stored.columns['email']!r} is already taken in this location")
            scim_id = str(employee_id) if incarnation == 0 else f"{employee_id}.{incarnation}"
            await db.execute(
                "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (employee_id) DO UPDATE SET "
                "scim_id = excluded.scim_id, incarnation = excluded.incarnation, "
                "external_id = excluded.external_id, extra = excluded.extra, version = scim_users.version + 1",
                (employee_id, self._location_id, scim_id, incarnation, stored.external_id,
                 json.dumps(stored.extra, separators=(",", ":"))))
            return await self._fetch(db, employee_id)

    async def replace(self, id: str, resource: Resource, *, if_match: str | None = None) -> Resource:
        async with self._store.transaction() as db:
            current = await self._current(db, id, if_match)
            stored = mapping.to_storage(resource, current_status=current["status"])
            if stored.columns["email"].lower() != current["email"].lower():
                cur = await db.execute(
                    "SELECT 1 FROM employees WHERE location_id = ? AND email = ? AND id <> ?",
                    (self._location_id, stored.columns["email"], current["id"]))
                if await cur.fetchone() is not None:
                    raise AlreadyExists(f"userName {stored.columns['email']!r} is already taken in this location")
            await self._update_employee(db, current["id"], stored, mapping.now_iso())
            await self._upsert_scim(db, current, external_id=stored.external_id,
                                    extra=json.dumps(stored.extra, separators=(",", ":")))
            return await self._fetch(db, current["id"])

    async def delete(self, id: str, *, if_match: str | None = None) -> None:
        async with self._store.transaction() as db:
            current = await self._current(db, id, if_match)
            await db.execute("UPDATE employees SET status = 'removed', updated_at = ? WHERE id = ?",
                             (mapping.now_iso(), current["id"]))
            await self._upsert_scim(db, current, external_id=current["external_id"],
                                    extra=current["extra"] or "{}")

    # -- helpers -------------------------------------------------------------------------
    async def _current(self, db: aiosqlite.Connection, id: str, if_match: str | None) -> sqlite3.Row:
        employee_id = _split_id(id)
        row = None
        if employee_id is not None:
            cur = await db.execute(_SELECT + "WHERE e.id = ? AND " + _LIVE, (employee_id, self._location_id))
            row = await cur.fetchone()
        if row is None or mapping.scim_id_of(row) != id:
            raise NotFound(f"User {id} not found")
        if if_match is not None and if_match.strip() != "*":
            current = mapping.from_storage(row)["meta"]["version"]
            if current not in {tag.strip() for tag in if_match.split(",")}:
                raise VersionMismatch(f"User {id} has changed: its current version is {current}")
        return row

    async def _fetch(self, db: aiosqlite.Connection, employee_id: int) -> Resource:
        cur = await db.execute(_SELECT + "WHERE e.id = ?", (employee_id,))
        row = await cur.fetchone()
        assert row is not None
        return mapping.from_storage(row)

    async def _insert_employee(self, db: aiosqlite.Connection, stored: mapping.StoredUser, now: str) -> int:
        c = stored.columns
        cur = await db.execute(
            "INSERT INTO employees (location_id, email, first_name, last_name, display_name, phone, mobile, "
            "department, designation, employee_code, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._location_id, c["email"], c["first_name"], c["last_name"], c["display_name"], c["phone"],
             c["mobile"], c["department"], c["designation"], c["employee_code"], c["status"], now, now))
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def _update_employee(self, db: aiosqlite.Connection, employee_id: int, stored: mapping.StoredUser,
                               now: str, *, created_at: str | None = None) -> None:
        c = stored.columns
        await db.execute(
            "UPDATE employees SET email = ?, first_name = ?, last_name = ?, display_name = ?, phone = ?, "
            "mobile = ?, department = ?, designation = ?, employee_code = ?, status = ?, updated_at = ?, "
            "created_at = COALESCE(?, created_at) WHERE id = ?",
            (c["email"], c["first_name"], c["last_name"], c["display_name"], c["phone"], c["mobile"],
             c["department"], c["designation"], c["employee_code"], c["status"], now, created_at, employee_id))

    async def _upsert_scim(self, db: aiosqlite.Connection, current: sqlite3.Row, *,
                           external_id: str | None, extra: str) -> None:
        """Write the scim_users row, bumping its version (an adopted portal employee gets one,
        keeping its employee id as SCIM id)."""
        await db.execute(
            "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
            "VALUES (?, ?, ?, 0, ?, ?, 1) ON CONFLICT (employee_id) DO UPDATE SET "
            "external_id = excluded.external_id, extra = excluded.extra, version = scim_users.version + 1",
            (current["id"], self._location_id, mapping.scim_id_of(current), external_id, extra))


class VizmoSqliteAdapter(Adapter):
    """The Vizmo directory in one SQLite file; tenants are location ids."""

    name: ClassVar[str] = "sqlite"
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1,
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
        self._writer: aiosqlite.Connection | None = None
        self._reader_conn: aiosqlite.Connection | None = None
        self._now_conn: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "VizmoSqliteAdapter":
        return cls(options["path"], create_if_missing=bool(options.get("create_if_missing", False)))

    async def start(self) -> None:
        if not self.path.exists():
            if not self.create_if_missing:
                raise BackendUnavailable(f"no directory database at {self.path}")
            bootstrap.create_directory(self.path)
        setup = bootstrap.connect(self.path)
        try:
            bootstrap.ensure_scim_tables(setup)
        finally:
            setup.close()
        self._writer = await self._open()
        self._reader_conn = await self._open()
        self._now_conn = bootstrap.connect(self.path)
        self._now_conn.row_factory = sqlite3.Row

    async def _open(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(self.path), timeout=5.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def stop(self) -> None:
        for conn in (self._writer, self._reader_conn):
            if conn is not None:
                await conn.close()
        if self._now_conn is not None:
            self._now_conn.close()
        self._writer = self._reader_conn = self._now_conn = None

    async def check_health(self) -> None:
        await self.read("SELECT 1", ())

    async def tenant_exists(self, tenant: str) -> bool:
        return bool(tenant.isdigit() and self.read_now("SELECT 1 FROM locations WHERE id = ?", (int(tenant),)))

    def state_store(self) -> StateStore:
        """Gateway state lives in the directory database itself (table ``scim_integrations``)."""
        return SqliteStateStore(self.path)

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        if resource_type != "User" or not tenant.isdigit():
            raise NotFound(f"no {resource_type} storage for tenant {tenant}")
        return VizmoUserAdapter(self, int(tenant))

    # -- connection plumbing used by VizmoUserAdapter --------------------------------------
    def read_now(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """One short indexed read in the calling thread (see the module docstring)."""
        if self._now_conn is None:
            raise BackendUnavailable("the directory is not open")
        try:
            return self._now_conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"directory read failed: {exc}") from exc

    async def read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """A read on aiosqlite's worker thread (scans must not block the event loop)."""
        if self._reader_conn is None:
            raise BackendUnavailable("the directory is not open")
        try:
            cur = await self._reader_conn.execute(sql, params)
            return list(await cur.fetchall())
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"directory read failed: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        if self._writer is None:
            raise BackendUnavailable("the directory is not open")
        async with self._write_lock:
            db = self._writer
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise BackendUnavailable(f"directory is busy: {exc}") from exc
            try:
                yield db
            except BaseException as exc:
                await self._rollback(db)
                if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
                    raise AlreadyExists("userName is already taken in this location") from exc
                if isinstance(exc, sqlite3.IntegrityError):
                    raise BackendUnavailable(f"directory rejected the write: {exc}") from exc
                if isinstance(exc, sqlite3.OperationalError):
                    raise BackendUnavailable(f"directory write failed: {exc}") from exc
                raise
            try:
                await db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                await self._rollback(db)
                raise BackendUnavailable(f"directory write failed: {exc}") from exc

    @staticmethod
    async def _rollback(db: aiosqlite.Connection) -> None:
        try:
            await db.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed; the transaction was already closed")
