"""The gateway's SCIM service: everything a handler may call, per tenant (a location).

Handlers parse HTTP and call one method here; every SCIM rule (authentication of a Tenant URL,
the resource flow, ETags, list requests and responses, discovery, the Groups probes) lives here
or in the protocol core below it, and each method returns an :class:`~gateway.answer.Answer`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import Adapter, ResourceAdapter
from adapters.location_ids import location_number
from adapters.state import StateStore
from gateway.answer import Answer
from gateway.errors import Forbidden, NotFound, NotImplementedHere, TooManyRequests, Unauthorized, cause
from gateway.logs import loggable_path
from gateway.activity.journal import refusal
from gateway.activity.recorder import ActivityRecorder
from gateway.resources import Origin, ResourceService
from gateway.scim import discovery
from gateway.scim.listing import list_response, parse_list_request
from gateway.scim.validation import validate_search_request
from adapters.schema import ResourceType
from gateway.metrics import Metrics
from gateway.rate_limit import RateLimiter, retry_after
from gateway.timed_adapter import TimedResourceAdapter, bounded
from gateway.tokens import InvalidToken, TokenCodec
from gateway.tenant_urls import tenant_url

log = logging.getLogger("vizmo_scim.auth")

#: Note: Entra ID's Test Connection and each provisioning cycle query ``/Groups`` while the group
#: mapping is on; anything but 200 with an empty ListResponse fails the test or quarantines the
#: job (Microsoft Learn: "Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
#: Test Connection; "Application provisioning in quarantine status"). Writes get a 501 telling the
#: admin what to do.
DISABLE_GROUPS = ("Vizmo does not provision groups. In the Entra ID enterprise application open "
                  "Provisioning > Mappings and set 'Provision Microsoft Entra ID Groups' to Enabled: No; "
                  "in Okta, remove the app's Push Groups.")
#: ``/Bulk`` (RFC 7644 §3.7): ``bulk.supported`` is false in the ServiceProviderConfig.
NO_BULK = ("Bulk operations are not supported (the ServiceProviderConfig says bulk.supported: false): "
           "send each operation as its own request.")
#: ``/Me`` (RFC 7644 §3.11): a Secret Token authenticates a location, not a user, so there is no "me".
NO_ME = ("/Me is not supported: the Secret Token authenticates a location's provisioning client, not a user "
         "(RFC 7644 §3.11); address users as /Users/{id}.")


#: Why a Secret Token was refused: the log's words for each reason (the metrics' label).
TOKEN_REFUSALS = {
    "missing": "no token: the Authorization header is missing, empty or of another scheme",
    "malformed": "the token is not one this gateway issues",
    "claims": "the token lacks the claims this gateway issues",
    "other_key": "the token was signed by another key (another gateway's, or this one's before its "
                 "signing key was replaced: see [tokens] in README)",
    "bad_signature": "the token's signature is wrong",
    "other_location": "the token belongs to another location",
    "unknown_location": "the directory has no such location",
    "not_enabled": "SCIM is not enabled for the location (the integration was removed, or never added)",
    "revoked": "the token was revoked (the location's Secret Token was rotated since)",
}


@dataclass(frozen=True)
class Tenant:
    """An authenticated location and its Tenant URL (the origin the client used)."""

    location: str
    url: str


#: Activity entries of refusals a client can send in bulk (not authenticated, or past the rate
#: limit), per location, kind and worker (token buckets; see :meth:`GatewayService.record_refusal`).
FLOOD_ENTRIES_PER_SECOND = 1.0
FLOOD_ENTRIES_BURST = 20
#: The same for refusals before authentication to all locations together, per worker: location
#: ids are small numbers, so a flood spread over a thousand of them was kept whole (a review:
#: 73,353 rows in 60 s, about 0.5 MB a second).
UNAUTHENTICATED_ENTRIES_PER_SECOND = 1.0
UNAUTHENTICATED_ENTRIES_BURST = 100
#: Refusals named after the user of the request's path (when the request carried no userName):
#: those of a request to an existing user (a bad PATCH, a rename onto a taken userName, a stale
#: ``If-Match``). A 404 names nobody, a 401 or 429 costs no directory read (anyone can send them
#: in bulk), a 5xx is the storage's trouble (a look-up would call it once more).
NAMED_REFUSALS = frozenset({400, 409, 412})


def bearer_token(authorization: str) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), or of a bare
    ``Authorization: <token>``, or None.

    Note: Okta's "HTTP Header" authentication sends the header value as the admin typed it: the
    Secret Token pasted alone arrives without the ``Bearer`` scheme. A value with any other
    scheme (``Basic ...``) is not a token.
    """
    scheme, _, rest = authorization.strip().partition(" ")
    if not rest:
        return scheme if scheme and scheme.lower() != "bearer" else None
    if scheme.lower() != "bearer":
        return None
    return rest.strip() or None


