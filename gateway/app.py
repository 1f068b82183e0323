"""``make_app``: the Tornado application of one gateway (routes, access log), built explicitly.

Tenant URL: ``/scim/v2/locations/<location id>``; Entra ID appends ``/Users``, ``/Groups``.
Endpoint names match case-insensitively and repeated slashes are tolerated (Note: Entra ID
appends ``/Users`` to a Tenant URL pasted with a trailing slash).
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web

from gateway.context import GatewayContext
from gateway.handlers.base import NotFoundHandler, ScimHandler
from gateway.handlers.discovery import ResourceTypesHandler, SchemasHandler, ServiceProviderConfigHandler
from gateway.handlers.groups import GroupsHandler
from gateway.handlers.health import HealthHandler
from gateway.handlers.users import UserHandler, UsersHandler, UserSearchHandler

access_log = logging.getLogger("vizmo_scim.access")

TENANT = r"/scim/v2/locations/(?P<location>[^/]+)/+"
_SEGMENT = r"(?P<{}>[^/]+)"


def _route(path: str, handler: type[ScimHandler], ctx: GatewayContext, **extra: Any) -> tornado.web.URLSpec:
    return tornado.web.url(f"(?i){TENANT}{path}/*$", handler, dict(ctx=ctx, **extra))


def log_request(handler: tornado.web.RequestHandler) -> None:
    """One access line without the query string or headers: filters carry personal data
    (``userName eq "..."``) and headers carry the Secret Token, neither belongs in logs."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    access_log.log(level, "%d %s %s %.1fms id=%s", status, handler.request.method,
                   handler.request.path[:200], 1000.0 * handler.request.request_time(),
                   getattr(handler, "request_id", "-"))


def make_app(ctx: GatewayContext, **settings: Any) -> tornado.web.Application:
    """The application for one gateway; ``settings`` go to Tornado (e.g. ``debug``)."""
    routes = [
        tornado.web.url(r"/healthz", HealthHandler, dict(ctx=ctx)),
        _route(r"Users", UsersHandler, ctx),
        _route(r"Users/+\.search", UserSearchHandler, ctx),
        _route(r"Users/+" + _SEGMENT.format("id"), UserHandler, ctx),
        _route(r"Groups", GroupsHandler, ctx),
        _route(r"Groups/+" + _SEGMENT.format("id"), GroupsHandler, ctx),
        _route(r"ServiceProviderConfig", ServiceProviderConfigHandler, ctx),
        _route(r"ResourceTypes", ResourceTypesHandler, ctx),
        _route(r"ResourceTypes/+" + _SEGMENT.format("name"), ResourceTypesHandler, ctx),
        _route(r"Schemas", SchemasHandler, ctx),
        _route(r"Schemas/+" + _SEGMENT.format("id"), SchemasHandler, ctx),
        tornado.web.url(f"{TENANT}.*", NotFoundHandler, dict(ctx=ctx)),
    ]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        default_handler_args=dict(ctx=ctx, tenant_scoped=False),
        log_function=log_request,
        compress_response=False,
        xsrf_cookies=False,
        **settings,
    )
