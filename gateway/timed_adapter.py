"""Every adapter call timed (a metric) and bounded (a timeout): a directory that hangs or is down
answers ``503`` with ``Retry-After`` within the timeout instead of holding the client, and the
gateway recovers by itself when it comes back (each call is tried afresh).

The timer is armed only when a call suspends. A call that completes without waiting (the SQLite
adapter's indexed reads and the state store's token look-up, which run on the loop's thread) has
nothing a timeout could interrupt, so :func:`bounded` runs its first step directly, without a
timer or a task: a timer per call cost about 18 µs of the 385 µs a ``userName`` look-up took
under ``bench/load.py`` (py-spy, two calls per request: the token and the search). A call that
yields to the loop goes on as a task of its own (:class:`_Rest` resumes it there), which the
request waits for with ``asyncio.wait``: past the timeout the task is cancelled and the request
answers at once, while the call's clean-up runs on in the background. Cancelling the request's
own task instead (``asyncio.timeout``, ``wait_for``) made the answer wait for that clean-up, and a
PostgreSQL that stops answering (a partition, SIGSTOP) held a pooled connection's reset for the
pool's own 10-30 s limits. A call that blocks the thread (SQLite's short point reads) is not
interrupted either way: it cannot wait for a lock (WAL), and the SQLite adapter's writes bound
their own lock waits (``WRITE_LOCK_WAIT``).
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
from gateway.adapter_output import checked_page, checked_resource
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
            except GeneratorExit:  # this task dropped unfinished (its loop closed): the call is closed too
                coro.close()
                raise
            except BaseException as exc:  # a cancellation (the timeout's) goes into the coroutine
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
    """``await call`` within ``timeout`` seconds of its first wait (else ``Unavailable``, without
    waiting for the call's clean-up), its time recorded."""
    started = time.perf_counter()
    try:
        if not isinstance(call, types.CoroutineType):  # a future, or another kind of awaitable
            call = _awaited(call)
        try:
            pending = call.send(None)  # up to the call's first wait, or its end
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        rest = asyncio.ensure_future(_finish(_Rest(call, pending)))
        try:
            await asyncio.wait((rest,), timeout=timeout)
        finally:
            if not rest.done():  # the timeout, or the request itself cancelled or closed
                # after the task's first step (queued before this): a task cancelled before it
                # starts never resumes the call, whose clean-up would then wait for the collector
                rest.get_loop().call_soon(rest.cancel)
                rest.add_done_callback(_abandoned)
        if rest.done():
            return rest.result()
        metrics.adapter_timeouts.labels(operation).inc()
        raise Unavailable(f"the directory did not answer {operation} within {timeout:g} s")
    finally:
        metrics.adapter_call(operation, time.perf_counter() - started)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _finish(rest: Awaitable[T]) -> T:
    return await rest


def _abandoned(task: "asyncio.Future[Any]") -> None:
    """A call left behind by its timeout ended (its clean-up done): its error, if any, was
    already answered as a 503, so it is only retrieved here (no "never retrieved" warning)."""
    if not task.cancelled():
        task.exception()


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
