"""The request flow of a resource endpoint (RFC 7644 §3.3–§3.6): validate → canonicalise →
adapter → meta → projection, with the ETag rules of §3.14.

Pure of HTTP: each operation takes parsed values (query parameters, the JSON body, the
``If-Match``/``If-None-Match`` header text) and returns an :class:`~gateway.answer.Answer`.
Errors are raised as they are (the :class:`~gateway.scim.errors.ProtocolError` family or an
adapter's); the web
layer turns them into SCIM errors in one place (:func:`gateway.errors.scim_error_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from adapters.activity import Journal
from adapters.base import Resource, ResourceAdapter
from adapters.errors import AlreadyExists
from adapters.query import AttrPath
from adapters.schema import ResourceType
from gateway.activity.journal import ActivitySettings, write_journal
from gateway.activity.recorder import ActivityRecorder
from gateway.answer import Answer
from gateway.scim.errors import InvalidSyntax, InvalidValue
from gateway.scim.limits import Limits
from gateway.scim.listing import Projection, list_response, parse_list_request, parse_projection
from gateway.scim.patch import apply_patch
from gateway.scim.projection import project
from gateway.scim.validation import (
    canonicalise_resource,
    validate_patch_request,
    validate_resource,
    validate_schemas_member,
    validate_search_request,
)
from gateway.scim.versions import Preconditions


@dataclass(frozen=True)
class Origin:
    """Who asked for a write: the tenant and the request's id (the activity entry names both)."""

    tenant: str
    request_id: str


