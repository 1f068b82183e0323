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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from adapters.query import ListQuery, Page
from adapters.state import StateStore

Resource = dict[str, Any]


@dataclass(frozen=True)
class Capabilities:
    """What a resource adapter really supports; the ServiceProviderConfig is built from this.

    ``filter_ops`` lists the comparison operators it translates (``pr`` included when supported);
    ``logical`` says whether ``and``/``or``/``not`` and value paths are translated; ``sort`` and
    ``etag`` announce sorting and ``meta.version`` checks; ``max_results`` caps a page.
    """

    filter_ops: frozenset[str] = frozenset()
    logical: bool = False
    sort: bool = False
    etag: bool = False
    max_results: int = 200
    unique_attributes: tuple[str, ...] = field(default=("userName",))


class ResourceAdapter(abc.ABC):
    """Storage of one resource type for one tenant. Every method is a coroutine.

    Errors are raised as :mod:`adapters.errors` types: ``NotFound`` for a missing or deleted id,
    ``AlreadyExists`` for a uniqueness clash, ``VersionMismatch`` for a stale ``if_match``.
    """

    capabilities: ClassVar[Capabilities]

    @abc.abstractmethod
    async def get(self, id: str) -> Resource:
        """Return the resource with this id (RFC 7644 §3.4.1)."""

    @abc.abstractmethod
    async def search(self, query: ListQuery) -> Page:
        """Return one page of matches; ``Page.total_results`` is the full count (RFC 7644 §3.4.2)."""

    @abc.abstractmethod
    async def create(self, resource: Resource) -> Resource:
        """Store a new resource and return it with ``id`` and ``meta`` (RFC 7644 §3.3)."""

    @abc.abstractmethod
    async def replace(self, id: str, resource: Resource, *, if_match: str | None = None) -> Resource:
        """Replace every writable attribute (RFC 7644 §3.5.1); absent attributes are cleared."""

    @abc.abstractmethod
    async def delete(self, id: str, *, if_match: str | None = None) -> None:
        """Deprovision the resource (RFC 7644 §3.6); it is found by nothing afterwards."""


class Adapter(abc.ABC):
    """The plugin: built from its options, started once, hands out per-tenant resource adapters."""

    #: Registry name and JSON Schema of the options section of the configuration.
    name: ClassVar[str]
    options_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}

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
        """Raise ``BackendUnavailable`` when the storage cannot serve requests."""

    @abc.abstractmethod
    async def tenant_exists(self, tenant: str) -> bool:
        """Whether the tenant (a Vizmo location) exists in the storage."""

    def state_store(self) -> "StateStore | None":
        """The state store that lives beside this adapter's storage, or None: the gateway then
        keeps its state in SQLite in its data directory (one host only)."""
        return None

    @abc.abstractmethod
    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        """The adapter for ``resource_type`` (``"User"``) of one tenant; raise ``NotFound`` for
        a resource type the adapter does not store."""
