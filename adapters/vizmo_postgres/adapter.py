"""The Vizmo directory on PostgreSQL: SCIM Users of a location, over an asyncpg pool.

I/O only, with the semantics of the SQLite adapter method for method: the row ⇄ SCIM mapping is
:mod:`adapters.vizmo_sqlite.mapping` (the same legacy layout), the filter translation
:mod:`adapters.vizmo_postgres.columns`. SCIM ids are ``"<employee id>"``, or
``"<employee id>.<n>"`` after the n-th re-create of a deleted user (its row is revived, the old id
stays 404); employees the portal created, without a ``scim_users`` row, are visible under their
employee id. ``meta.version`` is :func:`~adapters.vizmo_sqlite.mapping.version_tag` of the row.

Several gateway processes share the database, so every write is one transaction that first
locks the employee row (``FOR UPDATE``: ``If-Match`` checks and updates cannot interleave) and
then reads it afresh; uniqueness is decided by the database: a create checks for a clash under
the transaction, but the ``UNIQUE (location_id, lower(email))`` index is the guard, and its
violation by a concurrent writer is an ``AlreadyExists`` like any other clash (RFC 7644 §3.3).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

from adapters.activity import Journal
from adapters.base import Adapter, Capabilities, Change, Resource, ResourceAdapter, Tenant
from adapters.errors import NotFound, VersionMismatch
from adapters.padded_emails import address_key, holder_forms, padded_holder_taken, padded_user_name
from adapters.query import ListQuery, Page
from adapters.sql_dialect import numbered
from adapters.state import StateStore
from adapters.versions import ExpectedVersion
from adapters.vizmo_postgres.activity import insert_entry
from adapters.vizmo_postgres.columns import TRANSLATOR
from adapters.vizmo_postgres.db import DsnSource, PgDatabase
from adapters.vizmo_postgres.state import PostgresStateStore, location_id
from adapters.vizmo_sqlite import mapping

log = logging.getLogger("vizmo_scim.adapter.postgres")

_COLUMNS = (
    "e.id, e.email, e.first_name, e.last_name, e.display_name, e.phone, e.mobile, "
    "e.department, e.designation, e.employee_code, e.status, e.created_at, e.updated_at, "
    "s.scim_id, s.external_id, s.extra::text AS extra, s.version, s.incarnation"
)
_FROM = " FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id "
_LIVE = "e.location_id = ? AND e.status <> 'removed'"
_GET = numbered(f"SELECT {_COLUMNS}{_FROM}WHERE e.id = ? AND {_LIVE}")
_FETCH = numbered(f"SELECT {_COLUMNS}{_FROM}WHERE e.id = ?")
_LOCK = numbered("SELECT id FROM employees WHERE id = ? AND location_id = ? AND status <> 'removed' FOR UPDATE")
_LOCK_EMAIL = numbered("SELECT id, status FROM employees WHERE location_id = ? AND lower(email) = lower(?::text) "
                       "FOR UPDATE")
#: Held until the transaction ends: the writes of one address, in any of its padded or case forms
#: (``address_key``), one at a time, so each one's check for the other forms sees the others' commits.
_LOCK_ADDRESS = "SELECT pg_advisory_xact_lock($1)"
_EMAIL_HOLDER = numbered("SELECT status FROM employees WHERE location_id = ? "
                         "AND lower(email) = lower(?::text) AND id <> ? LIMIT 1")
#: Live employees holding an address with whitespace around it (adapters.padded_emails): an
#: equality probe per form on the ``(location_id, lower(email))`` index, whatever its collation.
#: The forms are lower-cased by PostgreSQL, as the column is: Python's ``str.lower`` differs for
#: ``İ`` and a word-final ``Σ``, and such an address was missed (a second employee was created).
_PADDED = ("e.location_id = ? AND lower(e.email) = ANY(ARRAY(SELECT lower(f) FROM unnest(?::text[]) f)) "
           "AND e.status <> 'removed'")
_PADDED_HOLDER = numbered(f"SELECT e.email FROM employees e WHERE {_PADDED} AND e.id <> ? LIMIT 1")
_PADDED_MATCH = numbered(f"SELECT {_COLUMNS}{_FROM}WHERE {_PADDED} ORDER BY e.id LIMIT ?")
_INSERT_EMPLOYEE = numbered(
    "INSERT INTO employees (location_id, email, first_name, last_name, display_name, phone, mobile, "
    "department, designation, employee_code, status, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
_UPDATE_EMPLOYEE = numbered(
    "UPDATE employees SET email = ?, first_name = ?, last_name = ?, display_name = ?, phone = ?, "
    "mobile = ?, department = ?, designation = ?, employee_code = ?, status = ?, updated_at = ?, "
    "created_at = COALESCE(?::text, created_at) WHERE id = ?")
_RECREATE_SCIM = numbered(
    "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
    "VALUES (?, ?, ?, ?, ?, ?::jsonb, 1) ON CONFLICT (employee_id) DO UPDATE SET "
    "scim_id = EXCLUDED.scim_id, incarnation = EXCLUDED.incarnation, "
    "external_id = EXCLUDED.external_id, extra = EXCLUDED.extra, version = scim_users.version + 1")
_UPSERT_SCIM = numbered(
    "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
    "VALUES (?, ?, ?, 0, ?, ?::jsonb, 1) ON CONFLICT (employee_id) DO UPDATE SET "
    "external_id = EXCLUDED.external_id, extra = EXCLUDED.extra, version = scim_users.version + 1")



def _user(row: Mapping[str, Any]) -> dict[str, Any]:
    """The SCIM User of a row, its stamps as stored: the PostgreSQL directory keeps them in the
    gateway's form (``directory.sql``), and its filters compare them as stored."""
    return mapping.from_storage(row, times=_as_stored)


