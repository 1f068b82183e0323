"""``make_app``: the gateway's ``tornado.web.Application`` (routes, access log), and
``make_server``: Tornado's ``HTTPServer`` for it, with the gateway's limits and timeouts.

Tenant URL: ``/scim/v2/locations/<location id>``; Entra ID appends ``/Users``, ``/Groups``.
Endpoint names match case-insensitively and repeated or trailing slashes are tolerated (Note:
Entra ID appends ``/Users`` to a Tenant URL pasted with a trailing slash). Path values are
percent-decoded by Tornado (a value that is not UTF-8 is a SCIM 400).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.web

from gateway.admin.routes import admin_routes, admin_settings
from gateway.config import HEADER_READ_LIMIT, GatewayConfig
from gateway.context import GatewayContext
from gateway.errors import InvalidSyntax
from gateway.handlers.base import SCIM_CONTENT_TYPE, NotFoundHandler, ScimHandler, UnknownPathHandler
from gateway.handlers.discovery import ResourceTypesHandler, SchemasHandler, ServiceProviderConfigHandler
from gateway.handlers.groups import GroupsHandler
from gateway.handlers.health import HealthHandler
from gateway.handlers.users import UserHandler, UsersHandler, UserSearchHandler

access_log = logging.getLogger("vizmo_scim.access")

TENANT = r"(?i)/scim/v2/locations/(?P<location>[^/]+)/+"
SEGMENT = r"(?P<{}>[^/]+)"

#: A connection that sends no request for this long is closed (Tornado's ``idle_connection_timeout``).
IDLE_TIMEOUT = 120.0
#: A request body must arrive within this long (Tornado's ``body_timeout``).
BODY_TIMEOUT = 60.0


class ScimApplication(tornado.web.Application):
    """The gateway as Tornado sees it; ``inflight`` counts requests between their headers and
    their answer, for a graceful stop (``gateway.serving``)."""

    inflight: int = 0

    def start_request(self, server_conn: object,
                      request_conn: tornado.httputil.HTTPConnection) -> tornado.httputil.HTTPMessageDelegate:
        return _MalformedRequestGuard(super().start_request(server_conn, request_conn), request_conn)


class _MalformedRequestGuard(tornado.httputil.HTTPMessageDelegate):
    """A SCIM 400 for a request Tornado parses but cannot represent (a missing or malformed
    ``Host`` header), which its router would otherwise answer with a bare ``400`` and no body."""

    def __init__(self, inner: tornado.httputil.HTTPMessageDelegate,
                 connection: tornado.httputil.HTTPConnection) -> None:
        self.inner, self.connection, self.answered = inner, connection, False

    def headers_received(self, start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
                         headers: tornado.httputil.HTTPHeaders) -> Awaitable[None] | None:
        try:
            return self.inner.headers_received(start_line, headers)
        except tornado.httputil.HTTPInputError as exc:
            self.answered = True
            error = InvalidSyntax(f"Malformed request: {str(exc)[:200]}")
            body = json.dumps(error.body()).encode()
            access_log.info("400 malformed request: %s", str(exc)[:200])
            self.connection.write_headers(
                tornado.httputil.ResponseStartLine("HTTP/1.1", 400, "Bad Request"),
                tornado.httputil.HTTPHeaders({"Content-Type": SCIM_CONTENT_TYPE, "Content-Length": str(len(body)),
                                              "Connection": "close"}), body)
            self.connection.finish()
            return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return None if self.answered else self.inner.data_received(chunk)

    def finish(self) -> None:
        if not self.answered:
            self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.answered:
            self.inner.on_connection_close()


def _routes() -> list[tuple[str, type[ScimHandler]]]:
    """Every endpoint; any other path under a Tenant URL is a SCIM 404 after authentication."""
    return [
        (r"/healthz", HealthHandler),
        (TENANT + r"Users/*", UsersHandler),
        (TENANT + r"Users/+\.search/*", UserSearchHandler),
        (TENANT + r"\.search/*", UserSearchHandler),  # RFC 7644 §3.4.3 root search: Users is the only type
        (TENANT + r"Users/+" + SEGMENT.format("id") + "/*", UserHandler),
        (TENANT + r"Groups/*", GroupsHandler),
        (TENANT + r"Groups/+" + SEGMENT.format("id") + "/*", GroupsHandler),
        (TENANT + r"ServiceProviderConfig/*", ServiceProviderConfigHandler),
        (TENANT + r"ResourceTypes/*", ResourceTypesHandler),
        (TENANT + r"ResourceTypes/+" + SEGMENT.format("name") + "/*", ResourceTypesHandler),
        (TENANT + r"Schemas/*", SchemasHandler),
        (TENANT + r"Schemas/+" + SEGMENT.format("id") + "/*", SchemasHandler),
        (TENANT + r".*", NotFoundHandler),
    ]


def log_request(handler: tornado.web.RequestHandler) -> None:
    """One access line without the query string or headers: filters carry personal data
    (``userName eq "..."``) and headers carry the Secret Token, neither belongs in logs."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    access_log.log(level, "%d %s %s %.1fms id=%s", status, handler.request.method, handler.request.path[:200],
                   1000.0 * handler.request.request_time(), getattr(handler, "request_id", "-"))


def make_app(ctx: GatewayContext) -> ScimApplication:
    """The application for one gateway."""
    kwargs: dict[str, Any] = {"service": ctx.service, "max_body_bytes": ctx.config.max_body_bytes}
    handlers: list[Any] = [(pattern, handler, kwargs) for pattern, handler in _routes()]
    handlers += admin_routes(ctx)  # the Integrations page under /admin (gateway/admin)
    return ScimApplication(handlers, transforms=[], log_function=log_request, gateway_config=ctx.config,
                           default_handler_class=UnknownPathHandler, default_handler_args=kwargs,
                           **admin_settings(ctx))


def make_server(app: ScimApplication, config: GatewayConfig, *, idle_timeout: float = IDLE_TIMEOUT,
                body_timeout: float = BODY_TIMEOUT) -> tornado.httpserver.HTTPServer:
    """Tornado's HTTP server for ``app``: headers read up to
    :data:`~gateway.config.HEADER_READ_LIMIT` (so an oversized request is answered 414/431, not
    dropped), bodies up to four times ``max_body_bytes`` (read and answered 413; a declared
    larger one is refused before it is read), and its idle and body timeouts."""
    return tornado.httpserver.HTTPServer(app, max_header_size=HEADER_READ_LIMIT,
                                         max_body_size=4 * config.max_body_bytes,
                                         idle_connection_timeout=idle_timeout, body_timeout=body_timeout)
