"""Discovery documents (RFC 7644 §4, RFC 7643 §5–§7), built from what is really supported.

The ServiceProviderConfig is derived from the adapter's declared :class:`Capabilities`, so it
never claims a feature that is not there.
"""

from __future__ import annotations

from typing import Any

from adapters.base import Capabilities
from adapters.schema import ResourceType

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
DOCS_URL = "https://github.com/vizmo/vizmo-scim-gateway#readme"


def service_provider_config(caps: Capabilities, base_url: str, max_results: int) -> dict[str, Any]:
    """RFC 7643 §5; ``filter.supported`` only when the adapter translates filters at all;
    ``max_results``: the most resources a page holds."""
    return {
        "schemas": [SPC_URN],
        "documentationUri": DOCS_URL,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": bool(caps.filter_ops), "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": caps.sort},
        "etag": {"supported": caps.etag},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Secret Token",
            "description": "The Secret Token of the location, sent as 'Authorization: Bearer <token>'.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "documentationUri": DOCS_URL,
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


def resource_type_document(rtype: ResourceType, base_url: str) -> dict[str, Any]:
    """RFC 7643 §6 with the gateway-owned ``meta``."""
    return {**rtype.to_json(),
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{rtype.name}"}}


def schema_documents(rtype: ResourceType, base_url: str) -> list[dict[str, Any]]:
    """RFC 7643 §7: the core schema and the extensions of a resource type."""
    schemas = [rtype.core] + [schema for schema, _ in rtype.extensions]
    return [{**s.to_json(), "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{s.id}"}}
            for s in schemas]
