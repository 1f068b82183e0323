"""``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 §4)."""

from __future__ import annotations

from gateway.handlers.base import ScimHandler


class ServiceProviderConfigHandler(ScimHandler):
    async def get(self, location: str) -> None:
        self.answer(self.service.service_provider_config(self.tenant))


class ResourceTypesHandler(ScimHandler):
    async def get(self, location: str, name: str | None = None) -> None:
        self.answer(self.service.resource_type_documents(self.tenant, name))


class SchemasHandler(ScimHandler):
    async def get(self, location: str, id: str | None = None) -> None:
        self.answer(self.service.schema_documents(self.tenant, id))
