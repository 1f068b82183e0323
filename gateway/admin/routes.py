"""The admin page's routes under ``/admin`` and the application settings it needs.

``gateway/app.py`` adds both to the one application; the SCIM routes are untouched (they need
no cookie and no XSRF token: they are bearer-token APIs).
"""

from __future__ import annotations

from typing import Any

import tornado.web

from gateway.admin.activity_pages import ActivityCsvHandler, ActivityHandler
from gateway.admin.base import PREFIX, STATIC, AdminNotFoundHandler
from gateway.admin.context import AdminContext, cookie_secret
from gateway.admin.location_pages import (LOCATION_ID, EnableHandler, LocationHandler, LocationsHandler,
                                          OpenLocationHandler, RemoveHandler, RotateHandler)
from gateway.admin.session_pages import HomeHandler, SignInHandler, SignOutHandler
from gateway.context import GatewayContext

LOCATION = rf"(?P<location_id>{LOCATION_ID.pattern})"


class StaticHandler(tornado.web.StaticFileHandler):
    """The page's CSS and JavaScript, with ``nosniff`` as every admin page has it (a browser
    must not run a file as another type than it is served as)."""

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")


class NoAdminHandler(tornado.web.RequestHandler):
    """``/admin`` of a deployment whose state store keeps no operator accounts."""

    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish("The admin page needs a state store that keeps operator accounts; this deployment's has none.\n")


def admin_routes(ctx: GatewayContext) -> list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """Every ``/admin`` route of one gateway process."""
    admin = AdminContext.of(ctx)
    if admin is None:
        return [(PREFIX + r"(?:/.*)?", NoAdminHandler, {})]
    args = {"admin": admin}
    pages: list[tuple[str, type[tornado.web.RequestHandler]]] = [
        (r"/?", HomeHandler),
        (r"/sign-in", SignInHandler),
        (r"/sign-out", SignOutHandler),
        (r"/locations", LocationsHandler),
        (r"/open-location", OpenLocationHandler),
        (rf"/locations/{LOCATION}", LocationHandler),
        (rf"/locations/{LOCATION}/enable", EnableHandler),
        (rf"/locations/{LOCATION}/rotate", RotateHandler),
        (rf"/locations/{LOCATION}/remove", RemoveHandler),
        (rf"/locations/{LOCATION}/activity", ActivityHandler),
        (rf"/locations/{LOCATION}/activity\.csv", ActivityCsvHandler),
    ]
    routes: list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = [
        (PREFIX + pattern, handler, args) for pattern, handler in pages]
    routes.append((PREFIX + r"/static/(.*)", StaticHandler, {"path": str(STATIC)}))
    routes.append((PREFIX + r"/.*", AdminNotFoundHandler, args))
    return routes


def admin_settings(ctx: GatewayContext) -> dict[str, Any]:
    """Application settings of the admin page: the session cookies' secret."""
    return {"cookie_secret": cookie_secret(ctx)}
