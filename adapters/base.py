"""The adapter contract: one :class:`Adapter` plugin per deployment, one :class:`ResourceAdapter`
per resource type and tenant.

The gateway guarantees every resource handed to an adapter is canonical SCIM JSON (schema-cased
attribute names, extension attributes under their URN), schema-valid, with read-only attributes
stripped. The adapter owns ``id`` (an opaque, stable string that is never reused) and
``meta.version``/``meta.created``/``meta.lastModified``; the gateway owns ``meta.location``,
``meta.resourceType`` and attribute projection (RFC 7643 §3.1, RFC 7644 §3.4.2.5).
"""

from __future__ import annotations

import abc
import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from adapters.activity import Journal
from adapters.errors import Contention, VersionMismatch
from adapters.query import ListQuery, Page
from adapters.state import StateStore
from adapters.versions import ExpectedVersion

Resource = dict[str, Any]


@dataclass(frozen=True)
class Capabilities:
    """What a resource adapter really supports; the ServiceProviderConfig is built from this.

    ``filter_ops`` lists the comparison operators it translates (``pr`` included when supported);
    ``logical`` says whether ``and``/``or``/``not`` and value paths are translated; ``sort`` and
    ``etag`` announce sorting and ``meta.version`` checks; ``max_results`` caps a page;
    ``journals_writes`` that writes store their activity entries themselves; ``single_process``
    that the storage serves one process only (kept in this process's memory, or a file without
    locking between processes): the gateway then refuses ``--processes`` above 1.
    """

    filter_ops: frozenset[str] = frozenset()
    logical: bool = False
    sort: bool = False
    etag: bool = False
    max_results: int = 200
    #: The adapter stores each write's activity entry (its ``journal`` argument) in the write's own
    #: transaction; without it the gateway appends the entry after the write (adapters.activity).
    journals_writes: bool = False
    unique_attributes: tuple[str, ...] = field(default=("userName",))
    single_process: bool = False


#: A PATCH's change (RFC 7644 §3.5.2): the resource as it should be stored, given the stored
#: one, or ``None`` when nothing changes. Pure and quick; it may raise to refuse the change.
Change = Callable[[Resource], "Resource | None"]


@dataclass(frozen=True)
class Tenant:
    """A tenant of the directory (a Vizmo location) as the admin page lists it: its id (what a
    Tenant URL names) and a name for people."""

    id: str
    name: str

#: How often :meth:`ResourceAdapter.modify`'s default retries after a concurrent write.
MODIFY_ATTEMPTS = 16


class ResourceAdapter(abc.ABC):
    """Storage of one resource type for one tenant. Every method is a coroutine.

    They run on the worker's one event loop, shared by every request and tenant, so they must
    never block it: quick CPU work and awaiting asyncio-native drivers only. Blocking I/O (files,
    blocking drivers, sleeps) goes to a thread: ``await asyncio.to_thread(fn, ...)`` for calls
    safe on any thread, a one-thread ``ThreadPoolExecutor`` per handle that is not thread-safe
    (``loop.run_in_executor``). Shared state is changed on the loop, with an ``asyncio.Lock``
    held across an ``await`` that splits a read-modify-write (see README, "Writing an adapter").

    Errors are raised as :mod:`adapters.errors` types: ``NotFound`` for a missing or deleted id,
    ``AlreadyExists`` for a uniqueness clash, ``VersionMismatch`` when the stored version does not
    meet ``expected_version`` (parsed by the gateway; an adapter never sees an HTTP header).
    """

    capabilities: ClassVar[Capabilities]

    @abc.abstractmethod
    async def get(self, id: str) -> Resource:
        """Return the resource with this id (RFC 7644 §3.4.1)."""

    @abc.abstractmethod
    async def search(self, query: ListQuery) -> Page:
        """Return one page of matches; ``Page.total_results`` is the full count (RFC 7644 §3.4.2)."""

    # Writes: with ``Capabilities.journals_writes`` the gateway passes ``journal``; the adapter
    # calls it with the resource before and after the write, inside the write's transaction, and
    # stores the entry it returns there too (adapters.activity). Other adapters never get one.
    @abc.abstractmethod
    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        """Store a new resource and return it with ``id`` and ``meta`` (RFC 7644 §3.3)."""

    @abc.abstractmethod
    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        """Replace every writable attribute (RFC 7644 §3.5.1); absent attributes are cleared."""

    @abc.abstractmethod
    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        """Deprovision the resource (RFC 7644 §3.6); it is found by nothing afterwards."""

    async def modify(self, id: str, change: Change, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> Resource:
        """Apply ``change`` to the stored resource and store the result (a PATCH); return what is
        stored afterwards (the stored resource itself when ``change`` returns ``None``).

        No update may be lost: ``change`` must see the resource it replaces. This default reads
        with :meth:`get` and writes with :meth:`replace` guarded by the version read, and starts
        over when a concurrent write got in between (``VersionMismatch`` when ``expected_version``
        was given and no longer holds). An adapter with transactions overrides it to read, check
        the version and write once, inside one transaction.
        """
        for attempt in range(MODIFY_ATTEMPTS):
            current = await self.get(id)
            version = (current.get("meta") or {}).get("version")
            if expected_version is not None and not expected_version.matches(version):
                raise VersionMismatch(f"{id} has changed: its current version is {version}")
            changed = change(current)
            if changed is None:
                return current
            try:
                return await self.replace(id, changed, expected_version=ExpectedVersion.exactly(version or ""),
                                          journal=journal)
            except VersionMismatch:
                if expected_version is not None:
                    raise
                await asyncio.sleep(random.uniform(0, 0.002) * (attempt + 1))  # jitter: contenders spread out
        raise Contention(f"{id} is being changed by other requests; retry")


class Adapter(abc.ABC):
    """The plugin: built from its options, started once, hands out per-tenant resource adapters."""

    #: Registry name and JSON Schema of the options section of the configuration.
    name: ClassVar[str]
    options_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    #: The :class:`Capabilities` of its resource adapters when known before start; the gateway
    #: reads ``single_process`` from it (``check-config`` and ``serve`` refuse ``--processes`` > 1).
    capabilities: ClassVar[Capabilities | None] = None

    @classmethod
    @abc.abstractmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Adapter":
        """Build an adapter from its validated options."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and create the adapter's own tables (idempotent)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Close connections; pending writes are committed or rolled back, never half-done."""

    @abc.abstractmethod
    async def check_health(self) -> None:
        """Raise ``Unavailable`` when the storage cannot serve requests."""

    @abc.abstractmethod
    async def tenant_exists(self, tenant: str) -> bool:
        """Whether the tenant (a Vizmo location) exists in the storage."""

    async def tenants(self) -> list[Tenant]:
        """Every tenant of the storage, ordered by id as the storage orders them (the admin page's
        list of locations). The default lists none: the page then shows only the tenants that
        have SCIM enabled; every built-in adapter lists its locations."""
        return []

    def state_store(self) -> "StateStore | None":
        """The state store that lives beside this adapter's storage, or None: the gateway then
        keeps its state in SQLite in its data directory (one host only)."""
        return None

    @abc.abstractmethod
    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        """The adapter for ``resource_type`` (``"User"``) of one tenant; raise ``NotFound`` for
        a resource type the adapter does not store."""
