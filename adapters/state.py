"""The gateway's own state: which tenants have SCIM enabled, the id of each one's valid token, and
the id of the deployment's token-signing key.

A state store lives beside the adapter's storage (SQLite for the embedded directory,
PostgreSQL when the directory is on PostgreSQL) so that every gateway process, on every host,
sees the same tenants and revocations at once. The gateway reads ``active_token_id`` on every
request: keep it one indexed lookup.

Every change is decided by the storage, never by a read followed by a write: the CLI that
enables a tenant may run twice at once, on one host or on two, and a gateway may start on two
hosts at once. ``enable`` is a conditional insert (exactly one of concurrent calls wins, the
others raise ``AlreadyExists``), ``rotate`` one conditional update (``rotate_if_current`` and
``remove_if_current`` one conditional on the token id too), ``claim_signing_key`` an
insert-if-absent followed by a read of what is stored. The conformance kit
(:mod:`adapters.testkit`) checks them on an adapter's ``state_store()``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from adapters.errors import NotFound, VersionMismatch

if TYPE_CHECKING:
    from adapters.activity import ActivityLog
    from adapters.operators import OperatorStore


@dataclass(frozen=True)
class Integration:
    """One tenant (a Vizmo location) with SCIM enabled."""

    tenant: str
    token_id: str
    created_at: str
    rotated_at: str


@dataclass(frozen=True)
class SigningKeyRecord:
    """The deployment's token-signing key as the shared state knows it: never the key itself.

    ``key_id`` is a fingerprint from which nothing about the key can be learnt (the gateway's is
    a truncated HMAC of a fixed label under the key); ``host`` and ``source`` say where the key
    was first used (a host name, and a file path or ``$VARIABLE``), so that an operator is told
    where to copy it from. ``recorded_at`` is set by the store (an ISO 8601 UTC dateTime).
    """

    key_id: str
    host: str
    source: str
    recorded_at: str = ""


class StateStore(abc.ABC):
    """Tenants with the integration enabled, their current token ids, and the deployment's
    signing-key id. Every method is a coroutine.

    Token ids are random, never reused; a token whose id is not the tenant's current one is
    revoked. Callers check that the tenant exists (``Adapter.tenant_exists``) before ``enable``.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and create the store's tables if missing (idempotent)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def active_token_id(self, tenant: str) -> str | None:
        """The tenant's valid token id, or None when SCIM is not enabled for it."""

    async def check_health(self) -> None:
        """Raise when the store cannot serve (``GET /readyz``). By default one token look-up;
        override to check more (the SQLite store: its file still the one opened, undamaged)."""
        await self.active_token_id("1")

    @abc.abstractmethod
    async def enable(self, tenant: str) -> str:
        """Enable SCIM for ``tenant`` and return its new token id; ``AlreadyExists`` if it is
        enabled already (its token id is then left as it is: ``rotate`` replaces it).

        Atomic across every process sharing the store: of concurrent calls for one tenant exactly
        one returns a token id and the others raise ``AlreadyExists`` (a conditional insert such
        as ``INSERT ... ON CONFLICT DO NOTHING``, never a read followed by a write)."""

    @abc.abstractmethod
    async def rotate(self, tenant: str) -> str:
        """Replace the tenant's token id and return the new one (the old token stops working at
        once); ``NotFound`` if SCIM is not enabled for it. One conditional update, so that a
        concurrent ``remove`` is never undone by the rotation."""

    @abc.abstractmethod
    async def remove(self, tenant: str) -> None:
        """Disable SCIM for ``tenant``; ``NotFound`` if it was not enabled. Directory data stays."""

    async def rotate_if_current(self, tenant: str, token_id: str) -> str:
        """:meth:`rotate`, only while the tenant's token id is still ``token_id`` (the admin page's
        form names the token it was shown for); ``VersionMismatch`` when it is another. Override
        with one conditional update: this default reads, then rotates, so two forms sent at once
        may both rotate (one of the tokens shown then never works)."""
        if await self.active_token_id(tenant) != token_id:
            await self._refuse_stale(tenant)
        return await self.rotate(tenant)

    async def remove_if_current(self, tenant: str, token_id: str) -> None:
        """:meth:`remove`, only while the tenant's token id is still ``token_id`` (a stale page
        must not remove an integration enabled again since, with its new token in Entra ID);
        ``VersionMismatch`` when it is another. Override with one conditional delete."""
        if await self.active_token_id(tenant) != token_id:
            await self._refuse_stale(tenant)
        await self.remove(tenant)

    async def _refuse_stale(self, tenant: str) -> NoReturn:
        """Why a ``*_if_current`` call changed nothing: ``NotFound`` when SCIM is not enabled for
        ``tenant``, else ``VersionMismatch`` (its token id is another)."""
        if await self.active_token_id(tenant) is None:
            raise NotFound(f"SCIM is not enabled for location {tenant}")
        raise VersionMismatch(f"the Secret Token of location {tenant} has changed")

    @abc.abstractmethod
    async def list(self) -> list[Integration]:
        """Every tenant with SCIM enabled, ordered by tenant."""

    @abc.abstractmethod
    async def claim_signing_key(self, candidate: SigningKeyRecord) -> SigningKeyRecord:
        """Record ``candidate`` as the deployment's signing key unless a key is recorded already,
        and return the record the store holds (``candidate`` with the store's ``recorded_at`` when
        this call recorded it, else the earlier record, unchanged).

        The first claim wins, atomically: of concurrent claims with different ids, in any
        processes sharing the store, every call returns the same record. The record is never
        changed or removed by the gateway afterwards. The gateway refuses to start, and the CLI
        to issue tokens, when the returned ``key_id`` is not its own key's."""

    def activity_log(self) -> "ActivityLog | None":
        """The provisioning activity log kept beside this state, or None (the gateway then keeps
        none, and says so at start)."""
        return None

    def operators(self) -> "OperatorStore | None":
        """The admin page's operator accounts kept beside this state, or None (no admin page)."""
        return None
