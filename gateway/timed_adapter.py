"""Every adapter call timed (a metric) and bounded (a timeout): a directory that hangs or is down
answers ``503`` with ``Retry-After`` within the timeout instead of holding the client, and the
gateway recovers by itself when it comes back (each call is tried afresh).

The timer is armed only when a call suspends. A call that completes without waiting (the SQLite
adapter's indexed reads and the state store's token look-up, which run on the loop's thread) has
nothing a timeout could interrupt, so :func:`bounded` runs its first step directly and arms
``asyncio.timeout`` for the rest only if the call yields to the loop (:class:`_Rest` resumes
it). An ``asyncio.timeout`` per call cost about 18 µs of the 385 µs a ``userName`` look-up took
under ``bench/load.py`` (py-spy: ``timeout``, ``Timeout.__aenter__``/``__aexit__``, two calls per
request: the token and the search); ``asyncio.wait_for`` costs more (a task per call). A call that
blocks the thread (SQLite's short point reads) is not interrupted either way: it cannot wait for a
lock (WAL), and the SQLite adapter's writes bound their own lock waits (``WRITE_LOCK_WAIT``).

The timeout cancels the request's own task, and the 503 follows once the call's clean-up ran:
an adapter keeps that short (the PostgreSQL adapter drops a connection a cancellation leaves
mid-query instead of resetting it over a server that may not answer). Running the rest of the
call as a task of its own, abandoned at the timeout, answered at once even then, but it moved
the call out of the task its first step ran in: an ``asyncio.timeout`` the adapter entered there
(the PostgreSQL pool's wait) then cancelled the request instead of its call, a 500.
"""

from __future__ import annotations

import asyncio
import time
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeVar

from adapters.base import Change, Resource, ResourceAdapter
from adapters.errors import Unavailable
from adapters.query import ListQuery, Page
from gateway.adapter_output import AdapterBroke, checked_page, checked_resource
from gateway.metrics import Metrics

T = TypeVar("T")


class _Rest(Awaitable[T]):
    """The rest of a coroutine whose first step already ran and yielded ``pending`` (the future
    it waits for): awaiting this continues the coroutine exactly as ``await coro`` would have,
    passing each value and exception through (PEP 380's expansion of ``yield from``)."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, T], pending: Any) -> None:
        self._coro, self._pending = coro, pending

    def __await__(self) -> Generator[Any, Any, T]:
        coro, value = self._coro, self._pending
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # a cancellation (the timeout's), or a close, goes into the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]


async def bounded(operation: str, call: Awaitable[T], metrics: Metrics, timeout: float) -> T:
    """``await call`` within ``timeout`` seconds of its first wait (else ``Unavailable``), its
    time recorded."""
    started = time.perf_counter()
    scope: asyncio.Timeout | None = None
    try:
        if not isinstance(call, types.CoroutineType):  # a future, or another kind of awaitable: timed whole
            async with (scope := asyncio.timeout(timeout)):
                return await call
        try:
            pending = call.send(None)  # up to the call's first wait, or its end
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        async with (scope := asyncio.timeout(timeout)):
            return await _Rest(call, pending)
    except TimeoutError as exc:
        if scope is None or not scope.expired():  # the adapter's own (a driver's socket timeout): no timeout of ours
            raise Unavailable(f"the directory's {operation} timed out: {exc or 'TimeoutError'}") from exc
        metrics.adapter_timeouts.labels(operation).inc()
        raise Unavailable(f"the directory did not answer {operation} within {timeout:g} s") from None
    except (RecursionError, SystemExit, KeyboardInterrupt) as exc:
        # an adapter's bug, not the client's deep body nor a stop of the gateway: a RecursionError was
        # answered 400 invalidSyntax to a GET, and SystemExit ended the worker, nothing logged (an SDK review)
        raise AdapterBroke(f"the adapter's {operation} raised {type(exc).__name__}: {exc}") from exc
    finally:
        metrics.adapter_call(operation, time.perf_counter() - started)


class TimedResourceAdapter(ResourceAdapter):
    """``inner`` with each call bounded by ``timeout``, timed into ``metrics``, and its answer
    checked against the contract (:mod:`gateway.adapter_output`)."""

    def __init__(self, inner: ResourceAdapter, metrics: Metrics, timeout: float) -> None:
        self.inner, self.metrics, self.timeout = inner, metrics, timeout
        self.capabilities = inner.capabilities  # type: ignore[misc]  # the wrapped adapter's, as they are

    async def get(self, id: str) -> Resource:
        return checked_resource("get", await bounded("get", self.inner.get(id), self.metrics, self.timeout), id)

    async def search(self, query: ListQuery) -> Page:
        return checked_page(await bounded("search", self.inner.search(query), self.metrics, self.timeout), query)

    async def create(self, resource: Resource, **kwargs: Any) -> Resource:
        created = await bounded("create", self.inner.create(resource, **kwargs), self.metrics, self.timeout)
        return checked_resource("create", created)

    async def replace(self, id: str, resource: Resource, **kwargs: Any) -> Resource:
        replaced = await bounded("replace", self.inner.replace(id, resource, **kwargs), self.metrics, self.timeout)
        return checked_resource("replace", replaced, id)

    async def modify(self, id: str, change: Change, **kwargs: Any) -> Resource:
        modified = await bounded("modify", self.inner.modify(id, change, **kwargs), self.metrics, self.timeout)
        return checked_resource("modify", modified, id)

    async def delete(self, id: str, **kwargs: Any) -> None:
        await bounded("delete", self.inner.delete(id, **kwargs), self.metrics, self.timeout)
