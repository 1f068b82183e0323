"""A location's Tenant URL: what its admin pastes into Entra ID's provisioning settings.

One rule for the CLI, the admin pages, the service (``meta.location``) and the start-up line, so
that the URL an admin is shown is the one the gateway answers on (routes: :mod:`gateway.app`).
"""

from __future__ import annotations

#: The path under the origin where a location's SCIM endpoints start; Entra ID appends ``/Users``.
TENANT_PATH = "/scim/v2/locations/"


def tenant_url(origin: str, location: str) -> str:
    """``origin`` (scheme, host, optional port and prefix path) joined to ``location``'s SCIM root."""
    return f"{origin.rstrip('/')}{TENANT_PATH}{location}"
