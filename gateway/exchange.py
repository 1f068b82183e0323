"""One HTTP request and its answer, driven straight from Tornado's HTTP/1.1 connection.

The gateway plugs into ``tornado.httpserver.HTTPServer`` as an ``HTTPServerConnectionDelegate``
(:class:`gateway.app.ScimApplication`) rather than a ``tornado.web.Application``: a SCIM
request needs routing, a handler object, bounded body buffering and one written answer, and
``RequestHandler``'s general machinery around that (output transforms, cookies, XSRF, body
hashing, flush callbacks) cost about as much CPU as the whole of a bare handler's own work
(bench/load.py; see ARCHITECTURE.md's performance notes). Tornado's HTTP1Connection still
parses the request, enforces the size limits, and handles keep-alive; the idle and body timeouts
are the application's :class:`~gateway.watchdog.ConnectionWatchdog` (see that module for why).

Order of events (``HTTPMessageDelegate``): :meth:`Exchange.headers_received` routes and
authenticates before any body byte is read (an early error is answered at once and the
connection closed after it), :meth:`Exchange.data_received` feeds the handler's bounded buffer,
:meth:`Exchange.finish` runs the handler's verb in a task, and the answer is written once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING

import tornado.httputil
import tornado.iostream

from gateway.config import MAX_HEADER_BYTES, MAX_URL_BYTES
from gateway.errors import ScimError
from gateway.handlers.base import SCIM_CONTENT_TYPE, ScimHandler
from gateway.routing import decode_path_value

if TYPE_CHECKING:
    from gateway.app import ScimApplication

access_log = logging.getLogger("vizmo_scim.access")
log = logging.getLogger("vizmo_scim.app")

#: Status codes whose answers carry no body and no representation headers (RFC 9110 §6.4.1).
_BODYLESS = (204, 304)


class Exchange(tornado.httputil.HTTPMessageDelegate):
    """The life of one request on one connection."""

    def __init__(self, app: ScimApplication, connection: tornado.httputil.HTTPConnection) -> None:
        self.app = app
        self.connection = connection
        self.request: tornado.httputil.HTTPServerRequest | None = None
        self.handler: ScimHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._answered = False
        self._closed = False
        self._counted = False
        app.watchdog.waiting(self)

    # -- HTTPMessageDelegate ---------------------------------------------------------------
    async def headers_received(self, start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
                               headers: tornado.httputil.HTTPHeaders) -> None:
        assert isinstance(start_line, tornado.httputil.RequestStartLine)
        self.app.watchdog.receiving(self)
        try:
            self.request = request = tornado.httputil.HTTPServerRequest(
                connection=self.connection, start_line=start_line, headers=headers)
        except tornado.httputil.HTTPInputError as exc:  # a missing or malformed Host header
            self._reject_malformed(str(exc))
            return
        ctx = self.app.ctx
        ctx.inflight += 1  # a graceful stop waits for these (gateway.cli)
        self._counted = True
        handler_class, raw_values = self.app.routes.match(request.path)
        self.handler = handler = handler_class(ctx, request, {})
        self.connection.set_max_body_size(ctx.config.max_body_bytes * 4)  # type: ignore[attr-defined]
        try:
            _check_sizes(start_line, headers)
            handler.path_kwargs = {name: decode_path_value(name, raw) for name, raw in raw_values.items()}
            await handler.prepare()
        except Exception as exc:  # noqa: BLE001 -- every failure becomes a SCIM error answer
            handler.render_error(exc)
            self._answer()

    def data_received(self, chunk: bytes) -> None:
        if not self._answered and self.handler is not None:
            self.handler.data_received(chunk)

    def finish(self) -> None:
        self.app.watchdog.settled(self)
        self._task = asyncio.ensure_future(self._run_verb())

    def on_connection_close(self) -> None:
        """The client left before the answer (or after an early one): nothing more to write."""
        self.app.watchdog.settled(self)
        self._closed = True
        if self._task is None:
            self._release()

    def close_connection(self, reason: str) -> None:
        """Close the connection without an answer (the watchdog's deadline passed)."""
        if self.handler is not None:  # an idle connection had no request yet: nothing to log
            log.info("request %s: connection closed, %s", self.handler.request_id, reason)
        self.connection.close()  # type: ignore[attr-defined]

    def connection_closed(self) -> bool:
        """Whether the connection is gone (closed by either side)."""
        stream = getattr(self.connection, "stream", None)
        return stream is None or stream.closed()

    # -- running the handler ---------------------------------------------------------------
    async def _run_verb(self) -> None:
        handler, request = self.handler, self.request
        assert handler is not None and request is not None
        try:
            verb = handler.verb(request.method or "")
            if verb is None:
                raise ScimError(405, f"{request.method} is not supported on {request.path[:200]}.",
                                headers={"Allow": ", ".join(handler.allowed_methods())})
            await verb(**handler.path_kwargs)
            if not handler.finished:
                raise RuntimeError(f"{type(handler).__name__}.{request.method} returned without an answer")
        except Exception as exc:  # noqa: BLE001 -- every failure becomes a SCIM error answer
            handler.render_error(exc)
        self._answer()

    def _answer(self) -> None:
        """Write the handler's recorded answer once, log it, and end the request."""
        if self._answered:
            return
        self._answered = True
        handler, request = self.handler, self.request
        assert handler is not None and request is not None
        try:
            if not self._closed:
                self._write(handler, request)
        finally:
            self.app.log_request(handler, request)
            self._release()

    def _write(self, handler: ScimHandler, request: tornado.httputil.HTTPServerRequest) -> None:
        headers = tornado.httputil.HTTPHeaders(handler.headers)
        body = handler.body or b""
        if handler.status in _BODYLESS:
            headers.pop("Content-Type", None)
            body = b""
        else:
            headers["Content-Length"] = str(len(body))
        if request.method == "HEAD":
            body = b""
        headers["Date"] = http_date()
        start = tornado.httputil.ResponseStartLine(
            "HTTP/1.1", handler.status, tornado.httputil.responses.get(handler.status, "Unknown"))
        try:
            self.connection.write_headers(start, headers, body or None)
            self.connection.finish()
        except tornado.iostream.StreamClosedError:
            pass  # the client went away; its request was handled all the same
        except Exception:  # noqa: BLE001 -- a bug here must not leave the client waiting forever
            log.exception("request %s: the answer could not be written", handler.request_id)
            self.connection.close()  # type: ignore[attr-defined]

    def _reject_malformed(self, reason: str) -> None:
        """400 for a request Tornado parsed but cannot represent (no handler runs)."""
        self._answered = True
        body = json.dumps(ScimError(400, f"Malformed request: {reason[:200]}", "invalidSyntax").body()).encode()
        headers = tornado.httputil.HTTPHeaders({"Content-Type": SCIM_CONTENT_TYPE, "Content-Length": str(len(body)),
                                                "Date": http_date()})
        access_log.info("400 malformed request: %s", reason[:200])
        try:
            self.connection.write_headers(tornado.httputil.ResponseStartLine("HTTP/1.1", 400, "Bad Request"),
                                          headers, body)
            self.connection.finish()
        except tornado.iostream.StreamClosedError:
            pass

    def _release(self) -> None:
        if self._counted:
            self._counted = False
            self.app.ctx.inflight -= 1


def _check_sizes(start_line: tornado.httputil.RequestStartLine, headers: tornado.httputil.HTTPHeaders) -> None:
    """A SCIM 414 for a request-target over :data:`MAX_URL_BYTES`, a 431 for a header section
    over :data:`MAX_HEADER_BYTES` (RFC 9110 §15.5.15, RFC 6585 §5)."""
    if len(start_line.path) > MAX_URL_BYTES:
        raise ScimError(414, f"The URL is {len(start_line.path)} bytes long; at most {MAX_URL_BYTES} are "
                             "accepted. Send a long filter in the body of POST .../Users/.search "
                             "(RFC 7644 §3.4.3).")
    size = sum(len(name) + len(value) + 4 for name, value in headers.get_all())
    if size > MAX_HEADER_BYTES:
        raise ScimError(431, f"The request headers are {size} bytes long; at most {MAX_HEADER_BYTES} are accepted.")


_date_cache: tuple[int, str] = (0, "")


def http_date() -> str:
    """The ``Date`` header value (RFC 9110 §6.6.1), formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, tornado.httputil.format_timestamp(now))
    return _date_cache[1]
