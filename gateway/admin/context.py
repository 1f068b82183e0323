"""What the admin page's handlers work with, built once per process from the gateway's context."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.activity import ActivityLog
from gateway.admin.accounts import Accounts
from gateway.admin.integrations import Integrations
from gateway.context import GatewayContext

#: The label of the admin cookie secret derived from the token-signing key
#: (:meth:`gateway.tokens.TokenCodec.derived_secret`). Changing it signs every operator out.
COOKIE_SECRET_LABEL = b"vizmo-scim admin session cookie v1"


@dataclass(frozen=True)
class AdminContext:
    accounts: Accounts
    integrations: Integrations
    #: The activity log, or None when the deployment keeps none (``[activity] enabled = false``).
    activity: ActivityLog | None
    base_url: str

    @classmethod
    def of(cls, ctx: GatewayContext) -> "AdminContext | None":
        """The page's context, or None when the state store keeps no operator accounts."""
        operators = ctx.state.operators()
        if operators is None:
            return None
        activity = ctx.state.activity_log() if ctx.config.activity.enabled else None
        base_url = ctx.config.public_base_url
        return cls(Accounts(operators), Integrations(ctx.adapter, ctx.state, ctx.tokens, base_url), activity,
                   base_url)


def cookie_secret(ctx: GatewayContext) -> str:
    """The application's ``cookie_secret``: derived from the deployment's signing key, so every
    worker and host signs and checks session cookies alike, and nothing more is stored."""
    return ctx.tokens.derived_secret(COOKIE_SECRET_LABEL).hex()
