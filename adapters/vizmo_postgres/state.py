"""A :class:`StateStore` in the directory's PostgreSQL database (table ``scim_integrations``).

Every gateway process, on every host, reads the same table, so ``integration rotate``/``remove``
take effect everywhere at once: ``active_token_id`` is one primary-key SELECT per request, and
each change is one autocommitted statement whose outcome the database decides (a conditional
insert or update), so two CLI runs or two gateways on different hosts never both win.

The signing-key record lives in the one-row table ``scim_signing_key``, created with the
adapter's other tables (``scim_tables.sql``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from adapters.errors import AlreadyExists, NotFound, Unavailable
from adapters.activity import ActivityLog
from adapters.operators import OperatorStore
from adapters.state import Integration, SigningKeyRecord, StateStore
from adapters.vizmo_postgres.activity import PostgresActivityLog, PostgresOperatorStore
from adapters.vizmo_postgres.db import PgDatabase
from adapters.location_ids import location_number


location_id = location_number  #: the location id a tenant names, or None (the Vizmo layout's rule)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class PostgresStateStore(StateStore):
    """Tenants (location ids) with SCIM enabled, sharing the adapter's connection pool."""

    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    async def start(self) -> None:
        """Open (or join) the pool; the table is created with the adapter's own tables."""
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def active_token_id(self, tenant: str) -> str | None:
        location = location_id(tenant)
        if location is None:
            return None
        token: str | None = await self._db.fetchval(
            "SELECT token_id FROM scim_integrations WHERE location_id = $1", location)
        return token

    async def enable(self, tenant: str) -> str:
        """One conditional INSERT: a concurrent ``enable`` that inserted first makes this one
        insert nothing (it waits for that transaction, then skips the row) and raise."""
        location = self._required(tenant)
        token: str | None = await self._db.fetchval(
            "INSERT INTO scim_integrations (location_id, token_id) VALUES ($1, $2) "
            "ON CONFLICT (location_id) DO NOTHING RETURNING token_id", location, secrets.token_hex(16),
            action="write")
        if token is None:
            raise AlreadyExists(f"SCIM is already enabled for location {tenant}")
        return token

    async def rotate(self, tenant: str) -> str:
        """One UPDATE, so a concurrent ``remove`` cannot be undone by the rotation."""
        token: str | None = await self._db.fetchval(
            "UPDATE scim_integrations SET token_id = $2, rotated_at = now() WHERE location_id = $1 "
            "RETURNING token_id", self._required(tenant), secrets.token_hex(16), action="write")
        if token is None:
            raise NotFound(f"SCIM is not enabled for location {tenant}")
        return token

    async def remove(self, tenant: str) -> None:
        removed = await self._db.fetchval(
            "DELETE FROM scim_integrations WHERE location_id = $1 RETURNING 1", self._required(tenant),
            action="write")
        if removed is None:
            raise NotFound(f"SCIM is not enabled for location {tenant}")

    async def rotate_if_current(self, tenant: str, token_id: str) -> str:
        token: str | None = await self._db.fetchval(
            "UPDATE scim_integrations SET token_id = $2, rotated_at = now() WHERE location_id = $1 AND token_id = $3 "
            "RETURNING token_id", self._required(tenant), secrets.token_hex(16), token_id, action="write")
        if token is None:
            await self._refuse_stale(tenant)
        return token

    async def remove_if_current(self, tenant: str, token_id: str) -> None:
        removed = await self._db.fetchval(
            "DELETE FROM scim_integrations WHERE location_id = $1 AND token_id = $2 RETURNING 1",
            self._required(tenant), token_id, action="write")
        if removed is None:
            await self._refuse_stale(tenant)

    async def list(self) -> list[Integration]:
        rows = await self._db.fetch(
            "SELECT location_id, token_id, created_at, rotated_at FROM scim_integrations ORDER BY location_id")
        return [Integration(str(r["location_id"]), r["token_id"], _iso(r["created_at"]), _iso(r["rotated_at"]))
                for r in rows]

    async def claim_signing_key(self, candidate: SigningKeyRecord) -> SigningKeyRecord:
        """Two statements, each with its own snapshot: the INSERT waits for a concurrent claim to
        commit and then inserts nothing, and only a SELECT begun after that sees the winner (one
        statement would read from a snapshot taken before the winner committed)."""
        await self._db.fetchval(
            "INSERT INTO scim_signing_key (singleton, key_id, host, source) VALUES (true, $1, $2, $3) "
            "ON CONFLICT (singleton) DO NOTHING", candidate.key_id, candidate.host, candidate.source,
            action="write")
        rows = await self._db.fetch("SELECT key_id, host, source, recorded_at FROM scim_signing_key")
        if not rows:  # the row is never deleted by the gateway
            raise Unavailable("the signing-key record vanished from the state store")
        row = rows[0]
        return SigningKeyRecord(key_id=row["key_id"], host=row["host"], source=row["source"],
                                recorded_at=_iso(row["recorded_at"]))

    def activity_log(self) -> ActivityLog:
        return PostgresActivityLog(self._db)

    def operators(self) -> OperatorStore:
        return PostgresOperatorStore(self._db)

    @staticmethod
    def _required(tenant: str) -> int:
        location = location_id(tenant)
        if location is None:
            raise NotFound(f"location {tenant[:40]!r} does not exist")
        return location
