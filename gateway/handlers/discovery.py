"""``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 §4), and ``/Bulk``
(RFC 7644 §3.7) and ``/Me`` (§3.11), which the gateway does not offer."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import ProtocolError
from gateway.handlers.base import ScimHandler


class ServiceProviderConfigHandler(ScimHandler):
    async def get(self, location: str) -> None:
        self.answer(self.service.service_provider_config(self.tenant, self.request.query_arguments))


class ResourceTypesHandler(ScimHandler):
    async def get(self, location: str, name: str | None = None) -> None:
        self.answer(self.service.resource_type_documents(self.tenant, name, self.request.query_arguments))


class SchemasHandler(ScimHandler):
    async def get(self, location: str, id: str | None = None) -> None:
        self.answer(self.service.schema_documents(self.tenant, id, self.request.query_arguments))


class _NotOfferedHandler(ScimHandler):
    """An endpoint RFC 7644 names and the gateway does not offer: every method is the same SCIM
    ``501``, never a ``405`` offering methods that all answer ``501`` (after authentication for
    the methods a handler may define; TRACE and the like are answered before it, the same for
    every location)."""

    endpoint: ClassVar[str]

    def method_refusal(self) -> ProtocolError:
        return self.service.not_offered(self.endpoint)


class BulkHandler(_NotOfferedHandler):
    """``/Bulk`` (RFC 7644 §3.7): ``bulk.supported`` is false (it was the 404 of an unknown path)."""

    endpoint = "bulk"


class MeHandler(_NotOfferedHandler):
    """``/Me`` and below (RFC 7644 §3.11 asks a ``501`` of a service provider without it; it was
    a ``404`` of an unknown path)."""

    endpoint = "me"
