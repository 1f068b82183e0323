"""List and ``.search`` requests: query parameters in, ``ListResponse`` out (RFC 7644 §3.4.2, §3.4.3).

Parameters arrive either as query-string text (GET) or as JSON values (POST ``/.search``);
both go through :func:`parse_list_request`. Every malformed value is a
:class:`~gateway.scim.errors.ProtocolError` (400), never an exception the client sees as a 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.query import AttrPath, ListQuery, SortSpec
from adapters.schema import ResourceType
from gateway.scim.canonical_filter import canonical_filter
from gateway.scim.errors import PATH_ERRORS, InvalidFilter, InvalidValue, reported_as
from gateway.scim.filter import parse_attr_path, parse_filter
from gateway.scim.projection import parse_attribute_list

LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@dataclass(frozen=True)
class ListRequest:
    """A parsed list request: the adapter query plus the projection the gateway applies."""

    query: ListQuery
    attributes: list[AttrPath] | None = None
    excluded: list[AttrPath] | None = None


#: The largest ``startIndex`` and ``count`` accepted (a 32-bit signed integer, as most SCIM
#: clients hold them); the same bound for the query string and the ``.search`` body.
MAX_INTEGER = 2**31 - 1


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


def _integer(name: str, value: Any) -> int | None:
    """A query integer from the query string (text) or a ``.search`` body (a JSON number)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{name} must be an integer, not {value!r}")
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):  # one sign at most ("--1" was a 500)
        value = int(value.strip()) if len(value) < 24 else MAX_INTEGER + 1
    if not isinstance(value, int):
        raise InvalidValue(f"{name} must be an integer, not {str(value)[:40]!r}")
    if abs(value) > MAX_INTEGER:
        raise InvalidValue(f"{name} must be at most {MAX_INTEGER}, not {str(value)[:24]}")
    return value


def parse_paths(name: str, value: Any, rtype: ResourceType) -> list[AttrPath] | None:
    """``attributes`` / ``excludedAttributes``: comma-separated text (query string) or a list of
    strings (``.search`` body), parsed by :func:`~gateway.scim.projection.parse_attribute_list`."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not all(isinstance(v, str) for v in value):
            raise InvalidValue(f"{name} must be a list of attribute names")
        value = ",".join(value)
    try:
        return parse_attribute_list(value, rtype)
    except PATH_ERRORS as exc:
        raise reported_as(InvalidValue, f"{name}: ", exc) from None


#: ``attributes`` and ``excludedAttributes`` (None: not asked).
Projection = tuple[list[AttrPath] | None, list[AttrPath] | None]


def parse_projection(params: Mapping[str, Any] | None, rtype: ResourceType) -> Projection:
    """``attributes`` and ``excludedAttributes`` of a request that answers one resource, a
    write's included (RFC 7644 §3.9: "on any operation that returns a resource")."""
    lowered = {k.lower(): v for k, v in (params or {}).items()}
    return (parse_paths("attributes", lowered.get("attributes"), rtype),
            parse_paths("excludedAttributes", lowered.get("excludedattributes"), rtype))


def parse_list_request(params: Mapping[str, Any], rtype: ResourceType, *, max_results: int) -> ListRequest:
    """Build a :class:`ListRequest` from ``filter``, ``sortBy``, ``sortOrder``, ``startIndex``,
    ``count``, ``attributes`` and ``excludedAttributes`` (names matched case-insensitively)."""
    lowered = {k.lower(): v for k, v in params.items()}
    filter_node = None
    filter_text = lowered.get("filter")
    if filter_text is not None:
        if not isinstance(filter_text, str):
            raise InvalidFilter("filter must be a string")
        try:
            filter_node = canonical_filter(parse_filter(filter_text), rtype)
        except PATH_ERRORS as exc:
            raise reported_as(InvalidFilter, "invalid filter: ", exc) from None
    sort = None
    order = lowered.get("sortorder") or "ascending"  # checked with or without sortBy, as .search's schema does
    if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be 'ascending' or 'descending'")
    sort_by = lowered.get("sortby")
    if sort_by:
        if not isinstance(sort_by, str):
            raise InvalidValue("sortBy must be an attribute name")
        try:
            path = rtype.filterable(parse_attr_path(sort_by.strip()))[0]
        except PATH_ERRORS as exc:
            raise reported_as(InvalidValue, "sortBy: ", exc) from None
        sort = SortSpec(path=path, descending=order.lower() == "descending")
    start_index = _integer("startIndex", lowered.get("startindex"))
    if start_index is not None and start_index < 1:
        raise InvalidValue(f"startIndex is 1-based and must be 1 or more, not {start_index}")
    count = _integer("count", lowered.get("count"))
    if count is not None and count < 0:
        raise InvalidValue(f"count must be 0 or more, not {count}")
    if count is None:
        count = max_results
    return ListRequest(
        query=ListQuery(filter=filter_node, sort=sort, start_index=start_index or 1,
                        count=min(count, max_results)),
        attributes=parse_paths("attributes", lowered.get("attributes"), rtype),
        excluded=parse_paths("excludedAttributes", lowered.get("excludedattributes"), rtype),
    )


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """The ``ListResponse`` message (RFC 7644 §3.4.2): ``Resources`` is present even when empty,
    because Note: Entra ID's Test Connection expects ``"Resources": []`` for a miss."""
    return {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