def _as_stored(stamp: Any) -> Any:
    return stamp

class VizmoPostgresUserAdapter(ResourceAdapter):
    """Users of one location."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr"}),
        logical=True, sort=True, etag=True, max_results=200, journals_writes=True,
    )

    def __init__(self, db: PgDatabase, location: int) -> None:
        self._db = db
        self._location = location

    # -- reads ---------------------------------------------------------------------------
    async def get(self, id: str) -> Resource:
        employee_id = mapping.split_id(id)
        if employee_id is not None:
            rows = await self._db.fetch(_GET, employee_id, self._location)
            if rows and mapping.scim_id_of(rows[0]) == id:
                return _user(rows[0])
        raise NotFound(f"User {id} not found")

    async def search(self, query: ListQuery) -> Page:
        where, params = ("TRUE", []) if query.filter is None else TRANSLATOR.where(query.filter)
        order, order_params = ("e.id", []) if query.sort is None else TRANSLATOR.order_by(query.sort)
        rows = await self._db.fetch(
            numbered(f"SELECT count(*) OVER () AS total, {_COLUMNS}{_FROM}WHERE {_LIVE} AND ({where}) "
                     f"ORDER BY {order} LIMIT ? OFFSET ?"),
            self._location, *params, *order_params, query.count, query.start_index - 1)
        if rows:
            total = rows[0]["total"]
        elif query.start_index > 1 or query.count == 0:
            total = await self._db.fetchval(
                numbered(f"SELECT count(*){_FROM}WHERE {_LIVE} AND ({where})"), self._location, *params)
        elif padded := padded_user_name(query.filter):
            rows = await self._db.fetch(_PADDED_MATCH, self._location, list(padded), query.count)
            total = len(rows)
        else:
            total = 0
        return Page(resources=[_user(r) for r in rows], total_results=total)

    # -- writes --------------------------------------------------------------------------
    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        stored = mapping.to_storage(resource)
        email = stored.columns["email"]
        async with self._db.transaction() as conn:
            await conn.execute(_LOCK_ADDRESS, address_key(str(self._location), email))
            existing = await conn.fetchrow(_LOCK_EMAIL, self._location, email)
            if existing is None or existing["status"] == "removed":
                await self._refuse_padded_holder(conn, email)
            now = mapping.now_iso()
            if existing is None:
                # A concurrent create of the same address (in any process) makes this INSERT wait
                # for it and then fail on the unique index: AlreadyExists, as for any clash.
                employee_id = await conn.fetchval(_INSERT_EMPLOYEE, self._location, *self._values(stored), now, now)
                incarnation = 0
            elif existing["status"] == "removed":
                # Re-create after a delete: the row is revived (the unique index keeps one row per
                # address) under a new SCIM id, so the old id stays 404 forever.
                employee_id = existing["id"]
                previous = await conn.fetchval("SELECT incarnation FROM scim_users WHERE employee_id = $1",
                                               employee_id)
                incarnation = (previous or 0) + 1
                await self._update_employee(conn, employee_id, stored, now, created_at=now)
                # The new account starts as a plain employee: no portal roles of the removed one.
                await conn.execute("DELETE FROM employee_roles WHERE employee_id = $1", employee_id)
            else:
                raise mapping.user_name_taken(email)
            scim_id = str(employee_id) if incarnation == 0 else f"{employee_id}.{incarnation}"
            await conn.execute(_RECREATE_SCIM, employee_id, self._location, scim_id, incarnation,
                               stored.external_id, mapping.extra_json(stored.extra))
            if journal is not None:
                await insert_entry(conn, journal(None, {**resource, "id": scim_id}))
            return await self._fetch(conn, employee_id)

    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        async with self._db.transaction() as conn:
            current = await self._current(conn, id, expected_version)
            entry = journal(_user(current), {**resource, "id": id}) if journal is not None else None
            if entry is not None and not entry.changes_nothing:
                await insert_entry(conn, entry)
            return await self._write(conn, current, resource)

    async def modify(self, id: str, change: Change, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> Resource:
        """A PATCH in one transaction: the row is locked, read and its version checked once."""
        async with self._db.transaction() as conn:
            current = await self._current(conn, id, expected_version)
            before = _user(current)
            changed = change(before)
            if changed is None:
                return before
            if journal is not None:
                await insert_entry(conn, journal(before, changed))
            return await self._write(conn, current, changed)

    async def _write(self, conn: asyncpg.Connection, current: asyncpg.Record, resource: Resource) -> Resource:
        """Store ``resource`` over the locked live row ``current``."""
        stored = mapping.over(mapping.to_storage(resource, current_status=current["status"]), current)
        email = stored.columns["email"]
        if email != current["email"]:
            await conn.execute(_LOCK_ADDRESS, address_key(str(self._location), email))
            holder = await conn.fetchval(_EMAIL_HOLDER, self._location, email, current["id"])
            if holder is not None:
                raise mapping.user_name_taken(email, holder)
            await self._refuse_padded_holder(conn, email, current["id"])
        await self._update_employee(conn, current["id"], stored, mapping.stamp_after(current["updated_at"]))
        await conn.execute(_UPSERT_SCIM, current["id"], self._location, mapping.scim_id_of(current),
                           stored.external_id, mapping.extra_json(stored.extra))
        return await self._fetch(conn, current["id"])

    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        async with self._db.transaction() as conn:
            current = await self._current(conn, id, expected_version)
            if journal is not None:
                await insert_entry(conn, journal({"id": id, "userName": current["email"]}, None))
            await conn.execute("UPDATE employees SET status = 'removed', updated_at = $1 WHERE id = $2",
                               mapping.stamp_after(current["updated_at"]), current["id"])
            await conn.execute(_UPSERT_SCIM, current["id"], self._location, mapping.scim_id_of(current),
                               current["external_id"], current["extra"] or "{}")

    # -- helpers -------------------------------------------------------------------------
    async def _current(self, conn: asyncpg.Connection, id: str,
                       expected_version: ExpectedVersion | None) -> asyncpg.Record:
        """The live row of ``id``, locked for this transaction and read after the lock (so it
        shows every write committed before), its version checked (RFC 7644 §3.14)."""
        employee_id = mapping.split_id(id)
        row = None
        if employee_id is not None and await conn.fetchval(_LOCK, employee_id, self._location) is not None:
            row = await conn.fetchrow(_GET, employee_id, self._location)
        if row is None or mapping.scim_id_of(row) != id:
            raise NotFound(f"User {id} not found")
        if expected_version is not None:
            current = mapping.version_tag(row)
            if not expected_version.matches(current):
                raise VersionMismatch(f"User {id} has changed: its current version is {current}")
        return row

    async def _refuse_padded_holder(self, conn: asyncpg.Connection, email: str, own_id: int = 0) -> None:
        """409 when another live employee holds ``email`` with whitespace around it (or ``email`` has
        whitespace around it and another holds it bare): the write would make a second employee
        for the same person (:mod:`adapters.padded_emails`)."""
        holder = await conn.fetchval(_PADDED_HOLDER, self._location, list(holder_forms(email)), own_id)
        if holder is not None:
            raise padded_holder_taken(email, holder)

    @staticmethod
    async def _fetch(conn: asyncpg.Connection, employee_id: int) -> Resource:
        row = await conn.fetchrow(_FETCH, employee_id)
        assert row is not None
        return _user(row)

    @staticmethod
    def _values(stored: mapping.StoredUser) -> tuple[Any, ...]:
        c = stored.columns
        return (c["email"], c["first_name"], c["last_name"], c["display_name"], c["phone"], c["mobile"],
                c["department"], c["designation"], c["employee_code"], c["status"])

    async def _update_employee(self, conn: asyncpg.Connection, employee_id: int, stored: mapping.StoredUser,
                               now: str, *, created_at: str | None = None) -> None:
        await conn.execute(_UPDATE_EMPLOYEE, *self._values(stored), now, created_at, employee_id)


class VizmoPostgresAdapter(Adapter):
    """The Vizmo directory in a PostgreSQL database; tenants are location ids."""

    name: ClassVar[str] = "postgres"
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "dsn_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "default": "VIZMO_DIRECTORY_DSN",
                        "description": "the environment variable holding the DSN (postgresql://user:pass@host/db)"},
            "dsn_file": {"type": "string", "minLength": 1, "format": "path",
                         "description": "a file holding the DSN (instead of the environment variable)"},
            "min_pool": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 1,
                         "description": "connections kept open"},
            "max_pool": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
                         "description": "connections at most, per gateway process"},
            "statement_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 15,
                                          "description": "the server ends a statement that runs (or waits for a "
                                                         "lock) longer: set it to [limits] adapter_timeout_seconds"},
            "statement_cache_size": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 100,
                                     "description": "prepared statements kept per connection: 0 behind a "
                                                    "pooler in transaction mode (PgBouncer pool_mode = "
                                                    "transaction), which does not keep them"},
            "create_schema": {"type": "boolean", "default": False,
                              "description": "create the Vizmo directory tables and a demo location if missing "
                                             "(tests and demos; a real directory already has them)"},
        },
        # one source of the DSN: with both, dsn_env was ignored without a word (a configuration review)
        "not": {"required": ["dsn_env", "dsn_file"]},
        "description": "set dsn_file or dsn_env, not both",
        "additionalProperties": False,
    }

    def __init__(self, source: DsnSource, *, min_pool: int = 1, max_pool: int = 10,
                 create_schema: bool = False, statement_timeout: float = 15.0, statement_cache_size: int = 100) -> None:
        if min_pool > max_pool:
            raise ValueError(f"min_pool ({min_pool}) must not exceed max_pool ({max_pool})")
        self._db = PgDatabase(source, min_size=min_pool, max_size=max_pool, create_schema=create_schema,
                              statement_timeout=statement_timeout, statement_cache_size=statement_cache_size)

    def __repr__(self) -> str:
        return f"VizmoPostgresAdapter({self._db!r})"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "VizmoPostgresAdapter":
        dsn_file = options.get("dsn_file")
        source = DsnSource(env=options.get("dsn_env", "VIZMO_DIRECTORY_DSN"),
                           file=Path(dsn_file) if dsn_file else None)
        return cls(source, min_pool=int(options.get("min_pool", 1)), max_pool=int(options.get("max_pool", 10)),
                   create_schema=bool(options.get("create_schema", False)),
                   statement_timeout=float(options.get("statement_timeout_seconds", 15)),
                   statement_cache_size=int(options.get("statement_cache_size", 100)))

    async def start(self) -> None:
        await self._db.open()
        log.info("directory database open")

    async def stop(self) -> None:
        await self._db.close()

    async def check_health(self) -> None:
        # a read of the directory's table, not SELECT 1: behind a DBA's LOCK TABLE every request
        # timed out while /readyz answered 200 (a PostgreSQL operations review)
        await self._db.fetchval("SELECT 1 FROM employees LIMIT 1", action="health check")

    async def tenant_exists(self, tenant: str) -> bool:
        location = location_id(tenant)
        return location is not None and bool(
            await self._db.fetchval("SELECT EXISTS (SELECT 1 FROM locations WHERE id = $1)", location))

    async def tenants(self) -> list[Tenant]:
        return [Tenant(str(row["id"]), row["name"])
                for row in await self._db.fetch("SELECT id, name FROM locations ORDER BY id")]

    def state_store(self) -> StateStore:
        """Gateway state in the directory database (table ``scim_integrations``), seen by every
        gateway process at once; it shares this adapter's pool."""
        return PostgresStateStore(self._db)

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        location = location_id(tenant)
        if resource_type != "User" or location is None:
            raise NotFound(f"no {resource_type} storage for tenant {tenant[:40]}")
        return VizmoPostgresUserAdapter(self._db, location)
