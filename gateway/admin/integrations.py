"""The admin page's view of locations and their SCIM integrations (searched and paged in this
process, over ``Adapter.tenants()``), and the three changes it makes: enable, rotate, remove.
The same state-store calls and :class:`~gateway.tokens.TokenCodec` as ``vizmo-scim integration
add|rotate|remove`` (``gateway/cli.py``), so the CLI and the page are interchangeable and every
gateway process honours a change on its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from adapters.base import Adapter, Tenant
from adapters.errors import AlreadyExists, NotFound, VersionMismatch
from adapters.operators import Operator
from adapters.state import Integration, StateStore
from gateway.admin.accounts import can_see
from gateway.tenant_urls import tenant_url
from gateway.tokens import TokenCodec

#: Locations on one page of the list, and the longest search text used (a longer one is cut).
PAGE_SIZE = 100
MAX_SEARCH_CHARS = 100
#: A page number as the list reads it: ASCII digits only (no sign, no exponent).
_PAGE_NUMBER = re.compile(r"[0-9]+")


class IntegrationError(Exception):
    """A change that does not apply to the location's state (enable twice, rotate a disabled one)."""


@dataclass(frozen=True)
class Location:
    """A location as the page shows it; ``integration`` is None while SCIM is not enabled."""

    id: str
    name: str
    integration: Integration | None

    @property
    def enabled(self) -> bool:
        return self.integration is not None


@dataclass(frozen=True)
class LocationSearch:
    """A search of the list of locations: ``text`` (trimmed, at most :data:`MAX_SEARCH_CHARS`;
    empty: every location) and the page asked for (1-based, not yet held to the last page)."""

    text: str = ""
    page: int = 1
    #: Whether the text sent was longer and was cut (the page says so).
    cut: bool = False

    @classmethod
    def parse(cls, text: str, page: str) -> LocationSearch:
        """The query string's ``q`` and ``page``: never an error. A page that is not a number
        of ASCII digits, or is 0, is the first page; one past the end is held to the last page
        by :meth:`Integrations.search`."""
        text = text.strip()
        cut = len(text) > MAX_SEARCH_CHARS
        if cut:
            text = text[:MAX_SEARCH_CHARS].rstrip()
        page = page.strip()
        if not _PAGE_NUMBER.fullmatch(page):
            return cls(text, 1, cut)
        return cls(text, max(int(page), 1) if len(page) <= 18 else 10 ** 18, cut)  # 10**18: past any end

    def matches(self, location: Location) -> bool:
        """The location's id exactly, or its name containing the text, ignoring case and accents."""
        if not self.text:
            return True
        return location.id == self.text or search_form(self.text) in search_form(location.name)


