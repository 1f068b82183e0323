"""An example adapter: SCIM Users kept in one JSON file, the README's file-backed walk-through.

What a store without a query language and without a server looks like (issue 17 §2):

- **The file** holds every tenant's users and a version counter::

      {"next_version": 3, "users": {"1": {"<id>": {...the SCIM user...}}}}

  It is read once at start and kept in memory; every write stores the whole file again, first
  under a temporary name in the same folder (written, flushed, ``fsync``-ed), then moved over the
  old one with ``os.replace``, which is atomic: a crash leaves the old file or the new one, never
  half of one.
- **The event loop is never blocked.** Reading and writing the file are blocking I/O, so they
  run in a worker thread (``asyncio.to_thread``); filtering and sorting the users in memory is
  quick CPU work and runs on the loop (:func:`adapters.in_memory.search_in_memory`).
- **One writer at a time.** A write awaits the thread, so other requests run meanwhile: every
  change runs under one ``asyncio.Lock``, which covers the uniqueness check, the version check
  and the write together, and applies the change to a copy that replaces the data in memory only
  once the file is written. The lock is in this process, and the file has no lock between
  processes, so the adapter declares ``single_process`` (the gateway refuses ``--processes 2``).
- ``create_if_missing`` makes an empty file at start; the gateway turns it off for every command
  but ``serve`` (they never create storage).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from adapters.activity import Journal
from adapters.base import Adapter, Capabilities, Resource, ResourceAdapter, Tenant
from adapters.errors import AlreadyExists, NotFound, Unavailable, VersionMismatch
from adapters.in_memory import search_in_memory
from adapters.query import ListQuery, Page
from adapters.versions import ExpectedVersion

__all__ = ["JsonFileAdapter", "JsonFileUserAdapter"]

T = TypeVar("T")
Data = dict[str, Any]


def read_file(path: Path) -> Data:
    """The stored data (blocking: call it in a thread)."""
    data: Data = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_atomically(path: Path, data: Data) -> None:
    """Replace ``path`` with ``data`` all at once (blocking: call it in a thread)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


class _Store:
    """The file, its data in memory and the lock every change takes."""

    def __init__(self, path: Path, data: Data) -> None:
        self.path = path
        self.data = data
        self.lock = asyncio.Lock()

    async def change(self, fn: Callable[[Data], T]) -> T:
        """Run ``fn`` on a copy of the data, write the copy, then keep it (see the module docstring)."""
        async with self.lock:
            draft = copy.deepcopy(self.data)
            result = fn(draft)
            try:
                await asyncio.to_thread(write_atomically, self.path, draft)
            except OSError as exc:  # a full disk, a folder made read-only: a 503, the data as it was
                raise Unavailable(f"cannot write the users file {self.path}: {exc.strerror or exc}") from None
            self.data = draft
            return result


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFileUserAdapter(ResourceAdapter):
    """Users of one tenant, in the JSON file."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}), logical=True, sort=True,
        etag=True, max_results=200, single_process=True)

    def __init__(self, store: _Store, tenant: str) -> None:
        self._store = store
        self._tenant = tenant

    def _users(self, data: Data) -> dict[str, Resource]:
        """This tenant's users in ``data`` (a draft of :meth:`_Store.change`)."""
        users: dict[str, Resource] = data["users"].setdefault(self._tenant, {})
        return users

    def _stored(self) -> Mapping[str, Resource]:
        """This tenant's users as stored (read, never changed, outside the lock)."""
        users: Mapping[str, Resource] = self._store.data["users"].get(self._tenant, {})
        return users

    async def get(self, id: str) -> Resource:
        return copy.deepcopy(self._current(self._stored(), id, None))

    async def search(self, query: ListQuery) -> Page:
        page = search_in_memory(query, self._stored().values())  # file order: stable paging
        return Page(resources=copy.deepcopy(page.resources), total_results=page.total_results)

    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        def create(data: Data) -> Resource:
            users = self._users(data)
            self._check_unique(users, resource["userName"], None)
            now = _now()
            stored = self._stamp(data, resource, str(uuid.uuid4()), created=now)
            users[stored["id"]] = stored
            return copy.deepcopy(stored)
        return await self._store.change(create)

    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        def replace(data: Data) -> Resource:
            users = self._users(data)
            current = self._current(users, id, expected_version)
            self._check_unique(users, resource["userName"], id)
            users[id] = self._stamp(data, resource, id, created=current["meta"]["created"])
            return copy.deepcopy(users[id])
        return await self._store.change(replace)

    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        def delete(data: Data) -> None:
            users = self._users(data)
            self._current(users, id, expected_version)
            del users[id]
        await self._store.change(delete)

    @staticmethod
    def _check_unique(users: Mapping[str, Resource], user_name: str, own_id: str | None) -> None:
        """``userName`` is unique per tenant ignoring case (RFC 7643 §4.1.1)."""
        wanted = user_name.casefold()
        if any(u["userName"].casefold() == wanted and i != own_id for i, u in users.items()):
            raise AlreadyExists(f"userName {user_name!r} is already taken")

    @staticmethod
    def _current(users: Mapping[str, Resource], id: str, expected_version: ExpectedVersion | None) -> Resource:
        """The stored user, its version checked (RFC 7644 §3.14)."""
        current = users.get(id)
        if current is None:
            raise NotFound(f"User {id} not found")
        if expected_version is not None and not expected_version.matches(current["meta"]["version"]):
            raise VersionMismatch(f"User {id} has changed: its version is {current['meta']['version']}")
        return current

    @staticmethod
    def _stamp(data: Data, resource: Resource, id: str, *, created: str) -> Resource:
        """A copy of ``resource`` with the adapter-owned ``id`` and ``meta`` (a new version)."""
        stored = copy.deepcopy(resource)
        version, data["next_version"] = data["next_version"], data["next_version"] + 1
        stored["id"] = id
        stored["meta"] = {"created": created, "lastModified": _now(), "version": f'W/"{version}"'}
        return stored


