"""A bound on the client connections one worker holds open (``[limits] max_connections``).

Tornado's ``HTTPServer`` accepts every connection it is offered. Held open without a request
(until the 120 s idle timeout) each costs the worker an open file and about 24 KiB, so a client
without a token could open connections until the worker ran out of memory or of files (accept
then fails with EMFILE). Past the bound a new connection gets a ``503`` with ``Retry-After``
(RFC 9110 §15.6.4) and is closed, before any of its bytes are read; the ones already open are
served as before. The bound is also kept below the open-files limit, with room for the storage's
files, so that an accept never fails for want of one.

The two methods overridden are the server's public extension points: ``handle_stream``
(``TCPServer``'s hook for a new connection) and ``on_close`` (the
``HTTPServerConnectionDelegate`` callback when one ends).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import tornado.httpserver
import tornado.iostream

from gateway.errors import ConnectionsFull

log = logging.getLogger("vizmo_scim.app")

#: Open files a worker keeps for everything but client connections (its storage, the activity
#: log, the metrics files, the log file, the listening sockets).
RESERVED_FILES = 64
#: Seconds between two warnings about refused connections.
WARNING_INTERVAL = 60.0
#: How long a refused connection may take to receive its 503 before it is closed without it. Over
#: TLS the answer waits for the handshake, and a client that never completes one held its file for
#: good: 60 silent connections past a bound of 5 were all still open after 150 s, and a flood ran
#: the worker out of files (a TLS review).
REFUSAL_SECONDS = 5.0
#: Refused connections waiting for their 503 at most (within :data:`RESERVED_FILES`); past it a
#: new one is closed at once, unanswered, so a burst of them never runs the worker out of files.
MAX_REFUSING = 16

_REFUSED = ConnectionsFull()
_BODY = json.dumps(_REFUSED.body()).encode()
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + _REFUSED.headers["Retry-After"].encode()
           + b"\r\nConnection: close\r\nContent-Type: application/scim+json\r\nContent-Length: "
           + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


def connection_bound(configured: int) -> int:
    """The bound in force: ``configured``, but below this process's open-files limit by
    :data:`RESERVED_FILES`, and at least 1."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return configured
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - RESERVED_FILES))


class BoundedHTTPServer(tornado.httpserver.HTTPServer):
    """``HTTPServer`` that answers ``503`` to a connection past ``max_connections`` open ones."""

    def initialize(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self.open_connections = 0
        self.refused_connections = 0
        self.refusing = 0  # refused connections whose 503 is under way
        self._refused_since_warning = 0
        self._last_warning = float("-inf")

    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple[Any, ...]) -> None:
        if self.open_connections >= self.max_connections:
            self._refuse(stream)
            return
        self.open_connections += 1
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self.open_connections -= 1
        super().on_close(server_conn)

    def _refuse(self, stream: tornado.iostream.IOStream) -> None:
        self.refused_connections += 1
        self._refused_since_warning += 1
        if self.refusing >= MAX_REFUSING:
            stream.close()
        else:
            self.refusing += 1
            deadline = asyncio.get_running_loop().call_later(REFUSAL_SECONDS, stream.close)

            def done(written: "asyncio.Future[None]") -> None:
                deadline.cancel()
                self.refusing -= 1
                _close(stream, written)

            try:
                stream.write(REFUSAL).add_done_callback(done)
            except tornado.iostream.StreamClosedError:
                deadline.cancel()
                self.refusing -= 1
                stream.close()
        now = time.monotonic()
        if now - self._last_warning >= WARNING_INTERVAL:
            log.warning("refused %d connection(s): this worker holds %d open, its limit ([limits] max_connections, "
                        "kept below the open-files limit); a client opening many idle connections, or the limit "
                        "too low for the clients served", self._refused_since_warning, self.max_connections)
            self._refused_since_warning, self._last_warning = 0, now


def _close(stream: tornado.iostream.IOStream, written: "asyncio.Future[None]") -> None:
    if not written.cancelled():
        written.exception()  # retrieved: a client already gone is no error
    stream.close()
