"""Running one contract check: a fresh adapter, started and stopped inside one event loop.

Many storage clients (aiosqlite, asyncpg, aiohttp, ...) bind their connections to the event
loop that opened them. So the kit never receives a started adapter from a fixture (fixtures
run outside the test's loop): it receives a factory, and each check builds a fresh adapter,
``await adapter.start()``, runs its coroutine and ``await adapter.stop()``, all in one new
event loop that is closed afterwards. The loop is not installed as the thread's current loop,
so nothing leaks into other tests, and it works whether or not pytest-tornado or
pytest-asyncio are installed (the checks are plain synchronous pytest tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from adapters.base import Adapter, Capabilities, Resource, ResourceAdapter
from adapters.query import Filter, ListQuery, Page, SortSpec

__all__ = ["AdapterFactory", "ContractRunner", "ContractSession", "run_in_fresh_loop"]

T = TypeVar("T")

#: What an integrator supplies: builds a fresh, *unstarted* adapter over empty storage.
AdapterFactory = Callable[[], Adapter]


def run_in_fresh_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion in a new event loop and close the loop (like :func:`asyncio.run`,
    but without installing the loop as the thread's current one)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


@dataclass
class ContractSession:
    """What a check's coroutine works with: the started adapter and its tenant's User adapter."""

    adapter: Adapter
    users: ResourceAdapter
    tenant: str
    other_tenant: str | None

    @property
    def caps(self) -> Capabilities:
        """The capabilities the User adapter declares."""
        return self.users.capabilities

    def require(self, condition: bool, reason: str) -> None:
        """Skip the check (with ``reason``) when the adapter does not declare what it needs."""
        if not condition:
            pytest.skip(reason)

    async def create_all(self, *resources: Resource) -> list[Resource]:
        """Create the resources one after the other; return what the adapter returned."""
        return [await self.users.create(resource) for resource in resources]

    async def search(self, filter: Filter | None = None, *, sort: SortSpec | None = None,
                     start_index: int = 1, count: int | None = None, users: ResourceAdapter | None = None) -> Page:
        """One page of ``search`` (of ``users``, by default the tenant's), asking for ``count``
        but never more than ``max_results``, as the gateway does (RFC 7644 §3.4.2.4); the page
        must hold at most what was asked for."""
        size = min(100 if count is None else count, self.caps.max_results)
        query = ListQuery(filter=filter, sort=sort, start_index=start_index, count=size)
        page = await (self.users if users is None else users).search(query)
        assert len(page.resources) <= size, (
            f"asked for at most {size} resources (start_index {start_index}), got {len(page.resources)}")
        return page

    async def all_resources(self, filter: Filter | None = None, *, sort: SortSpec | None = None,
                            users: ResourceAdapter | None = None) -> list[Resource]:
        """Every resource ``filter`` matches, page after page: each page's ``total_results`` is
        the same and equals the number of resources the pages hold (RFC 7644 §3.4.2.4)."""
        found: list[Resource] = []
        total: int | None = None
        while total is None or len(found) < total:
            page = await self.search(filter, sort=sort, start_index=len(found) + 1, users=users)
            assert total is None or page.total_results == total, (
                f"total_results changed from {total} to {page.total_results} between pages of {filter!r}")
            total = page.total_results
            if not page.resources:
                break
            found += page.resources
        assert len(found) == total, f"total_results {total} but the pages held {len(found)} resources for {filter!r}"
        ids = [resource.get("id") for resource in found]
        assert len(set(ids)) == len(ids), f"a resource was on two pages of {filter!r}: {ids}"
        return found

    async def user_names(self, filter: Filter | None = None, *, users: ResourceAdapter | None = None) -> set[str]:
        """The userNames of every resource ``filter`` matches (every page; checks the total too)."""
        return {resource["userName"] for resource in await self.all_resources(filter, users=users)}

    async def other_users(self) -> ResourceAdapter:
        """The User adapter of a second tenant, for the isolation checks: the ``other_tenant``
        fixture, else another tenant ``Adapter.tenants()`` lists; with neither the check fails."""
        other = self.other_tenant
        if other is None and type(self.adapter).tenants is not Adapter.tenants:
            other = next((t.id for t in await self.adapter.tenants() if t.id != self.tenant), None)
        assert other is not None, (
            "tenant isolation is checked on every run, but no second tenant is known: define an 'other_tenant' "
            "fixture on your AdapterContract subclass returning a second tenant that exists in the storage "
            "make_adapter builds (e.g. `@pytest.fixture` `def other_tenant(self): return \"2\"`), "
            "or list it in Adapter.tenants()")
        assert other != self.tenant, f"other_tenant must differ from tenant ({other!r})"
        assert await self.adapter.tenant_exists(other) is True, f"the other tenant {other!r} does not exist"
        return self.adapter.resource_adapter("User", other)


class ContractRunner:
    """Runs a check's coroutine against a freshly built and started adapter (the ``contract`` fixture)."""

    def __init__(self, make_adapter: AdapterFactory, tenant: str, other_tenant: str | None, *,
                 resource_type: str = "User", timeout: float = 30.0) -> None:
        if isinstance(make_adapter, Adapter) or not callable(make_adapter):
            raise TypeError("the make_adapter fixture must return a zero-argument callable that builds a fresh, "
                            f"unstarted adapter, not {make_adapter!r} (the kit starts it inside each check's loop)")
        self.make_adapter = make_adapter
        self.tenant = tenant
        self.other_tenant = other_tenant
        self.resource_type = resource_type
        self.timeout = timeout

    def run(self, check: Callable[[ContractSession], Awaitable[None]]) -> None:
        """Build an adapter, start it, run ``check``, stop it: all in one fresh event loop.

        Each step is bounded by ``timeout`` seconds so that a deadlocked adapter fails the
        check instead of hanging the test run.
        """
        run_in_fresh_loop(self._run(check))

    async def _run(self, check: Callable[[ContractSession], Awaitable[None]]) -> None:
        adapter = self.make_adapter()
        assert isinstance(adapter, Adapter), (
            f"make_adapter must return an adapters.base.Adapter, got {type(adapter).__name__}")
        await self._bounded(adapter.start(), "adapter.start()")
        try:
            users = adapter.resource_adapter(self.resource_type, self.tenant)
            session = ContractSession(adapter=adapter, users=users, tenant=self.tenant,
                                      other_tenant=self.other_tenant)
            await self._bounded(check(session), "the check")
        finally:
            await self._bounded(adapter.stop(), "adapter.stop()")

    async def _bounded(self, step: Awaitable[None], what: str) -> None:
        started = asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(step, self.timeout)
        except TimeoutError:
            if asyncio.get_running_loop().time() - started < self.timeout:
                raise  # the adapter's own timeout, not the kit's
            raise AssertionError(f"{what} did not finish within {self.timeout} s (a deadlock?)") from None
