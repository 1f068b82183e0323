"""Writes that met another writer's lock: waited for and run on a thread of their own.

A write of the SQLite adapter first tries its transaction on the event loop
(``VizmoSqliteAdapter.write``), on a connection without a busy handler: ``BEGIN IMMEDIATE``
takes the write lock at once or fails at once. When it fails (another worker process, the
portal, the CLI or a FULL checkpoint holds the lock), and again one loop round later, the
write is handed to this thread, which waits for the lock on its own connection with short
sleeps *on this thread* and runs the whole transaction there, then hands the result back to
the loop. The loop never waits for the lock:
it serves other requests meanwhile, and when it has none it sleeps in its selector, leaving the
CPU to whoever holds the lock.

Why not wait on the loop: ``time.sleep`` there stalls every other request of the worker (the
previous design polled up to 5 ms so). Why not keep retrying on the loop between rounds
(``asyncio.sleep(0)`` for 5 ms, then timers): under load a round takes several ms, a write
that met the lock met it again 3.5-7 times on average, and a loop with nothing else to do
retried at once and kept the CPU from the lock's holder; the contended writes waited a median
of 13-25 ms and PATCH p99 was 105-125 ms (bench/load.py --processes 2, PATCH, on a busy host
where the on-loop poll measured 35 and 97 ms in the runs around them). The adapter still
retries once, one round later, before it hands a write here. Why not SQLite's busy handler
here: it sleeps 1, 2, 5, 10, ... ms between tries, while the lock is mostly held for 0.3 ms
(another worker's transaction) or 3-5 ms (a FULL checkpoint); this thread tries every
``LOCK_POLL`` seconds instead. Why not every write on this thread: a free lock is the common
case, and on the loop such a write costs only its own work (see :mod:`.writes`); the hop to a
thread and back costs a wake-up (3-4 ms median on a loaded 2-core host) and a loop round, and
the transaction holds the lock across GIL hand-offs (0.06 ms median, 3-4 ms p99).

What it costs against the on-loop poll it replaced (``bench/load.py --processes 2 --repeat 3
--duration 10 --kinds patch``, four alternating runs of each while other processes took about
one of the two cores): PATCH 1,379-1,601 against 1,401-1,633 req/s, p50 20.0-22.4 against
19.7-22.3 ms, p99 40.7-48.5 against 32.2-41.0 ms; in the runs where the host was quiet (other
processes under 0.2 cores) 2,592-2,812 against 2,739-2,905 req/s and p99 25.5-29.1 against
17.7-19.9 ms. The p99 pays for the writes that wait: a
loop round before the second try, and for those handed here a thread wake-up and one more
round.

The thread runs only the write it waited for: the writes queued behind it meanwhile go back to
the loop untried once it has committed (:meth:`BusyWriter._hand_back_waiting`), since the lock
is free then and on the loop each costs only its own work. Run on the thread in turn, they kept
the lock across GIL hand-offs and sent the loop's next writes there too, a convoy that outlived
the FULL checkpoint that started it by seconds.

Durability and isolation are those of any write: one transaction per write, committed (or
rolled back) whole on this thread's connection, which leaves checkpoints to the checkpointer
thread (``wal_autocheckpoint=0``) like the loop's own. The thread holds the GIL only between
SQLite calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from adapters.errors import Unavailable
from adapters.vizmo_sqlite import bootstrap, writes

log = logging.getLogger("vizmo_scim.adapter.sqlite")

T = TypeVar("T")

#: Seconds between two tries for the lock during the first ``LOCK_POLL_SPAN`` seconds of a
#: wait: the lock is mostly held for 0.3 ms (another worker's transaction) or 3-5 ms (a FULL
#: checkpoint), so a write gets it within a tenth of a millisecond of its release.
LOCK_POLL = 0.0001
LOCK_POLL_SPAN = 0.005

#: Longest sleep between two tries after that: the lock is held by something longer (the
#: portal, the CLI); the pause doubles from ``LOCK_POLL`` up to this.
MAX_LOCK_PAUSE = 0.002


class _Handoff(Generic[T]):
    """The outcome of a write handed to the thread, as :meth:`BusyWriter.run` awaits it: a
    future-like object (``asyncio.isfuture``: it has ``_asyncio_future_blocking``) that the
    thread completes through one loop callback, which wakes the awaiting task at once. An
    ``asyncio.Future`` would schedule that wake-up as one more callback, behind everything the
    loop has ready: one more round per handed-off write (2.4-4.2 ms median and 18-23 ms p99
    each under bench/load.py --processes 2, PATCH). It cannot be cancelled: a write handed to
    the thread runs to its end, and a task cancelled meanwhile gets its CancelledError then."""

    _asyncio_future_blocking = False

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._callbacks: list[tuple[Callable[[Any], object], contextvars.Context | None]] = []
        self._done = False
        self._result: T | None = None
        self._error: BaseException | None = None

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._done

    def cancelled(self) -> bool:
        return False

    def cancel(self, msg: Any = None) -> bool:
        return False

    def add_done_callback(self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None) -> None:
        if self._done:
            self._loop.call_soon(fn, self, context=context)
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        kept = [(f, c) for f, c in self._callbacks if f != fn]
        removed, self._callbacks = len(self._callbacks) - len(kept), kept
        return removed

    def result(self) -> T:
        if not self._done:
            raise asyncio.InvalidStateError("the write is still under way")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        if not self._done:
            raise asyncio.InvalidStateError("the write is still under way")
        return self._error

    def __await__(self) -> Generator[Any, None, T]:
        if not self._done:
            self._asyncio_future_blocking = True
            yield self  # the task adds its wake-up with add_done_callback
        return self.result()

    def settle(self, result: T | None, error: BaseException | None) -> None:
        """On the loop's thread: record the outcome and run the awaiting task's wake-up now."""
        self._done, self._result, self._error = True, result, error
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            try:
                if context is None:
                    fn(self)
                else:
                    context.run(fn, self)
            except BaseException as exc:  # as asyncio's Handle does for a failing callback
                self._loop.call_exception_handler({"message": "write hand-off callback failed",
                                                   "exception": exc, "future": self})


@dataclass
class _Job(Generic[T]):
    fn: Callable[..., T]
    args: tuple[Any, ...]
    deadline: float  # time.monotonic() after which the write gives up (Unavailable, 503)
    outcome: _Handoff[T]


class BusyWriter:
    """A daemon thread that runs, one after another, the writes :meth:`run` hands it, each once
    it has the write lock or until its deadline."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._jobs: "queue.SimpleQueue[_Job[Any] | None]" = queue.SimpleQueue()  # None: stop
        self._stopping = threading.Event()
        self._stopped: _Handoff[None] | None = None
        self._thread: threading.Thread | None = None
        self.committed = 0  # writes committed on this thread (read by tests)
        self.handed_back = 0  # writes given back to the loop untried (read by tests)

    def start(self) -> None:
        conn = bootstrap.connect(self.path, timeout=0, check_same_thread=False)  # used on the thread only
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on their own thread (.checkpoint)
        self._thread = threading.Thread(target=self._run, args=(conn,), name="vizmo-busy-writer", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float) -> T:
        """``fn(conn, *args)`` as one transaction on the thread, once it has the write lock;
        :class:`~adapters.vizmo_sqlite.writes.DirectoryBusy` if it is still taken at ``deadline``
        (``time.monotonic()``). Awaiting it never blocks the loop."""
        if self._thread is None:
            raise Unavailable("the directory is not open")
        loop = asyncio.get_running_loop()
        outcome: _Handoff[T] = _Handoff(loop)
        self._jobs.put(_Job(fn, args, deadline, outcome))
        return await outcome

    async def stop(self) -> None:
        """Fail the writes still waiting for the lock (Unavailable), close the connection
        and end the thread; awaits the thread's end without blocking the loop."""
        thread, self._thread = self._thread, None
        if thread is None or not thread.is_alive():
            return
        self._stopped = _Handoff(asyncio.get_running_loop())
        self._stopping.set()
        self._jobs.put(None)
        await self._stopped

    # -- on the thread --------------------------------------------------------------------
    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                self._serve(conn, job)
                if not self._hand_back_waiting():
                    break
        finally:
            conn.close()
            if self._stopped is not None:
                _settle_soon(self._stopped, None, None)

    def _serve(self, conn: sqlite3.Connection, job: _Job[Any]) -> None:
        spin_until = time.monotonic() + LOCK_POLL_SPAN
        pause = LOCK_POLL
        while True:
            if self._stopping.is_set():
                return _settle_soon(job.outcome, None, Unavailable("the directory is closing"))
            try:
                result = writes.run_transaction(conn, job.fn, *job.args)
            except writes.DirectoryBusy as exc:
                now = time.monotonic()
                if now + pause > job.deadline:
                    return _settle_soon(job.outcome, None, exc)
                time.sleep(pause)  # this thread's own wait: the event loop goes on meanwhile
                if now >= spin_until:
                    pause = min(pause * 2, MAX_LOCK_PAUSE)
                continue
            except BaseException as exc:  # NotFound, VersionMismatch, ...: the loop raises it
                return _settle_soon(job.outcome, None, exc)
            self.committed += 1
            return _settle_soon(job.outcome, result, None)

    def _hand_back_waiting(self) -> bool:
        """Give the writes queued meanwhile back to the loop (:class:`HandedBack`): the lock is
        free again now that this thread has committed or given up. Most of them met the lock
        only because this thread held it, across GIL hand-offs, for a write that had waited; run
        here one after another, each held the lock just as long, so the writes arriving
        meanwhile met it too and queued behind them: a convoy that outlived the FULL checkpoint
        that started it by seconds (40 % of a 10 s PATCH run's writes on this thread, CPU per
        request 700 -> 1,100 µs). False once the stop mark was among them."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return True
            if job is None:
                return False
            self.handed_back += 1
            _settle_soon(job.outcome, None, HandedBack())


class HandedBack(Exception):
    """The busy writer gave a write back to the loop, to try the lock there again (see
    :meth:`BusyWriter._hand_back_waiting`). Never leaves the adapter."""


def _settle_soon(outcome: _Handoff[Any], result: Any, error: BaseException | None) -> None:
    """From the thread: settle ``outcome`` on its loop's thread (nothing asyncio is thread-safe
    but ``call_soon_threadsafe``)."""
    try:
        outcome.get_loop().call_soon_threadsafe(outcome.settle, result, error)
    except RuntimeError:  # the loop is closed: nobody awaits the write any more
        log.debug("write finished after its event loop closed")
