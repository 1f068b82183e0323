"""The activity log and the operator accounts in the directory's PostgreSQL database (tables
``scim_activity`` and ``scim_operators``, created with the adapter's own tables), shared by every
gateway process on every host. The adapter journals its writes inside each write's transaction
through :func:`insert_entry`."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from adapters.activity import (ActivityEntry, ActivityLog, ActivityRecord, ActivitySummary, Outcome,
                               read_conditions)
from adapters.operators import Operator, OperatorStore, first_session_version
from adapters.sql_dialect import numbered
from adapters.vizmo_postgres.db import PgDatabase

_INSERT = ("INSERT INTO scim_activity (time, location_id, method, operation, resource_id, user_name, attributes, "
           "status, scim_type, request_id, changed_values) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, "
           "$11::jsonb)")
_COLUMNS = ("id, time, location_id, method, operation, resource_id, user_name, attributes::text, status, "
            "scim_type, request_id, changed_values::text")
_OPERATOR = "name, password_hash, locations::text, failed_attempts, locked_until, session_version"


def _values(entry: ActivityEntry) -> tuple[Any, ...]:
    values = None if entry.values is None else json.dumps(entry.values, ensure_ascii=False)
    return (entry.time, int(entry.tenant), entry.method, entry.operation, entry.resource_id, entry.user_name,
            json.dumps(list(entry.attributes)), entry.status, entry.scim_type, entry.request_id, values)


async def insert_entry(conn: asyncpg.Connection, entry: ActivityEntry) -> None:
    """Append ``entry`` on ``conn``, inside the caller's transaction."""
    await conn.execute(_INSERT, *_values(entry))


def _record(row: asyncpg.Record) -> ActivityRecord:
    values = row["changed_values"]
    return ActivityRecord(row["id"], ActivityEntry(
        time=row["time"], tenant=str(row["location_id"]), method=row["method"], operation=row["operation"],
        resource_id=row["resource_id"], user_name=row["user_name"], attributes=tuple(json.loads(row["attributes"])),
        status=row["status"], scim_type=row["scim_type"], request_id=row["request_id"],
        values=None if values is None else json.loads(values)))


class PostgresActivityLog(ActivityLog):
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    async def append(self, entries: list[ActivityEntry]) -> None:
        if entries:
            async with self._db.transaction() as conn:
                await conn.executemany(_INSERT, [_values(e) for e in entries])

    async def read(self, tenant: str, *, since: str | None = None, before: ActivityRecord | None = None,
                   user_name: str | None = None, outcome: Outcome | None = None,
                   limit: int = 50) -> list[ActivityRecord]:
        where, params = read_conditions(tenant, since=since, before=before, user_name=user_name, outcome=outcome,
                                        same_user_name="lower(user_name) = lower(?)")
        sql = numbered(f"SELECT {_COLUMNS} FROM scim_activity WHERE {where} ORDER BY time DESC, id DESC LIMIT ?")
        return [_record(row) for row in await self._db.fetch(sql, *params, limit)]

    async def summary(self, tenant: str, since: str) -> ActivitySummary:
        rows = await self._db.fetch(
            "SELECT (SELECT max(time) FROM scim_activity WHERE location_id = $1) AS last_time, "
            "count(*) FILTER (WHERE status < 400) AS writes, count(*) FILTER (WHERE status >= 400) AS refusals "
            "FROM scim_activity WHERE location_id = $1 AND time >= $2", int(tenant), since)
        return ActivitySummary(rows[0]["last_time"], rows[0]["writes"], rows[0]["refusals"])

    async def newest_time(self) -> str | None:
        newest = await self._db.fetchval("SELECT max(time) FROM scim_activity")  # (index scim_activity_time)
        return None if newest is None else str(newest)

    async def prune(self, before: str, *, batch: int) -> int:
        deleted = await self._db.fetch(
            "DELETE FROM scim_activity WHERE id IN (SELECT id FROM scim_activity WHERE time < $1 ORDER BY time "
            "LIMIT $2) RETURNING 1", before, batch, action="write")
        return len(deleted)


def _operator(row: asyncpg.Record) -> Operator:
    locations = row["locations"]
    return Operator(row["name"], row["password_hash"], None if locations is None else tuple(json.loads(locations)),
                    row["failed_attempts"], row["locked_until"], row["session_version"])


class PostgresOperatorStore(OperatorStore):
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    async def put(self, name: str, password_hash: str, locations: tuple[str, ...] | None) -> None:
        await self._db.fetchval(
            "INSERT INTO scim_operators (name, password_hash, locations, session_version) VALUES ($1, $2, $3::jsonb, "
            "$4) ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, locations = "
            "excluded.locations, failed_attempts = 0, locked_until = NULL, "
            "session_version = scim_operators.session_version + 1",
            name, password_hash, None if locations is None else json.dumps(list(locations)), first_session_version(),
            action="write")

    async def get(self, name: str) -> Operator | None:
        rows = await self._db.fetch(f"SELECT {_OPERATOR} FROM scim_operators WHERE name = $1", name)
        return _operator(rows[0]) if rows else None

    async def list(self) -> list[Operator]:
        return [_operator(r) for r in await self._db.fetch(f"SELECT {_OPERATOR} FROM scim_operators ORDER BY name")]

    async def remove(self, name: str) -> bool:
        return bool(await self._db.fetch("DELETE FROM scim_operators WHERE name = $1 RETURNING 1", name,
                                         action="write"))

    async def begin_attempt(self, name: str, *, limit: int, now: str) -> bool:
        return bool(await self._db.fetch(
            "UPDATE scim_operators SET failed_attempts = failed_attempts + 1 WHERE name = $1 AND failed_attempts < $2 "
            "AND (locked_until IS NULL OR locked_until <= $3) RETURNING 1", name, limit, now, action="write"))

    async def record_failure(self, name: str, *, limit: int, locked_until: str) -> None:
        await self._db.fetchval(
            "UPDATE scim_operators SET failed_attempts = 0, locked_until = $3 WHERE name = $1 AND failed_attempts >= $2",
            name, limit, locked_until, action="write")

    async def record_success(self, name: str, *, now: str) -> bool:
        return bool(await self._db.fetch(
            "UPDATE scim_operators SET failed_attempts = 0 WHERE name = $1 AND (locked_until IS NULL OR "
            "locked_until <= $2) RETURNING 1", name, now, action="write"))

    async def end_sessions(self, name: str) -> None:
        await self._db.fetchval("UPDATE scim_operators SET session_version = session_version + 1 WHERE name = $1",
                                name, action="write")
