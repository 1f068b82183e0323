"""Ordering and paging of LDAP search results in the adapter (RFC 7644 §3.4.2.3, §3.4.2.4).

LDAP cannot count matches, so the adapter reads every match of a filter anyway; ordering them
here costs nothing more and needs no server-side sort control (RFC 2891), which many servers
lack. The default order — oldest first (``createTimestamp``), then ``id`` — is stable between
requests, so pages do not overlap. ``sortBy`` follows RFC 7644 §3.4.2.3: strings compare by
their SCIM ``caseExact`` (case-folded otherwise), resources without a value sort last ascending
and first descending, a multi-valued attribute sorts by its primary (else first) value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timezone
from typing import Any

from adapters.datetimes import parse_datetime
from adapters.errors import InvalidValue
from adapters.query import AttrPath, SortSpec
from adapters.schema import Attribute, ResourceType

Resource = dict[str, Any]


def _default_key(resource: Resource) -> tuple[str, str]:
    meta = resource.get("meta") or {}
    return (str(meta.get("created") or ""), str(resource.get("id") or ""))


def _datetime_key(value: str) -> str:
    parsed = parse_datetime(value)
    return value if parsed is None else parsed.astimezone(timezone.utc).isoformat()


class Sorter:
    """Sort keys for the attributes of one resource type."""

    def __init__(self, scim: ResourceType) -> None:
        self._scim = scim

    def _resolve(self, path: AttrPath) -> tuple[AttrPath, Attribute, Attribute | None]:
        found = self._scim.locate(path)
        if found is None:
            raise InvalidValue(f"cannot sort on unknown attribute {path}")
        urn, info = found
        if info.never_returned:
            raise InvalidValue(f"cannot sort on {path}")
        sub: Attribute | None = None
        if info.type == "complex":
            sub = info.sub(path.sub_attr or "value")
            if sub is None:
                raise InvalidValue(f"cannot sort on the complex attribute {path}")
        elif path.sub_attr is not None:
            raise InvalidValue(f"cannot sort on the unknown sub-attribute {path}")
        return AttrPath(info.name, None, urn), info, sub

    def key_function(self, path: AttrPath) -> Any:
        """A function giving ``None`` (no value) or a comparable key for a resource."""
        top, info, sub = self._resolve(path)
        leaf = sub or info

        def key(resource: Resource) -> Any:
            holder = resource.get(top.urn) if top.urn else resource
            value = holder.get(top.attr) if isinstance(holder, dict) else None
            if info.multi_valued:
                items = value if isinstance(value, list) else []
                if info.type == "complex":
                    items = [i for i in items if isinstance(i, dict)]
                    primary = next((i for i in items if i.get("primary") is True), None)
                    value = (primary or (items[0] if items else {})).get(leaf.name)
                else:
                    value = items[0] if items else None
            elif sub is not None:
                value = value.get(sub.name) if isinstance(value, dict) else None
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                return (0, int(value))
            if isinstance(value, (int, float)):
                return (0, value)
            text = str(value)
            if leaf.type == "dateTime":
                return (1, _datetime_key(text))
            return (1, text if leaf.case_exact else text.casefold())
        return key

    def order(self, resources: Sequence[Resource], sort: SortSpec | None) -> list[Resource]:
        """``resources`` in the default order, then by ``sort`` (a stable sort)."""
        ordered = sorted(resources, key=_default_key)
        if sort is None:
            return ordered
        key = self.key_function(sort.path)
        keyed = [(key(r), r) for r in ordered]
        present = [(k, r) for k, r in keyed if k is not None]
        absent = [r for k, r in keyed if k is None]
        try:
            present.sort(key=lambda kr: kr[0], reverse=sort.descending)
        except TypeError:  # values of mixed types: order by type first
            present.sort(key=lambda kr: (type(kr[0][1]).__name__, kr[0]), reverse=sort.descending)
        values = [r for _, r in present]
        return absent + values if sort.descending else values + absent