class ResourceService:
    """Operations on one resource type for one tenant's adapter (passed to each call)."""

    def __init__(self, rtype: ResourceType, *, max_results: int, limits: Limits = Limits(),
                 activity: ActivitySettings = ActivitySettings(), recorder: ActivityRecorder | None = None) -> None:
        self.rtype = rtype
        self.max_results = max_results
        self.limits = limits
        self.activity = activity
        self.recorder = recorder if activity.enabled else None

    # -- the activity log -----------------------------------------------------------------------
    def _journals(self, adapter: ResourceAdapter, origin: Origin | None,
                  operation: str) -> tuple[dict[str, Journal], Journal | None]:
        """The journal of a write: as the adapter's ``journal`` argument when it stores entries
        in its own write transaction (``Capabilities.journals_writes``), else to call after the
        write (its entry then goes to the log separately)."""
        if self.recorder is None or origin is None:
            return {}, None
        journal = write_journal(self.activity, origin.tenant, operation, origin.request_id)
        if adapter.capabilities.journals_writes:
            return {"journal": journal}, None
        return {}, journal

    def _record(self, later: Journal | None, before: Resource | None, after: Resource | None) -> None:
        if later is not None and self.recorder is not None:
            entry = later(before, after)
            if not entry.changes_nothing:
                self.recorder.record(entry)

    # -- answers ------------------------------------------------------------------------------
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

    def _written(self, status: int, resource: Resource, base_url: str, projection: Projection,
                 created: bool = False) -> Answer:
        """A write's answer: ``ETag`` (and a create's ``Location``) from the whole resource, the
        body as ``attributes``/``excludedAttributes`` ask (RFC 7644 §3.9)."""
        full = self._present(resource, base_url)
        headers = {"Location": full["meta"]["location"]} if created else {}
        if full["meta"].get("version"):
            headers["ETag"] = full["meta"]["version"]
        attributes, excluded = projection
        shown = project(full, self.rtype, attributes=attributes, excluded=excluded) if attributes or excluded \
            else full
        return Answer(status, shown, headers)

    def _canonical(self, body: Any) -> Resource:
        resource = canonicalise_resource(body, self.rtype)
        validate_resource(resource, self.rtype)
        self.limits.check_resource(resource)
        return resource

    # -- operations ---------------------------------------------------------------------------
    async def get(self, adapter: ResourceAdapter, id: str, base_url: str, params: Mapping[str, Any],
                  if_none_match: str | None = None, if_match: str | None = None) -> Answer:
        """RFC 7644 §3.4.1; ``If-None-Match`` naming the current version answers 304 (§3.14), an
        ``If-Match`` naming none 412. The ``ETag`` is the whole resource's, whatever
        ``attributes`` leave out of the body."""
        request = parse_list_request(params, self.rtype, max_results=self.max_results)
        resource = await adapter.get(id)
        version = _version(resource)
        headers = {"ETag": version} if version else {}
        if (if_match is not None or if_none_match is not None) \
                and Preconditions.parse(if_match, if_none_match).read_is_current(version):  # (rare: no work without)
            return Answer(304, None, headers)
        return Answer(200, self._present(resource, base_url, attributes=request.attributes,
                                         excluded=request.excluded), headers)

    async def search(self, adapter: ResourceAdapter, base_url: str, params: Mapping[str, Any]) -> Answer:
        """RFC 7644 §3.4.2: a ``ListResponse``; ``params`` from the query string or a ``.search`` body.
        A page holds at most the configured ``max_results`` and the adapter's own (its capabilities)."""
        request = parse_list_request(params, self.rtype,
                                     max_results=min(self.max_results, adapter.capabilities.max_results))
        if request.query.sort is not None and not adapter.capabilities.sort:
            # RFC 7644 §3.4.2.3: sorting is optional; the ServiceProviderConfig says sort.supported
            # is false, and the client is told so rather than given an unsorted page
            raise InvalidValue("sorting (sortBy) is not supported by this service provider: its "
                               "ServiceProviderConfig has sort.supported false; send the request without sortBy")
        page = await adapter.search(request.query)
        shown = [self._present(r, base_url, attributes=request.attributes, excluded=request.excluded)
                 for r in page.resources]
        return Answer(200, list_response(shown, page.total_results, request.query.start_index))

    async def search_body(self, adapter: ResourceAdapter, base_url: str, body: Any) -> Answer:
        """RFC 7644 §3.4.3: ``POST .search``, validated, then as :meth:`search`."""
        return await self.search(adapter, base_url, validate_search_request(body))

    async def create(self, adapter: ResourceAdapter, body: Any, base_url: str, origin: Origin | None = None,
                     params: Mapping[str, Any] | None = None) -> Answer:
        """RFC 7644 §3.3: 201 with ``Location`` and ``ETag``; ``params``' ``attributes`` and
        ``excludedAttributes`` shape the answer (§3.9), as for every write below."""
        projection = parse_projection(params, self.rtype)  # a bad one refused before the write
        validate_schemas_member(body, self.rtype)
        own, later = self._journals(adapter, origin, "create")
        stored = await adapter.create(self._canonical(body), **own)
        self._record(later, None, stored)
        return self._written(201, stored, base_url, projection, created=True)

    async def replace(self, adapter: ResourceAdapter, id: str, body: Any, base_url: str,
                      if_match: str | None, origin: Origin | None = None,
                      params: Mapping[str, Any] | None = None, if_none_match: str | None = None) -> Answer:
        """RFC 7644 §3.5.1. A PUT that changes nothing writes nothing, as a PATCH (below): its
        ``meta.version`` and ``lastModified`` stay, and no activity entry is made. Note: Okta
        re-sends the whole user with PUT on every profile push, most of them unchanged."""
        projection = parse_projection(params, self.rtype)
        validate_schemas_member(body, self.rtype)
        resource = self._canonical(body)
        own, later = self._journals(adapter, origin, "replace")
        current = await adapter.get(id)
        expected = Preconditions.parse(if_match, if_none_match).write_condition(_version(current))
        if (expected is None or expected.matches(_version(current))) \
                and _same_resource(_attributes(resource), _attributes(current)):
            return self._written(200, current, base_url, projection)  # (a stale If-Match goes on to the 412)
        replaced = await adapter.replace(id, resource, expected_version=expected, **own)
        self._record(later, current, replaced)
        return self._written(200, replaced, base_url, projection)

    async def patch(self, adapter: ResourceAdapter, id: str, body: Any, base_url: str,
                    if_match: str | None, origin: Origin | None = None,
                    params: Mapping[str, Any] | None = None, if_none_match: str | None = None) -> Answer:
        """RFC 7644 §3.5.2, through the adapter's ``modify``: the stored user is read and its
        version checked once per attempt, the operations are applied to it and the result
        validated once per attempt (it is canonical already: the PATCH engine canonicalises every
        path and value), and it is written unless nothing changed. An adapter runs the change
        again when the user changed under it (``ResourceAdapter.modify``), so no update is lost.
        """
        projection = parse_projection(params, self.rtype)
        conditions = Preconditions.parse(if_match, if_none_match)
        operations = validate_patch_request(body)
        self.limits.check_operations(operations)
        attempt: list[Resource] = []  # the last stored user the operations were applied to, and the result

        def change(current: Resource) -> Resource | None:
            try:
                applied = apply_patch(current, operations, self.rtype, max_values=self.limits.max_values)
                # Note: Entra ID re-sends unchanged values; a PATCH that changes nothing writes nothing.
                if _same_resource(applied, current):
                    return None
                validate_resource(_as_judged(applied, current), self.rtype)
                self.limits.check_resource(applied, before=current)
            except RecursionError:  # the body's depth, met inside the adapter's call: the client's, not its bug
                raise InvalidSyntax("The request body is nested too deeply.") from None
            attempt[:] = [current, applied]
            return applied

        try:
            patched = await self._modify(adapter, id, change, conditions, origin)
        except AlreadyExists:
            if attempt and _disables(*attempt):
                await self._modify(adapter, id, _disabled, conditions, origin)
            raise
        return self._written(200, patched, base_url, projection)

    async def _modify(self, adapter: ResourceAdapter, id: str, change: Callable[[Resource], Resource | None],
                      conditions: Preconditions, origin: Origin | None) -> Resource:
        """``adapter.modify`` with ``change``, and the write's activity entry: of the last stored
        user the change was applied to, when it changed something. ``If-None-Match`` is checked
        against each user read, in the adapter's write (``If-Match`` by the adapter)."""
        own, later = self._journals(adapter, origin, "patch")
        before: list[Resource] = []

        def recorded(current: Resource) -> Resource | None:
            conditions.refuse_write_to(_version(current))
            changed = change(current)
            if changed is not None:
                before[:] = [current]
            return changed

        modified = await adapter.modify(id, recorded, expected_version=conditions.if_match, **own)
        if before:
            self._record(later, before[0], modified)
        return modified

    async def delete(self, adapter: ResourceAdapter, id: str, if_match: str | None,
                     origin: Origin | None = None, if_none_match: str | None = None) -> Answer:
        """RFC 7644 §3.6: 204."""
        conditions = Preconditions.parse(if_match, if_none_match)
        own, later = self._journals(adapter, origin, "delete")
        before = await adapter.get(id) if later is not None or conditions.if_none_match is not None else None
        expected = conditions.if_match if before is None else conditions.write_condition(_version(before))
        await adapter.delete(id, expected_version=expected, **own)
        self._record(later, before, None)
        return Answer(204)


