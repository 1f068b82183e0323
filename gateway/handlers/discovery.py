"""``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 §4), and ``/Bulk``
(RFC 7644 §3.7) and ``/Me`` (§3.11), which the gateway does not offer."""

from __future__ import annotations

from typing import Any

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


class BulkHandler(ScimHandler):
    """Every method: a SCIM ``501`` (``bulk.supported`` is false), not the ``404`` of a path
    the protocol does not name."""

    def _bulk(self, *args: Any, **kwargs: Any) -> None:
        self.answer(self.service.bulk())

    get = post = put = patch = delete = options = _bulk  # type: ignore[assignment]


class MeHandler(ScimHandler):
    """``/Me`` and below, every method: a SCIM ``501``, as RFC 7644 §3.11 asks of a service
    provider without it (a ``404`` of an unknown path before)."""

    def _me(self, *args: Any, **kwargs: Any) -> None:
        self.answer(self.service.me())

    get = post = put = patch = delete = options = _me  # type: ignore[assignment]
