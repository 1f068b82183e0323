"""An even spread of keep-alive connections over the workers of ``serve --processes N``.

A SCIM client (Entra ID, a load generator) opens its connections at once and then keeps them
alive, so the worker that accepts a connection serves every request on it, each in turn. With
SO_REUSEPORT the kernel hashes each connection to one worker's socket: 32 connections split 20/12
(bench/load.py), so the busier worker's requests waited about 20/12 times as long as the
other's (in-server p50 24 against 12 ms), and two connections share one worker half the time.
One shared socket with Tornado's accept loop is no better: the first worker woken accepts the
whole burst.

So the workers share one listening socket and a :class:`ConnectionTable` in shared memory, and
a :class:`BalancedHTTPServer` accepts one connection at a time, only while its worker has no
more open connections than any other live worker. A worker that must decline stops watching the
socket and looks again :data:`RECHECK_SECONDS` later; a connection left waiting
:data:`MAX_DEFER_SECONDS` (the other workers are busy, stuck or gone) is accepted anyway.
"""

from __future__ import annotations

import logging
import mmap
import select
import socket
import time
from collections.abc import Iterable
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.iostream

log = logging.getLogger("vizmo_scim.app")

#: How soon a worker that declined a connection looks at the socket again.
RECHECK_SECONDS = 0.001

#: How long a waiting connection is left to less loaded workers before this one takes it.
MAX_DEFER_SECONDS = 0.05

_ABSENT = -1
_SLOT_BYTES = 8


class ConnectionTable:
    """Open connections per worker slot, in an anonymous shared mapping made before ``fork``.

    Each slot is written only by its own worker (and by the supervisor once the worker has
    exited), so no lock is needed; an absent worker's slot holds -1 and is left out of the
    comparison.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("a connection table needs at least one worker slot")
        self._memory = mmap.mmap(-1, workers * _SLOT_BYTES)  # MAP_SHARED: children see writes
        self._counts = memoryview(self._memory).cast("q")
        for slot in range(workers):
            self._counts[slot] = _ABSENT

    def join(self, slot: int) -> None:
        """The worker of ``slot`` is serving, with no connection yet."""
        self._counts[slot] = 0

    def leave(self, slot: int) -> None:
        """The worker of ``slot`` has stopped; the others no longer wait for it."""
        self._counts[slot] = _ABSENT

    def opened(self, slot: int) -> None:
        self._counts[slot] += 1

    def closed(self, slot: int) -> None:
        if self._counts[slot] > 0:  # an absent slot stays absent
            self._counts[slot] -= 1

    def count(self, slot: int) -> int:
        return self._counts[slot]

    def is_least_loaded(self, slot: int) -> bool:
        """Whether no live worker has fewer open connections than the worker of ``slot``."""
        mine = self._counts[slot]
        return all(other == _ABSENT or mine <= other for other in self._counts)


class BalancedHTTPServer(tornado.httpserver.HTTPServer):
    """An HTTP server that shares its listening sockets with other workers in balance.

    :meth:`serve_on` starts accepting (``add_sockets`` for a lone worker, :meth:`accept_balanced`
    for one of several); ``stop`` stops accepting.
    """

    _table: ConnectionTable | None = None
    _slot = 0
    _balanced: list[socket.socket]
    _deferred_since: float | None = None
    _max_defer = MAX_DEFER_SECONDS

    def accept_balanced(self, sockets: Iterable[socket.socket], table: ConnectionTable, slot: int, *,
                        max_defer: float = MAX_DEFER_SECONDS) -> None:
        """Accept from ``sockets`` (shared with the other workers) as the worker of ``slot``;
        a connection another worker leaves waiting ``max_defer`` seconds is taken anyway."""
        self._table, self._slot, self._max_defer = table, slot, max_defer
        self._balanced = list(sockets)
        table.join(slot)
        for sock in self._balanced:
            self._watch(sock)

    def serve_on(self, sockets: Iterable[socket.socket], share: tuple[ConnectionTable, int] | None) -> None:
        """``add_sockets`` for a lone worker; :meth:`accept_balanced` for one of several (``share``:
        the table and this worker's slot)."""
        if share is None:
            self.add_sockets(sockets)
        else:
            self.accept_balanced(sockets, *share)

    def _watch(self, sock: socket.socket) -> None:
        tornado.ioloop.IOLoop.current().add_handler(
            sock, lambda fd, events: self._on_pending(sock), tornado.ioloop.IOLoop.READ)

    def _may_accept(self) -> bool:
        assert self._table is not None
        if self._table.is_least_loaded(self._slot):
            return True
        return self._deferred_since is not None and time.monotonic() - self._deferred_since >= self._max_defer

    def _on_pending(self, sock: socket.socket) -> None:
        """Accept connections one by one while this worker is the least loaded."""
        assert self._table is not None
        while self._may_accept():
            try:
                connection, address = sock.accept()
            except BlockingIOError:  # another worker took it
                self._deferred_since = None
                return
            except ConnectionAbortedError:
                continue
            self._deferred_since = None
            self._table.opened(self._slot)
            self._serve(connection, address)
        if self._deferred_since is None:
            self._deferred_since = time.monotonic()
        loop = tornado.ioloop.IOLoop.current()
        loop.remove_handler(sock)
        loop.call_later(RECHECK_SECONDS, self._look_again, sock)

    def _look_again(self, sock: socket.socket) -> None:
        if sock not in self._balanced:  # stopped meanwhile
            return
        if not _readable(sock):
            self._deferred_since = None  # another worker took what was waiting
        self._watch(sock)

    def _serve(self, connection: socket.socket, address: Any) -> None:
        """What Tornado's ``TCPServer`` does with an accepted plain-TCP connection."""
        try:
            stream = tornado.iostream.IOStream(connection, max_buffer_size=self.max_buffer_size,
                                               read_chunk_size=self.read_chunk_size)
            self.handle_stream(stream, address)
        except Exception:
            log.exception("could not serve an accepted connection")
            connection.close()
            assert self._table is not None
            self._table.closed(self._slot)

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        if self._table is not None:
            self._table.closed(self._slot)

    def stop(self) -> None:
        """Stop accepting (the sockets stay open in the other workers) and leave the table."""
        super().stop()
        if self._table is not None:
            loop = tornado.ioloop.IOLoop.current()
            for sock in self._balanced:
                loop.remove_handler(sock)
                sock.close()
            self._balanced = []
            self._table.leave(self._slot)


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


__all__ = ["MAX_DEFER_SECONDS", "RECHECK_SECONDS", "BalancedHTTPServer", "ConnectionTable"]
