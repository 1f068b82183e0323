"""The Integrations page proper: the locations with their SCIM state, one location with the
Entra ID steps, and enable / rotate / remove (the portal's *Integrations → Add Integration →
SCIM* flow). A new Secret Token is rendered once, in the answer to the POST that made it, and
is never stored or shown again (``Cache-Control: no-store`` on every admin page)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import tornado.web

from adapters.location_ids import location_number
from gateway.admin.activity_query import day_summary
from gateway.admin.base import AdminHandler
from gateway.admin.integrations import (MAX_SEARCH_CHARS, Credentials, IntegrationError, Location, LocationSearch,
                                        token_mark)
from gateway.tenant_urls import tenant_url

log = logging.getLogger("vizmo_scim.admin")

#: The shape of a location id in a page's path (digits, no leading zero), for the routes: the
#: handlers hold it to the one rule, :func:`adapters.location_ids.location_number` (a 19-digit id
#: past the 64-bit range matches this, and is no location).
LOCATION_ID = re.compile(r"[1-9][0-9]{0,18}")


class LocationsHandler(AdminHandler):
    """The operator's locations, 100 a page, searched by ``q`` (an id, or part of a name)."""

    async def get(self) -> None:
        operator = self.require_operator()
        search = LocationSearch.parse(self.get_query_argument("q", ""), self.get_query_argument("page", ""))
        found = await self.admin.integrations.search(operator, search)
        removed = self.get_query_argument("removed", "")
        notice = (f"SCIM is disabled for location {removed}, which the directory no longer lists: its Secret Token "
                  "no longer works.") if location_number(removed) is not None else None
        self.render("locations.html", found=found, max_search=MAX_SEARCH_CHARS, notice=notice)


class OpenLocationHandler(AdminHandler):
    """The list's "open a location by its id" form (for a directory that does not list them all)."""

    def get(self) -> None:
        self.require_operator()
        location = self.get_query_argument("id", "").strip()
        if location_number(location) is None:
            raise tornado.web.HTTPError(404)
        self.redirect(self.url(f"/locations/{location}"))


class LocationHandler(AdminHandler):
    def tenant_url(self, location: str) -> str:
        """The Tenant URL as the SCIM endpoints build it for this request's origin (a trusted
        proxy's ``X-Forwarded-Proto``/``-Host``, else the configured origin: gateway.forwarded)."""
        origin = self.application.public_origin.for_request(  # type: ignore[attr-defined]
            self.request.remote_ip, self.request.headers)
        return tenant_url(origin, location)

    async def get(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        await self.show(location, notice=_NOTICES.get(self.get_query_argument("done", "")))

    async def show(self, location: Location, *, error: str | None = None, notice: str | None = None) -> None:
        summary = None
        if self.admin.activity is not None and location.enabled and location_number(location.id) is not None:
            summary = await day_summary(self.admin.activity, location.id)
        self.render("location.html", location=location, summary=summary, error=error, notice=notice,
                    tenant_url=self.tenant_url(location.id))


_NOTICES = {"removed": "SCIM is disabled for this location: its Secret Token no longer works. The employees stay "
                       "in the directory."}


class _ChangeHandler(LocationHandler):
    """A POST that enables or rotates and shows the new credentials once."""

    verb = ""

    async def post(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        try:
            credentials = await self.change(location)
        except IntegrationError as exc:
            self.set_status(409)
            await self.show(location, error=str(exc))
            return
        log.info("admin %s: location %s by %s", self.verb, location.id, self.require_operator().name)
        fresh = await self.visible_location(location_id)
        credentials = replace(credentials, tenant_url=self.tenant_url(location.id))
        self.render("credentials.html", location=fresh, credentials=credentials, verb=self.verb)

    async def change(self, location: Location) -> Credentials:
        raise NotImplementedError


class EnableHandler(_ChangeHandler):
    verb = "enabled"

    async def change(self, location: Location) -> Credentials:
        return await self.admin.integrations.enable(location)


class RotateHandler(_ChangeHandler):
    """GET: the confirmation page (one press on the location page voided the token Entra ID uses,
    at once: WCAG 2.1 SC 3.3.4); POST (from that page's form, naming the token it was shown for):
    rotate."""

    verb = "rotated"

    async def get(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        if location.integration is None:
            self.redirect(self.url(f"/locations/{location.id}"))
            return
        self.render("confirm_rotate.html", location=location, token_mark=token_mark(location.integration))

    async def post(self, location_id: str) -> None:
        if self.get_body_argument("confirm", "") != "rotate":
            location = await self.visible_location(location_id)
            self.redirect(self.url(f"/locations/{location.id}/rotate"), status=303)
            return
        await super().post(location_id)

    async def change(self, location: Location) -> Credentials:
        return await self.admin.integrations.rotate(location, self.get_body_argument("current", ""))


class RemoveHandler(LocationHandler):
    """GET: the confirmation page; POST (from that page's form): remove."""

    async def get(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        if location.integration is None:
            self.redirect(self.url(f"/locations/{location.id}"))
            return
        self.render("confirm_remove.html", location=location, token_mark=token_mark(location.integration))

    async def post(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        if self.get_body_argument("confirm", "") != "remove":
            self.redirect(self.url(f"/locations/{location.id}/remove"), status=303)
            return
        try:
            await self.admin.integrations.remove(location, self.get_body_argument("current", ""))
        except IntegrationError as exc:
            self.set_status(409)
            await self.show(location, error=str(exc))
            return
        log.info("admin removed: location %s by %s", location.id, self.require_operator().name)
        if await self.admin.integrations.location(self.require_operator(), location.id) is None:
            # listed only while enabled (the directory no longer has it): its page is gone now
            self.redirect(self.url("/locations", {"removed": location.id}), status=303)
            return
        self.redirect(self.url(f"/locations/{location.id}", {"done": "removed"}), status=303)
