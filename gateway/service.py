"""The gateway's SCIM service: everything a handler may call, per tenant (a location).

Handlers parse HTTP and call one method here; every SCIM rule (authentication of a Tenant URL,
the resource flow, ETags, list requests and responses, discovery, the Groups probes) lives here
or in the protocol core below it, and each method returns an :class:`~gateway.answer.Answer`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from adapters.base import Adapter, ResourceAdapter
from adapters.state import StateStore
from gateway.answer import Answer
from gateway.errors import NotFound, NotImplementedHere, Unauthorized
from gateway.activity.journal import refusal
from gateway.activity.recorder import ActivityRecorder
from gateway.resources import Origin, ResourceService
from gateway.scim import discovery
from gateway.scim.listing import list_response, parse_list_request
from adapters.schema import ResourceType
from gateway.tokens import InvalidToken, TokenCodec

#: Note: Entra ID's Test Connection and each provisioning cycle query ``/Groups`` while the group
#: mapping is on; anything but 200 with an empty ListResponse fails the test or quarantines the
#: job (Microsoft Learn: "Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
#: Test Connection; "Application provisioning in quarantine status"). Writes get a 501 telling the
#: admin what to do.
DISABLE_GROUPS = ("Vizmo does not provision groups. In the Entra ID enterprise application open "
                  "Provisioning > Mappings and set 'Provision Microsoft Entra ID Groups' to Enabled: No.")


class GatewayService:
    """SCIM operations of one gateway over its adapter, state store and token codec."""

    def __init__(self, *, adapter: Adapter, state: StateStore, tokens: TokenCodec, users: ResourceService,
                 resource_types: Mapping[str, ResourceType], base_url: str, max_results: int,
                 recorder: ActivityRecorder | None = None) -> None:
        self.recorder = recorder
        self.adapter = adapter
        self.state = state
        self.tokens = tokens
        self.users = users
        self.resource_types = resource_types
        self.base_url = base_url
        self.max_results = max_results

    def tenant_url(self, location: str) -> str:
        """A location's Tenant URL, from the configured origin (never from the request)."""
        return f"{self.base_url}/scim/v2/locations/{location}"

    # -- authentication -----------------------------------------------------------------------
    async def authenticate(self, location: str, authorization: str) -> None:
        """Accept only a valid, unrevoked Secret Token of ``location``.

        Every failure is the same 401, so the answer reveals neither which locations exist nor
        why the token failed (RFC 6750 §3.1). Token ids are compared in constant time.
        """
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(location) > 64:
            raise Unauthorized()
        try:
            claims = self.tokens.verify(token.strip())
        except InvalidToken:
            raise Unauthorized() from None
        if not hmac.compare_digest(claims.location_id.encode(), location.encode()):
            raise Unauthorized()
        active = await self.state.active_token_id(location)
        if active is None or not hmac.compare_digest(active.encode(), claims.token_id.encode()):
            raise Unauthorized()

    # -- users --------------------------------------------------------------------------------
    def _users(self, location: str) -> ResourceAdapter:
        return self.adapter.resource_adapter("User", location)

    async def list_users(self, location: str, params: Mapping[str, Any]) -> Answer:
        return await self.users.search(self._users(location), self.tenant_url(location), params)

    async def search_users(self, location: str, body: Any) -> Answer:
        return await self.users.search_body(self._users(location), self.tenant_url(location), body)

    async def get_user(self, location: str, id: str, params: Mapping[str, Any], if_none_match: str | None) -> Answer:
        return await self.users.get(self._users(location), id, self.tenant_url(location), params, if_none_match)

    async def create_user(self, location: str, body: Any, request_id: str) -> Answer:
        return await self.users.create(self._users(location), body, self.tenant_url(location),
                                       Origin(location, request_id))

    async def replace_user(self, location: str, id: str, body: Any, if_match: str | None, request_id: str) -> Answer:
        return await self.users.replace(self._users(location), id, body, self.tenant_url(location), if_match,
                                        Origin(location, request_id))

    async def patch_user(self, location: str, id: str, body: Any, if_match: str | None, request_id: str) -> Answer:
        return await self.users.patch(self._users(location), id, body, self.tenant_url(location), if_match,
                                      Origin(location, request_id))

    async def delete_user(self, location: str, id: str, if_match: str | None, request_id: str) -> Answer:
        return await self.users.delete(self._users(location), id, if_match, Origin(location, request_id))

    # -- the activity log (refusals; writes are recorded with the write) ------------------------
    def record_refusal(self, location: str, method: str, operation: str, status: int, scim_type: str | None,
                       request_id: str, *, resource_id: str | None = None, user_name: str | None = None) -> None:
        """Queue the activity entry of a refused request to ``location`` (appended off the
        request path; dropped there if the directory has no such location)."""
        if self.recorder is not None:
            self.recorder.record(refusal(location, method, operation, status, scim_type, request_id,
                                         resource_id=resource_id, user_name=user_name))

    # -- groups (probes only) -----------------------------------------------------------------
    def list_groups(self, params: Mapping[str, Any]) -> Answer:
        """An empty ListResponse, after the parameters are checked like any list request."""
        request = parse_list_request(params, self.resource_types["Group"], max_results=self.max_results)
        return Answer(200, list_response([], 0, request.query.start_index))

    @staticmethod
    def get_group(id: str) -> Answer:
        raise NotFound(f"Group {id[:200]} not found. {DISABLE_GROUPS}")

    @staticmethod
    def write_group() -> Answer:
        raise NotImplementedHere(DISABLE_GROUPS)

    # -- discovery (RFC 7644 §4) ---------------------------------------------------------------
    def service_provider_config(self, location: str) -> Answer:
        caps = self._users(location).capabilities
        return Answer(200, discovery.service_provider_config(caps, self.tenant_url(location)))

    def resource_type_documents(self, location: str, name: str | None) -> Answer:
        docs = [discovery.resource_type_document(self.users.rtype, self.tenant_url(location))]
        return Answer(200, _one_or_list(docs, name, key="name", kind="ResourceType"))

    def schema_documents(self, location: str, id: str | None) -> Answer:
        docs = discovery.schema_documents(self.users.rtype, self.tenant_url(location))
        return Answer(200, _one_or_list(docs, id, key="id", kind="Schema"))

    # -- health -------------------------------------------------------------------------------
    async def check_health(self) -> None:
        """Raises the adapter's error when the directory does not answer."""
        await self.adapter.check_health()


def _one_or_list(docs: list[dict[str, Any]], wanted: str | None, *, key: str, kind: str) -> dict[str, Any]:
    if not wanted:
        return list_response(docs, len(docs), 1)
    for doc in docs:
        if doc[key].lower() == wanted.lower():
            return doc
    raise NotFound(f"No {kind} {wanted[:200]!r}.")
