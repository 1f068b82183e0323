"""Every adapter call timed (a metric) and bounded (a timeout): a directory that hangs or is down
answers ``503`` with ``Retry-After`` within the timeout instead of holding the client, and the
gateway recovers by itself when it comes back (each call is tried afresh).

``asyncio.timeout`` arms one timer per call (a few µs); ``asyncio.wait_for`` would also wrap the
call in a task of its own, which costs more on every request. A call that blocks the thread
(SQLite's short point reads) is not interrupted: it cannot wait for a lock (WAL), and the SQLite
adapter's writes bound their own lock waits (``WRITE_LOCK_WAIT``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from adapters.base import Change, Resource, ResourceAdapter
from adapters.errors import Unavailable
from adapters.query import ListQuery, Page
from gateway.metrics import Metrics

T = TypeVar("T")


async def bounded(operation: str, call: Awaitable[T], metrics: Metrics, timeout: float) -> T:
    """``await call`` within ``timeout`` seconds (else ``Unavailable``), its time recorded."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            return await call
    except TimeoutError:
        metrics.adapter_timeouts.labels(operation).inc()
        raise Unavailable(f"the directory did not answer {operation} within {timeout:g} s") from None
    finally:
        metrics.adapter_call(operation, time.perf_counter() - started)


class TimedResourceAdapter(ResourceAdapter):
    """``inner`` with each call bounded by ``timeout`` and timed into ``metrics``."""

    def __init__(self, inner: ResourceAdapter, metrics: Metrics, timeout: float) -> None:
        self.inner, self.metrics, self.timeout = inner, metrics, timeout
        self.capabilities = inner.capabilities  # type: ignore[misc]  # the wrapped adapter's, as they are

    async def get(self, id: str) -> Resource:
        return await bounded("get", self.inner.get(id), self.metrics, self.timeout)

    async def search(self, query: ListQuery) -> Page:
        return await bounded("search", self.inner.search(query), self.metrics, self.timeout)

    async def create(self, resource: Resource, **kwargs: Any) -> Resource:
        return await bounded("create", self.inner.create(resource, **kwargs), self.metrics, self.timeout)

    async def replace(self, id: str, resource: Resource, **kwargs: Any) -> Resource:
        return await bounded("replace", self.inner.replace(id, resource, **kwargs), self.metrics, self.timeout)

    async def modify(self, id: str, change: Change, **kwargs: Any) -> Resource:
        return await bounded("modify", self.inner.modify(id, change, **kwargs), self.metrics, self.timeout)

    async def delete(self, id: str, **kwargs: Any) -> None:
        await bounded("delete", self.inner.delete(id, **kwargs), self.metrics, self.timeout)