def _version(resource: Resource) -> str | None:
    """The stored ``meta.version`` (None for an adapter that keeps none)."""
    return (resource.get("meta") or {}).get("version")


def _attributes(resource: Resource) -> Resource:
    """What a PUT compares: the attributes, without those the service provider sets (``id``,
    ``meta``) and without ``schemas``, which follows from them: a stored user lists an extension
    the gateway does not serve (Okta's custom attributes), a canonical request does not, so every
    unchanged PUT of such a user wrote (an Okta review)."""
    return {key: value for key, value in resource.items() if key not in ("id", "meta", "schemas")}


def _same_resource(a: Resource, b: Resource) -> bool:
    """Whether two resources are equal and the same JSON too: ``1 == True == 1.0`` in Python, so
    a PATCH that changed only a value's type (``1`` to ``true``) answered 200 and wrote nothing
    (a PATCH review)."""
    return a == b and orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


def _disabled(current: Resource) -> Resource | None:
    """``active: false`` alone, for a PATCH that disables a user and was refused (409) for the
    userName it also changes. Note: Entra ID sends every differing attribute in one PATCH, so a
    leaver's ``active=false`` travelled with a rename onto an address another employee (a removed
    one too) holds, was refused with it every cycle, and the leaver stayed active, a visit host
    still able to sign in (an Entra review). The 409 is still answered (the rename stays refused,
    Entra keeps reporting it); RFC 7644 §3.5.2's all-or-nothing yields here."""
    return None if current.get("active") is False else {**current, "active": False}


def _disables(current: Resource, applied: Resource) -> bool:
    """Whether a PATCH turns an active (or unset) ``active`` to false while changing ``userName``."""
    return applied.get("active") is False and current.get("active") is not False \
        and applied.get("userName") != current.get("userName")


#: What validation reads for a ``userName`` a PATCH leaves as stored (:func:`_as_judged`).
_STORED_USER_NAME = "stored.as.it.is@vizmo.invalid"


def _as_judged(applied: Resource, current: Resource) -> Resource:
    """``applied`` as a PATCH's validation judges it: a ``userName`` the PATCH left as stored is
    not judged again. Note: the Vizmo portal may blank an employee's email (its schema allows
    ``''``): Entra's ``active=false`` for that leaver was refused, "userName must be a non-empty
    string", though it never touched userName (a PostgreSQL review)."""
    if "userName" in current and applied.get("userName") == current["userName"]:
        return {**applied, "userName": _STORED_USER_NAME}
    return applied
