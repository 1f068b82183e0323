"""``make_app``: the HTTP application of one gateway (routes and access log), built explicitly.

It is a ``tornado.httputil.HTTPServerConnectionDelegate``: give it to
``tornado.httpserver.HTTPServer`` (or :class:`gateway.balance.BalancedHTTPServer`), which makes
one :class:`~gateway.exchange.Exchange` per request (see that module for why this is not a
``tornado.web.Application``). Routes are in :func:`routes`.
"""

from __future__ import annotations

import logging
import re

import tornado.httputil

from gateway.balance import BalancedHTTPServer
from gateway.config import HEADER_READ_LIMIT
from gateway.context import GatewayContext
from gateway.exchange import Exchange
from gateway.handlers.base import NotFoundHandler, ScimHandler, UnknownPathHandler
from gateway.handlers.discovery import ResourceTypesHandler, SchemasHandler, ServiceProviderConfigHandler
from gateway.handlers.groups import GroupsHandler
from gateway.handlers.health import HealthHandler
from gateway.handlers.users import UserHandler, UsersHandler, UserSearchHandler
from gateway.routing import Route, RouteTable, segment, tenant_route
from gateway.watchdog import ConnectionWatchdog

access_log = logging.getLogger("vizmo_scim.access")


def routes() -> RouteTable:
    """Every endpoint of the gateway; any other path under a Tenant URL is a SCIM 404 after
    authentication, and any path outside one an unauthenticated 404."""
    return RouteTable([
        Route(re.compile("/healthz"), HealthHandler),
        tenant_route("Users", UsersHandler),
        tenant_route(r"Users/+\.search", UserSearchHandler),
        tenant_route(r"\.search", UserSearchHandler),  # RFC 7644 §3.4.3 root search: Users is the only type
        tenant_route("Users/+" + segment("id"), UserHandler),
        tenant_route("Groups", GroupsHandler),
        tenant_route("Groups/+" + segment("id"), GroupsHandler),
        tenant_route("ServiceProviderConfig", ServiceProviderConfigHandler),
        tenant_route("ResourceTypes", ResourceTypesHandler),
        tenant_route("ResourceTypes/+" + segment("name"), ResourceTypesHandler),
        tenant_route("Schemas", SchemasHandler),
        tenant_route("Schemas/+" + segment("id"), SchemasHandler),
        tenant_route(".*", NotFoundHandler),
    ], fallback=UnknownPathHandler)


class ScimApplication(tornado.httputil.HTTPServerConnectionDelegate):
    """The gateway as Tornado's HTTP server sees it."""

    def __init__(self, ctx: GatewayContext, *, watchdog: ConnectionWatchdog | None = None) -> None:
        self.ctx = ctx
        self.routes = routes()
        self.watchdog = watchdog if watchdog is not None else ConnectionWatchdog()

    def start_request(self, server_conn: object,
                      request_conn: tornado.httputil.HTTPConnection) -> tornado.httputil.HTTPMessageDelegate:
        return Exchange(self, request_conn)

    def log_request(self, handler: ScimHandler, request: tornado.httputil.HTTPServerRequest) -> None:
        """One access line without the query string or headers: filters carry personal data
        (``userName eq "..."``) and headers carry the Secret Token, neither belongs in logs."""
        level = logging.INFO if handler.status < 500 else logging.ERROR
        access_log.log(level, "%d %s %s %.1fms id=%s", handler.status, request.method,
                       request.path[:200], 1000.0 * request.request_time(), handler.request_id)


def make_app(ctx: GatewayContext) -> ScimApplication:
    """The application for one gateway."""
    return ScimApplication(ctx)


def make_server(app: ScimApplication, *, max_body_size: int) -> BalancedHTTPServer:
    """The HTTP server of one worker for ``app``. Tornado's per-request header and body timers
    are off: ``app.watchdog`` keeps those limits for all the worker's connections at once. It
    reads up to :data:`~gateway.config.HEADER_READ_LIMIT` of headers, so that an oversized
    request is answered (414/431) rather than dropped."""
    server = BalancedHTTPServer(app, max_body_size=max_body_size, max_header_size=HEADER_READ_LIMIT)
    server.conn_params.header_timeout = None  # HTTPServer makes a None idle_connection_timeout 3600 s
    server.conn_params.body_timeout = None
    return server
