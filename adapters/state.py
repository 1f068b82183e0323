"""The gateway's own state: which tenants have SCIM enabled and the id of each one's valid token.

A state store lives beside the adapter's storage (SQLite for the embedded directory,
PostgreSQL when the directory is on PostgreSQL) so that every gateway process, on every host,
sees the same tenants and revocations at once. The gateway reads ``active_token_id`` on every
request: keep it one indexed lookup.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class Integration:
    """One tenant (a Vizmo location) with SCIM enabled."""

    tenant: str
    token_id: str
    created_at: str
    rotated_at: str


class StateStore(abc.ABC):
    """Tenants with the integration enabled and their current token ids. Every method is a coroutine.

    Token ids are random, never reused; a token whose id is not the tenant's current one is
    revoked. Callers check that the tenant exists (``Adapter.tenant_exists``) before ``enable``.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and create the store's table if missing (idempotent)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def active_token_id(self, tenant: str) -> str | None:
        """The tenant's valid token id, or None when SCIM is not enabled for it."""

    @abc.abstractmethod
    async def enable(self, tenant: str) -> str:
        """Enable SCIM for ``tenant``, or give it a new token id if enabled; return the token id."""

    async def rotate(self, tenant: str) -> str:
        """Replace the tenant's token id (the old token stops working at once); ``NotFound`` if
        SCIM is not enabled for it."""
        from adapters.errors import NotFound

        if await self.active_token_id(tenant) is None:
            raise NotFound(f"SCIM is not enabled for location {tenant}")
        return await self.enable(tenant)

    @abc.abstractmethod
    async def remove(self, tenant: str) -> None:
        """Disable SCIM for ``tenant``; ``NotFound`` if it was not enabled. Directory data stays."""

    @abc.abstractmethod
    async def list(self) -> list[Integration]:
        """Every tenant with SCIM enabled, ordered by tenant."""
