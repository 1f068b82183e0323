"""``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 §4).

Only what the gateway really serves is listed: the User resource type and its schemas
(Groups are answered for Entra ID's probes but not provisioned, so they are not advertised).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ScimError
from gateway.handlers.base import ScimHandler
from gateway.scim import discovery
from gateway.scim.listing import list_response


class ServiceProviderConfigHandler(ScimHandler):
    async def get(self, location: str) -> None:
        caps = self.resource_adapter("User").capabilities
        self.write_scim(200, discovery.service_provider_config(caps, self.tenant_base_url))


class ResourceTypesHandler(ScimHandler):
    async def get(self, location: str, name: str | None = None) -> None:
        docs = [discovery.resource_type_document(self.ctx.users.rtype, self.tenant_base_url)]
        self.write_scim(200, _one_or_list(docs, name, key="name", kind="ResourceType"))


class SchemasHandler(ScimHandler):
    async def get(self, location: str, id: str | None = None) -> None:
        docs = discovery.schema_documents(self.ctx.users.rtype, self.tenant_base_url)
        self.write_scim(200, _one_or_list(docs, id, key="id", kind="Schema"))


def _one_or_list(docs: list[dict[str, Any]], wanted: str | None, *, key: str, kind: str) -> dict[str, Any]:
    if not wanted:
        return list_response(docs, len(docs), 1)
    for doc in docs:
        if doc[key].lower() == wanted.lower():
            return doc
    raise ScimError(404, f"No {kind} {wanted[:200]!r}.")