class JsonFileAdapter(Adapter):
    """The plugin: a fixed list of tenants, their users in the JSON file ``path``."""

    name: ClassVar[str] = "json_file"
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1, "format": "path", "description": "the users' JSON file"},
            "tenants": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "create_if_missing": {"type": "boolean", "default": False,
                                  "description": "create an empty file at start when it is missing"},
        },
        "required": ["path", "tenants"],
        "additionalProperties": False,
    }
    capabilities: ClassVar[Capabilities | None] = JsonFileUserAdapter.capabilities  # read before start

    def __init__(self, path: Path | str, tenants: Sequence[str], *, create_if_missing: bool = False) -> None:
        self.path = Path(path)
        self.tenant_ids = tuple(tenants)
        self.create_if_missing = create_if_missing
        self._store: _Store | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "JsonFileAdapter":
        return cls(options["path"], options["tenants"], create_if_missing=bool(options.get("create_if_missing")))

    async def start(self) -> None:
        if not await asyncio.to_thread(self.path.exists):
            if not self.create_if_missing:
                raise Unavailable(f"no users file at {self.path}")
            await asyncio.to_thread(write_atomically, self.path, {"next_version": 1, "users": {}})
        try:
            data = await asyncio.to_thread(read_file, self.path)
        except (OSError, ValueError) as exc:
            raise Unavailable(f"cannot read the users file {self.path}: {exc}") from None
        self._store = _Store(self.path, data)

    async def stop(self) -> None:
        if self._store is not None:
            async with self._store.lock:  # a write under way finishes first
                self._store = None

    async def check_health(self) -> None:
        if self._store is None:
            raise Unavailable("the JSON file adapter is not started")

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant in self.tenant_ids

    async def tenants(self) -> list[Tenant]:
        """The configured tenants (the admin page's list of locations), named by their ids."""
        return [Tenant(tenant, f"Tenant {tenant}") for tenant in self.tenant_ids]

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        if self._store is None:
            raise Unavailable("the JSON file adapter is not started")
        if resource_type != "User" or tenant not in self.tenant_ids:
            raise NotFound(f"no {resource_type} storage for tenant {tenant[:40]}")
        return JsonFileUserAdapter(self._store, tenant)