class GatewayService:
    """SCIM operations of one gateway over its adapter, state store and token codec; every
    adapter and state-store call of a request is timed and bounded by ``adapter_timeout``."""

    def __init__(self, *, adapter: Adapter, state: StateStore, tokens: TokenCodec, users: ResourceService,
                 resource_types: Mapping[str, ResourceType], base_url: str, max_results: int,
                 recorder: ActivityRecorder | None = None, metrics: Metrics | None = None,
                 limiter: RateLimiter | None = None, adapter_timeout: float = 15.0) -> None:
        self.recorder = recorder
        self.adapter = adapter
        self.state = state
        self.tokens = tokens
        self.users = users
        self.resource_types = resource_types
        self.base_url = base_url
        self.max_results = max_results
        self.metrics = metrics if metrics is not None else Metrics()
        self.limiter = limiter
        self.adapter_timeout = adapter_timeout
        self._resource_adapters: dict[str, ResourceAdapter] = {}
        self._flood_entries = RateLimiter(FLOOD_ENTRIES_PER_SECOND, FLOOD_ENTRIES_BURST)
        self._unauthenticated_entries = RateLimiter(UNAUTHENTICATED_ENTRIES_PER_SECOND, UNAUTHENTICATED_ENTRIES_BURST)

    def tenant_url(self, location: str, base_url: str | None = None) -> str:
        """A location's Tenant URL: from ``base_url`` (a trusted proxy's, :mod:`gateway.forwarded`),
        else from the configured origin; never from the request's ``Host``."""
        return tenant_url(base_url or self.base_url, location)

    # -- authentication -----------------------------------------------------------------------
    async def authenticate(self, location: str, authorization: str, base_url: str | None = None) -> Tenant:
        """Accept only a valid, unrevoked Secret Token of ``location``.

        Every failure is the same 401, so the answer reveals neither which locations exist nor
        why the token failed (RFC 6750 §3.1); the reason goes to the log (INFO, without the
        token) and to ``vizmo_scim_token_failures_total``. Token ids are compared in constant time.
        """
        reason = await self._refusal(location, authorization)
        if reason is not None:
            self.metrics.token_failure(reason)
            log.info("refused a Secret Token for location %r: %s", loggable_path(location[:64]),
                     TOKEN_REFUSALS[reason])
            raise Unauthorized()
        return Tenant(location, self.tenant_url(location, base_url))

    async def _refusal(self, location: str, authorization: str) -> str | None:
        """Why the token is refused (a key of :data:`TOKEN_REFUSALS`), or None."""
        token = bearer_token(authorization)
        if token is None:
            return "missing"
        try:
            claims = self.tokens.verify(token)
        except InvalidToken as exc:
            return exc.reason
        if len(location) > 64 or not hmac.compare_digest(claims.location_id.encode(), location.encode()):
            return "other_location"
        active = await bounded("token", self.state.active_token_id(location), self.metrics, self.adapter_timeout)
        if active is not None and hmac.compare_digest(active.encode(), claims.token_id.encode()):
            return None
        if active is not None:
            return "revoked"
        exists = await bounded("tenant_exists", self.adapter.tenant_exists(location), self.metrics,
                               self.adapter_timeout)
        return "not_enabled" if exists else "unknown_location"

    def admit(self, tenant: Tenant) -> None:
        """The location's rate limit (``[limits] requests_per_second``, ``burst``): a 429 with
        ``Retry-After`` past it."""
        if self.limiter is None:
            return
        wait = self.limiter.take(tenant.location)
        if wait > 0:
            self.metrics.rate_limited.labels(tenant.location).inc()
            raise TooManyRequests(retry_after(wait))

    # -- users --------------------------------------------------------------------------------
    def _users(self, location: str) -> ResourceAdapter:
        """The location's users, each call bounded and timed (:mod:`gateway.timed_adapter`);
        built once per authenticated location."""
        users = self._resource_adapters.get(location)
        if users is None:
            users = TimedResourceAdapter(self.adapter.resource_adapter("User", location), self.metrics,
                                         self.adapter_timeout)
            self._resource_adapters[location] = users
        return users

    async def list_users(self, tenant: Tenant, params: Mapping[str, Any]) -> Answer:
        return await self.users.search(self._users(tenant.location), tenant.url, params)

    async def search_users(self, tenant: Tenant, body: Any) -> Answer:
        return await self.users.search_body(self._users(tenant.location), tenant.url, body)

    async def get_user(self, tenant: Tenant, id: str, params: Mapping[str, Any], if_none_match: str | None,
                       if_match: str | None = None) -> Answer:
        return await self.users.get(self._users(tenant.location), id, tenant.url, params, if_none_match, if_match)

    async def create_user(self, tenant: Tenant, body: Any, request_id: str,
                          params: Mapping[str, Any] | None = None) -> Answer:
        return await self.users.create(self._users(tenant.location), body, tenant.url,
                                       Origin(tenant.location, request_id), params)

    async def replace_user(self, tenant: Tenant, id: str, body: Any, if_match: str | None, request_id: str,
                           params: Mapping[str, Any] | None = None, if_none_match: str | None = None) -> Answer:
        return await self.users.replace(self._users(tenant.location), id, body, tenant.url, if_match,
                                        Origin(tenant.location, request_id), params, if_none_match)

    async def patch_user(self, tenant: Tenant, id: str, body: Any, if_match: str | None, request_id: str,
                         params: Mapping[str, Any] | None = None, if_none_match: str | None = None) -> Answer:
        return await self.users.patch(self._users(tenant.location), id, body, tenant.url, if_match,
                                      Origin(tenant.location, request_id), params, if_none_match)

    async def delete_user(self, tenant: Tenant, id: str, if_match: str | None, request_id: str,
                          if_none_match: str | None = None) -> Answer:
        return await self.users.delete(self._users(tenant.location), id, if_match, Origin(tenant.location, request_id),
                                       if_none_match)

    # -- the activity log (refusals; writes are recorded with the write) ------------------------
    def record_refusal(self, location: str, method: str, operation: str, status: int, scim_type: str | None,
                       request_id: str, *, resource_id: str | None = None, user_name: str | None = None,
                       resource_is_user: bool = False, authenticated: bool = True) -> None:
        """Queue the activity entry of a refused request to ``location`` (appended off the
        request path; dropped there if the directory has no such location; one of
        :data:`NAMED_REFUSALS` to a user, ``resource_is_user``, named after that user). Refusals a client can
        send in bulk, before authentication (anyone can) or past the location's rate limit (a
        runaway client: 5,179 in 4 s), are kept at most :data:`FLOOD_ENTRIES_PER_SECOND` a second
        per location, kind and worker (bursts of :data:`FLOOD_ENTRIES_BURST`), and those before
        authentication :data:`UNAUTHENTICATED_ENTRIES_PER_SECOND` a second for all existing
        locations together: each is a row in the directory's database (fuzzing: 2,000 in 2 s grew it by
        21 MB), kept for the retention; the metrics (``vizmo_scim_token_failures_total``,
        ``vizmo_scim_rate_limited_total``) count every one."""
        if self.recorder is not None:
            if not authenticated and location_number(location) is None:
                return  # no such location can exist: nothing would be stored
            flood = "unauthenticated" if not authenticated else "rate-limited" if status == 429 else None
            if flood is not None and self._flood_entries.take(f"{location}\x00{flood}") > 0:
                return
            # Only locations known to exist draw on the shared allowance: refusals to made-up ones
            # (never stored) used it up and hid a real location's (a security review).
            if not authenticated and self.recorder.exists(location) and self._unauthenticated_entries.take("") > 0:
                return
            self.recorder.record(refusal(location, method, operation, status, scim_type, request_id,
                                         resource_id=resource_id, user_name=user_name),
                                 name_after_user=resource_is_user and authenticated and status in NAMED_REFUSALS)

    # -- groups (probes only) -----------------------------------------------------------------
    def list_groups(self, params: Mapping[str, Any]) -> Answer:
        """An empty ListResponse, after the parameters are checked like any list request."""
        request = parse_list_request(params, self.resource_types["Group"], max_results=self.max_results)
        return Answer(200, list_response([], 0, request.query.start_index))

    def search_groups(self, body: Any) -> Answer:
        """``POST /Groups/.search`` (RFC 7644 §3.4.3): a read like ``GET /Groups``, its body
        checked as a Users search's is (it was taken for a write of a group named ".search": 501)."""
        return self.list_groups(validate_search_request(body))

    @staticmethod
    def get_group(id: str) -> Answer:
        raise NotFound(f"Group {id[:200]} not found. {DISABLE_GROUPS}")

    @staticmethod
    def group_writes_refused() -> NotImplementedHere:
        """The ``501`` of a group write (:data:`DISABLE_GROUPS` tells the admin what to switch off)."""
        return NotImplementedHere(DISABLE_GROUPS)

    # -- discovery (RFC 7644 §4) ---------------------------------------------------------------
    def service_provider_config(self, tenant: Tenant, params: Collection[str]) -> Answer:
        _unfiltered(params)
        caps = self._users(tenant.location).capabilities
        return Answer(200, discovery.service_provider_config(caps, tenant.url, min(caps.max_results, self.max_results)))

    def resource_type_documents(self, tenant: Tenant, name: str | None, params: Collection[str]) -> Answer:
        _unfiltered(params)
        docs = [discovery.resource_type_document(self.users.rtype, tenant.url)]
        return Answer(200, _one_or_list(docs, name, key="name", kind="ResourceType"))

    def schema_documents(self, tenant: Tenant, id: str | None, params: Collection[str]) -> Answer:
        _unfiltered(params)
        docs = discovery.schema_documents(self.users.rtype, tenant.url)
        return Answer(200, _one_or_list(docs, id, key="id", kind="Schema"))

    @staticmethod
    def not_offered(endpoint: str) -> NotImplementedHere:
        """The ``501`` of an endpoint the gateway does not offer: ``"bulk"`` or ``"me"``."""
        return NotImplementedHere(NO_BULK if endpoint == "bulk" else NO_ME)

    # -- health -------------------------------------------------------------------------------
    async def readiness(self) -> str | None:
        """Why the gateway cannot serve (the directory or the state store does not answer
        within the adapter timeout, or fails), or None when both answer (``GET /readyz``)."""
        checks = (("directory", lambda: self.adapter.check_health()),
                  ("state store", lambda: self.state.check_health()))
        for name, check in checks:
            try:
                await bounded("readiness", check(), self.metrics, self.adapter_timeout)
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready", logged with its cause
                log.warning("not ready: the %s failed its check (%s)", name, cause(exc))
                return f"the {name} is unreachable"
        return None


def _unfiltered(params: Collection[str]) -> None:
    """RFC 7644 §4: a discovery endpoint ignores ``attributes``, ``sortBy``, ``count`` and the
    like, but answers a ``filter`` 403, so that a client cannot take the whole document for a
    filtered answer (``params``: the query's parameter names)."""
    if "filter" in params:
        raise Forbidden("Discovery endpoints take no filter (RFC 7644 §4): send the request without it and look "
                        "in the answer.")


def _one_or_list(docs: list[dict[str, Any]], wanted: str | None, *, key: str, kind: str) -> dict[str, Any]:
    if not wanted:
        return list_response(docs, len(docs), 1)
    for doc in docs:
        if doc[key].lower() == wanted.lower():
            return doc
    raise NotFound(f"No {kind} {wanted[:200]!r}.")
