"""What the admin page's handlers work with, built once per process from the gateway's context."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.activity import ActivityLog
from gateway.admin.accounts import Accounts
from gateway.admin.bounded import bounded_calls
from gateway.admin.integrations import Integrations
from gateway.context import GatewayContext
from gateway.rate_limit import RateLimiter

#: Failed sign-in attempts per client address (a success gives its attempt back):
#: ``SIGN_IN_BURST`` at once, then one every
#: ``SIGN_IN_EVERY`` seconds. Each attempt costs a scrypt verification (about 0.1 s of CPU here, also
#: for an unknown name), so the per-account lock alone left the CPU to anyone trying many names.
SIGN_IN_BURST = 10
SIGN_IN_EVERY = 6.0

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
    #: Sign-in attempts per client address, in this worker process (as the location limits).
    sign_ins: RateLimiter = field(default_factory=lambda: RateLimiter(1.0 / SIGN_IN_EVERY, SIGN_IN_BURST))
    #: Successful sign-ins per client address and account that give their attempt back (the
    #: same allowance again): colleagues behind one address are not throttled, and a valid
    #: account cannot make the gateway hash passwords without end (a security review).
    sign_in_successes: RateLimiter = field(default_factory=lambda: RateLimiter(1.0 / SIGN_IN_EVERY, SIGN_IN_BURST))

    @classmethod
    def of(cls, ctx: GatewayContext) -> "AdminContext | None":
        """The page's context, or None when the state store keeps no operator accounts."""
        operators = ctx.state.operators()
        if operators is None:
            return None
        activity = ctx.state.activity_log() if ctx.config.activity.enabled else None
        base_url, timeout = ctx.config.public_base_url, ctx.config.adapter_timeout
        return cls(Accounts(bounded_calls(operators, timeout)),
                   Integrations(bounded_calls(ctx.adapter, timeout), bounded_calls(ctx.state, timeout), ctx.tokens,
                                base_url),
                   None if activity is None else bounded_calls(activity, timeout), base_url)


def cookie_secret(ctx: GatewayContext) -> str:
    """The application's ``cookie_secret``: derived from the deployment's signing key, so every
    worker and host signs and checks session cookies alike, and nothing more is stored."""
    return ctx.tokens.derived_secret(COOKIE_SECRET_LABEL).hex()