def search_form(text: str) -> str:
    """``text`` case-folded, in compatibility form, without combining marks: ``istanbul`` finds
    *İstanbul* (whose case-folded ``i`` keeps a combining dot: a usability review), ``zurich``
    *Zürich*, ``ﬁ`` *fi*."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


@dataclass(frozen=True)
class LocationPage:
    """One page of the locations a search matched, in the list's order (by id)."""

    search: LocationSearch
    locations: list[Location]
    #: How many locations matched (those the operator may see only), and the page shown.
    total: int
    page: int

    @property
    def pages(self) -> int:
        return page_count(self.total)

    @property
    def first(self) -> int:
        """The 1-based position of the page's first location (0 when nothing matched)."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.locations else 0

    @property
    def last(self) -> int:
        return self.first + len(self.locations) - 1 if self.locations else 0

    @property
    def shown(self) -> str:
        """What the page says it shows: ``Locations 101–200 of 1,234``."""
        return f"Locations {self.first:,}–{self.last:,} of {self.total:,}"

    def query(self, page: int) -> dict[str, str]:
        """The query string of another page of the same search."""
        return {"q": self.search.text, "page": str(page)} if self.search.text else {"page": str(page)}


def page_count(total: int) -> int:
    """Pages of :data:`PAGE_SIZE` that ``total`` locations fill (one, empty, for none)."""
    return max(1, -(-total // PAGE_SIZE))


def token_mark(integration: Integration) -> str:
    """What the rotate form says about the token it was loaded for: a digest of the token's id,
    which changes with every rotation and tells nothing about the id (the form is HTML)."""
    return hashlib.sha256(b"vizmo-scim rotate form\0" + integration.token_id.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Credentials:
    """What Entra ID needs, shown once: the Tenant URL and a new Secret Token."""

    tenant_url: str
    secret_token: str


class Integrations:
    """Locations of the directory with their SCIM state, seen through an operator's scope."""

    def __init__(self, adapter: Adapter, state: StateStore, tokens: TokenCodec, base_url: str) -> None:
        self.adapter, self.state, self.tokens, self.base_url = adapter, state, tokens, base_url.rstrip("/")

    def tenant_url(self, location: str) -> str:
        return tenant_url(self.base_url, location)

    async def locations(self, operator: Operator) -> list[Location]:
        """Every location the operator may see: the directory's, and any enabled one the
        directory no longer lists (so that it can still be removed)."""
        enabled = {i.tenant: i for i in await self.state.list()}
        listed: dict[str, Tenant] = {t.id: t for t in await self.adapter.tenants()}
        for tenant in enabled:
            listed.setdefault(tenant, Tenant(tenant, f"Location {tenant}"))
        ordered = sorted(listed.values(), key=lambda t: (len(t.id), t.id))
        return [Location(t.id, t.name, enabled.get(t.id)) for t in ordered if can_see(operator, t.id)]

    async def search(self, operator: Operator, search: LocationSearch) -> LocationPage:
        """The page of the operator's locations that ``search`` asks for; a page past the end
        is the last page. Other operators' locations are neither shown nor counted."""
        matched = [location for location in await self.locations(operator) if search.matches(location)]
        page = min(search.page, page_count(len(matched)))
        start = (page - 1) * PAGE_SIZE
        return LocationPage(search, matched[start:start + PAGE_SIZE], len(matched), page)

    async def location(self, operator: Operator, location: str) -> Location | None:
        """The location, or None when it does not exist or the operator may not see it (the
        page answers both with the same 404)."""
        if not can_see(operator, location):
            return None
        for found in await self.locations(operator):
            if found.id == location:
                return found
        if await self.adapter.tenant_exists(location):  # an adapter that does not list its tenants
            return Location(location, f"Location {location}", None)
        return None

    async def enable(self, location: Location) -> Credentials:
        """Enable SCIM (one conditional insert: of concurrent enables exactly one wins)."""
        if not await self.adapter.tenant_exists(location.id):
            raise IntegrationError(f"Location {location.id} is no longer in the directory.")
        try:
            token_id = await self.state.enable(location.id)
        except AlreadyExists:
            raise IntegrationError("SCIM is already enabled for this location. Rotate the Secret Token "
                                   "for a new one.") from None
        return self._credentials(location.id, token_id)

    async def rotate(self, location: Location, mark: str) -> Credentials:
        """A new Secret Token; the old one is refused from the next request on, by every process.

        ``mark`` is the form's :func:`token_mark`: a form sent again (a reload of the page that
        showed the new token, a second tab, another operator meanwhile) names a token that is no
        longer the location's, and rotating again would silently void the token just pasted
        into Entra ID, so it is refused and nothing changes."""
        current = self._current(location, mark)
        if not await self.adapter.tenant_exists(location.id):
            raise IntegrationError(f"Location {location.id} is no longer in the directory: remove SCIM from it "
                                   "instead (a new token would provision a location that does not exist).")
        try:  # one conditional update: of forms sent at once, one rotates (a double-click rotated twice)
            token_id = await self.state.rotate_if_current(location.id, current.token_id)
        except NotFound:
            raise IntegrationError("SCIM is not enabled for this location: enable it first.") from None
        except VersionMismatch:
            raise self._changed(current) from None
        return self._credentials(location.id, token_id)

    async def remove(self, location: Location, mark: str) -> None:
        """Disable SCIM: the Tenant URL answers 401 from now on; the employees stay. ``mark`` is
        the confirmation form's :func:`token_mark`: a page loaded before the integration was
        removed and enabled again must not remove the new one (its token is in Entra ID)."""
        current = self._current(location, mark)
        try:
            await self.state.remove_if_current(location.id, current.token_id)
        except NotFound:
            raise IntegrationError("SCIM is not enabled for this location.") from None
        except VersionMismatch:
            raise self._changed(current) from None

    def _current(self, location: Location, mark: str) -> Integration:
        """The integration the form was loaded for, or the error that nothing was changed."""
        current = location.integration
        if current is None:
            raise IntegrationError("SCIM is not enabled for this location.")
        if not hmac.compare_digest(mark.encode(), token_mark(current).encode()):
            raise self._changed(current)
        return current

    @staticmethod
    def _changed(current: Integration) -> IntegrationError:
        return IntegrationError(
            f"The Secret Token was rotated, or SCIM enabled again, at {current.rotated_at}, "
            "after the page this form came from was loaded, by another operator, another tab, a second click or a "
            "reload of a page that showed a new token. Nothing was changed by this form: the newest token keeps "
            "working. Open the location again to see it as it is now.")

    def _credentials(self, location: str, token_id: str) -> Credentials:
        return Credentials(self.tenant_url(location), self.tokens.issue(location, token_id))
