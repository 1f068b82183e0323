"""An example adapter: SCIM Users kept in memory, one dict per tenant.

The walk-through subject of "Writing an adapter" (README). It is small on purpose and keeps
nothing across restarts, but it passes the conformance kit (:mod:`adapters.testkit`) and shows
every duty of the contract (:mod:`adapters.base`):

- It owns ``id`` (a random UUID, never reused) and ``meta.created``/``lastModified``/``version``.
- It stores and returns deep copies: the caller can never change stored data by accident.
- It keeps no query language: ``search`` hands its users to :func:`adapters.in_memory.search_in_memory`,
  the SDK's evaluator of the filter AST and the sort, so it declares every operator, ``logical``
  and ``sort``, and ``meta.version`` with ``expected_version`` checks (``etag``). Its users live
  in this process's memory, so it declares ``single_process``: the gateway refuses
  ``--processes`` above 1 with it.
- ``userName`` is unique per tenant ignoring case (RFC 7643 §4.1.1). Uniqueness holds under
  concurrent requests because no method awaits between its check and its write; an adapter
  doing I/O there needs a lock or a unique index instead.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar

from adapters.activity import Journal
from adapters.base import Adapter, Capabilities, Resource, ResourceAdapter, Tenant
from adapters.errors import AlreadyExists, NotFound, Unavailable, VersionMismatch
from adapters.in_memory import search_in_memory
from adapters.query import ListQuery, Page
from adapters.versions import ExpectedVersion

__all__ = ["MemoryAdapter", "MemoryUserAdapter"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Tenant:
    """One tenant's users: by id, and the id of each casefolded userName."""

    def __init__(self) -> None:
        self.by_id: dict[str, Resource] = {}
        self.by_name: dict[str, str] = {}


class MemoryUserAdapter(ResourceAdapter):
    """Users of one tenant, in memory."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}), logical=True, sort=True,
        etag=True, max_results=200, single_process=True)

    def __init__(self, tenant: _Tenant, versions: itertools.count[int]) -> None:
        self._tenant = tenant
        self._versions = versions

    async def get(self, id: str) -> Resource:
        return copy.deepcopy(self._current(id, None))

    async def search(self, query: ListQuery) -> Page:
        page = search_in_memory(query, self._tenant.by_id.values())  # insertion order: stable paging
        return Page(resources=copy.deepcopy(page.resources), total_results=page.total_results)

    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        key = self._name_key(resource["userName"])
        if key in self._tenant.by_name:
            raise AlreadyExists(f"userName {resource['userName']!r} is already taken")
        now = _now()
        stored = self._stamp(resource, str(uuid.uuid4()), created=now, modified=now)
        self._tenant.by_id[stored["id"]] = stored
        self._tenant.by_name[key] = stored["id"]
        return copy.deepcopy(stored)

    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        current = self._current(id, expected_version)
        old_key, new_key = self._name_key(current["userName"]), self._name_key(resource["userName"])
        if self._tenant.by_name.get(new_key, id) != id:
            raise AlreadyExists(f"userName {resource['userName']!r} is already taken")
        stored = self._stamp(resource, id, created=current["meta"]["created"], modified=_now())
        del self._tenant.by_name[old_key]
        self._tenant.by_name[new_key] = id
        self._tenant.by_id[id] = stored
        return copy.deepcopy(stored)

    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        current = self._current(id, expected_version)
        del self._tenant.by_name[self._name_key(current["userName"])]
        del self._tenant.by_id[id]

    @staticmethod
    def _name_key(user_name: str) -> str:
        """The uniqueness key of a userName: it is not caseExact (RFC 7643 §4.1.1)."""
        return user_name.casefold()

    def _current(self, id: str, expected_version: ExpectedVersion | None) -> Resource:
        """The stored resource (not a copy), its version checked (RFC 7644 §3.14)."""
        current = self._tenant.by_id.get(id)
        if current is None:
            raise NotFound(f"User {id} not found")
        if expected_version is not None and not expected_version.matches(current["meta"]["version"]):
            raise VersionMismatch(f"User {id} has changed: its version is {current['meta']['version']}")
        return current

    def _stamp(self, resource: Resource, id: str, *, created: str, modified: str) -> Resource:
        """A deep copy of ``resource`` with the adapter-owned ``id`` and ``meta``."""
        stored = copy.deepcopy(resource)
        stored["id"] = id
        stored["meta"] = {"created": created, "lastModified": modified, "version": f'W/"{next(self._versions)}"'}
        return stored


class MemoryAdapter(Adapter):
    """The plugin: a fixed list of tenants, each with an empty user store on start."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities | None] = MemoryUserAdapter.capabilities  # read before start
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {"tenants": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "additionalProperties": False,
    }

    def __init__(self, tenants: Sequence[str] = ("1",)) -> None:
        self.tenant_ids = tuple(tenants)
        self._data: dict[str, _Tenant] | None = None
        self._versions = itertools.count(1)  # one counter: a version is never repeated

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "MemoryAdapter":
        return cls(options.get("tenants", ("1",)))

    async def start(self) -> None:
        if self._data is None:
            self._data = {tenant: _Tenant() for tenant in self.tenant_ids}

    async def stop(self) -> None:
        self._data = None  # everything is forgotten

    async def check_health(self) -> None:
        if self._data is None:
            raise Unavailable("the memory adapter is not started")

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant in self.tenant_ids

    async def tenants(self) -> list[Tenant]:
        return [Tenant(t, f"Tenant {t}") for t in self.tenant_ids]

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        if self._data is None:
            raise Unavailable("the memory adapter is not started")
        if resource_type != "User" or tenant not in self._data:
            raise NotFound(f"no {resource_type} storage for tenant {tenant}")
        return MemoryUserAdapter(self._data[tenant], self._versions)
