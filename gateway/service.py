"""The request flow of a resource endpoint: validate → canonicalise → adapter → meta → projection.

Handlers stay thin: they parse HTTP and call a :class:`ResourceService` method. Every protocol
or adapter error is turned into a :class:`~gateway.errors.ScimError` here or in
:func:`~gateway.errors.from_adapter_error`, so nothing reaches the client as a 500 but a bug.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Iterator

from adapters.base import Resource, ResourceAdapter
from adapters.errors import AdapterError, VersionMismatch
from adapters.query import AttrPath
from adapters.schema import ResourceType
from gateway.errors import BadRequest, ScimError, from_adapter_error
from gateway.scim.errors import ProtocolError
from gateway.scim.limits import Limits
from gateway.scim.listing import ListRequest, list_response, parse_list_request
from gateway.scim.patch import apply_patch
from gateway.scim.projection import project
from gateway.scim.validation import (
    canonicalise_resource,
    validate_patch_request,
    validate_resource,
    validate_schemas_member,
)

#: How often a PATCH without If-Match is re-applied when a concurrent write got in between.
PATCH_ATTEMPTS = 16


@contextmanager
def scim_errors() -> Iterator[None]:
    """Translate protocol and adapter errors raised inside the block into SCIM errors."""
    try:
        yield
    except ProtocolError as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type) from None
    except RecursionError:  # a JSON body nested deeper than the code that walks it
        raise BadRequest("The request body is nested too deeply.", "invalidSyntax") from None
    except AdapterError as exc:
        raise from_adapter_error(exc) from None


class ResourceService:
    """Operations on one resource type (RFC 7644 §3.3–§3.6) for one tenant's adapter."""

    def __init__(self, rtype: ResourceType, *, max_results: int, limits: Limits = Limits()) -> None:
        self.rtype = rtype
        self.max_results = max_results
        self.limits = limits

    def _present(self, resource: Resource, base_url: str, *, attributes: list[AttrPath] | None = None,
                 excluded: list[AttrPath] | None = None) -> Resource:
        """Add the gateway-owned meta (RFC 7643 §3.1) and apply attribute projection."""
        meta = dict(resource.get("meta") or {})
        meta["resourceType"] = self.rtype.name
        meta["location"] = f"{base_url}{self.rtype.endpoint}/{resource['id']}"
        shown = {**resource, "meta": meta}
        for urn, name in self.rtype.never_returned:  # RFC 7643 §2.2: whatever an adapter kept
            if urn is None:
                shown.pop(name, None)
            elif isinstance(shown.get(urn), dict) and name in shown[urn]:
                shown[urn] = {k: v for k, v in shown[urn].items() if k != name}
        if attributes or excluded:
            shown = project(shown, self.rtype, attributes=attributes, excluded=excluded)
        return shown

    def _canonical(self, body: Any) -> Resource:
        resource = canonicalise_resource(body, self.rtype)
        validate_resource(resource, self.rtype)
        self.limits.check_resource(resource)
        return resource

    async def get(self, adapter: ResourceAdapter, id: str, base_url: str, params: Mapping[str, Any]) -> Resource:
        with scim_errors():
            request = parse_list_request(params, self.rtype, max_results=self.max_results)
            resource = await adapter.get(id)
            return self._present(resource, base_url, attributes=request.attributes, excluded=request.excluded)

    async def search(self, adapter: ResourceAdapter, base_url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with scim_errors():
            request: ListRequest = parse_list_request(params, self.rtype, max_results=self.max_results)
            page = await adapter.search(request.query)
            shown = [self._present(r, base_url, attributes=request.attributes, excluded=request.excluded)
                     for r in page.resources]
            return list_response(shown, page.total_results, request.query.start_index)

    async def create(self, adapter: ResourceAdapter, body: Any, base_url: str) -> Resource:
        with scim_errors():
            validate_schemas_member(body, self.rtype)
            created = await adapter.create(self._canonical(body))
            return self._present(created, base_url)

    async def replace(self, adapter: ResourceAdapter, id: str, body: Any, base_url: str,
                      if_match: str | None) -> Resource:
        with scim_errors():
            validate_schemas_member(body, self.rtype)
            replaced = await adapter.replace(id, self._canonical(body), if_match=if_match)
            return self._present(replaced, base_url)

    async def patch(self, adapter: ResourceAdapter, id: str, body: Any, base_url: str,
                    if_match: str | None) -> Resource:
        """RFC 7644 §3.5.2: get → apply → validate → replace guarded by the version read.

        Without ``If-Match`` a concurrent write makes the replace fail with a version mismatch
        and the PATCH is re-applied to the new state, so no update is lost silently.
        """
        with scim_errors():
            operations = validate_patch_request(body)
            self.limits.check_operations(operations)
            for attempt in range(PATCH_ATTEMPTS):
                current = await adapter.get(id)
                version = current.get("meta", {}).get("version")
                applied = apply_patch(current, operations, self.rtype, max_values=self.limits.max_values)
                # Note: Entra ID re-sends unchanged values; a PATCH that changes nothing writes nothing.
                if applied == current:
                    if if_match is not None and if_match.strip() != "*" and version not in _tags(if_match):
                        raise VersionMismatch(f"{self.rtype.name} {id} has changed: its current version is {version}")
                    return self._present(current, base_url)
                try:
                    replaced = await adapter.replace(id, self._canonical(applied), if_match=if_match or version)
                except VersionMismatch:
                    if if_match is not None:
                        raise
                    await asyncio.sleep(random.uniform(0, 0.002) * (attempt + 1))
                    continue
                return self._present(replaced, base_url)
            raise ScimError(409, f"{self.rtype.name} {id} is being changed by other requests; retry the PATCH.")

    async def delete(self, adapter: ResourceAdapter, id: str, if_match: str | None) -> None:
        with scim_errors():
            await adapter.delete(id, if_match=if_match)


def _tags(if_match: str) -> set[str]:
    return {tag.strip() for tag in if_match.split(",")}
