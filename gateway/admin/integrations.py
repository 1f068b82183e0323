"""The admin page's view of locations and their SCIM integrations, and the three changes it
makes: enable, rotate, remove. The same state-store calls and :class:`~gateway.tokens.TokenCodec`
as ``vizmo-scim integration add|rotate|remove`` (``gateway/cli.py``), so the CLI and the page are
interchangeable and every gateway process honours a change on its next request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from adapters.base import Adapter, Tenant
from adapters.errors import AlreadyExists, NotFound
from adapters.operators import Operator
from adapters.state import Integration, StateStore
from gateway.admin.accounts import can_see
from gateway.tokens import TokenCodec


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
        return f"{self.base_url}/scim/v2/locations/{location}"

    async def locations(self, operator: Operator) -> list[Location]:
        """Every location the operator may see: the directory's, and any enabled one the
        directory no longer lists (so that it can still be removed)."""
        enabled = {i.tenant: i for i in await self.state.list()}
        listed: dict[str, Tenant] = {t.id: t for t in await self.adapter.tenants()}
        for tenant in enabled:
            listed.setdefault(tenant, Tenant(tenant, f"Location {tenant}"))
        ordered = sorted(listed.values(), key=lambda t: (len(t.id), t.id))
        return [Location(t.id, t.name, enabled.get(t.id)) for t in ordered if can_see(operator, t.id)]

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
        current = location.integration
        if current is not None and not hmac.compare_digest(mark.encode(), token_mark(current).encode()):
            raise IntegrationError(
                f"The Secret Token was rotated at {current.rotated_at}, after the page this form came from was "
                "loaded (reloading the page of a new token sends its form again). Nothing was changed: the "
                "newest token keeps working. Rotate again here if you need another one.")
        try:
            token_id = await self.state.rotate(location.id)
        except NotFound:
            raise IntegrationError("SCIM is not enabled for this location: enable it first.") from None
        return self._credentials(location.id, token_id)

    async def remove(self, location: Location) -> None:
        """Disable SCIM: the Tenant URL answers 401 from now on; the employees stay."""
        try:
            await self.state.remove(location.id)
        except NotFound:
            raise IntegrationError("SCIM is not enabled for this location.") from None

    def _credentials(self, location: str, token_id: str) -> Credentials:
        return Credentials(self.tenant_url(location), self.tokens.issue(location, token_id))
