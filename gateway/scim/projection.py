"""Attribute projection: ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5, §3.9)
and the ``returned`` characteristic of each attribute (RFC 7643 §7).

- ``returned: always`` attributes (``id``) and ``schemas`` are always kept; ``never``
  (``password``) are always removed; ``request`` only when named in ``attributes``.
- ``attributes`` keeps only what it names: a whole attribute, a sub-attribute
  (``name.givenName`` keeps ``name: {givenName}``; on a multi-valued attribute, in every
  element), an extension attribute (inside its extension object) or a whole schema by its URN.
- ``excludedAttributes`` removes what it names, except ``always`` attributes.
- Extension objects left empty are dropped, and extension URNs with no object in the result
  are removed from ``schemas``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from adapters.json_copy import copy_json
from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType, UnknownAttribute
from gateway.scim.filter import FilterSyntaxError, parse_attr_path
from gateway.scim.json_type import json_type

__all__ = ["parse_attribute_list", "project"]

_DROP: Final = object()
_Key = tuple[str, str]  # (schema key: "" for the core schema, else the lower-cased URN; lower-cased name)


@dataclass
class _Selection:
    """The paths of an ``attributes`` or ``excludedAttributes`` list, indexed for lookup."""

    schemas: set[str] = field(default_factory=set)
    #: attribute -> lower-cased sub-attribute names, or ``None`` for the whole attribute
    attrs: dict[_Key, set[str] | None] = field(default_factory=dict)

    def whole(self, key: _Key) -> bool:
        return key[0] in self.schemas or (key in self.attrs and self.attrs[key] is None)


def _schema_key(urn: str | None, rtype: ResourceType) -> str:
    return "" if urn is None or rtype.schema_for_urn(urn) is rtype.core else urn.lower()


def _selection(paths: Sequence[AttrPath], rtype: ResourceType) -> _Selection:
    selection = _Selection()
    for path in paths:
        if path.urn is None and path.sub_attr is None and ":" in path.attr:
            schema = rtype.schema_for_urn(path.attr)
            if schema is not None:
                selection.schemas.add(_schema_key(schema.id, rtype))
                continue
        key = (_schema_key(path.urn, rtype), path.attr.lower())
        if path.sub_attr is None:
            selection.attrs[key] = None
        elif key not in selection.attrs:
            selection.attrs[key] = {path.sub_attr.lower()}
        else:
            subs = selection.attrs[key]
            if subs is not None:
                subs.add(path.sub_attr.lower())
    return selection


def _core_attribute(rtype: ResourceType, name: str) -> Attribute | None:
    """The core or common (``id``, ``externalId``, ``meta``) attribute called ``name``."""
    try:
        path, attribute = rtype.resolve(AttrPath(name))
    except UnknownAttribute:
        return None
    return attribute if path.urn is None else None


def project(
    resource: Mapping[str, Any],
    rtype: ResourceType,
    *,
    attributes: Sequence[AttrPath] | None = None,
    excluded: Sequence[AttrPath] | None = None,
) -> dict[str, Any]:
    """A new dict with the attributes of ``resource`` a response may carry (RFC 7644 §3.4.2.5).

    ``attributes`` / ``excluded`` are canonical paths (see :func:`parse_attribute_list`); a path
    whose ``attr`` is a schema URN names the whole schema. The input is not modified.
    """
    include = _selection(attributes, rtype) if attributes is not None else None
    exclude = _selection(excluded or (), rtype)
    out: dict[str, Any] = {}
    schemas_key: str | None = None
    for name, value in resource.items():
        if name.lower() == "schemas":
            schemas_key = name
            out[name] = copy_json(value)
            continue
        schema = rtype.schema_for_urn(name) if ":" in name else None
        if schema is not None and schema is not rtype.core and isinstance(value, Mapping):
            key = schema.id.lower()
            block: dict[str, Any] = {}
            for sub_name, sub_value in value.items():
                attribute = schema.attribute(sub_name)
                kept = _project_attribute(sub_value, attribute, (key, sub_name.lower()), include, exclude)
                if kept is not _DROP:
                    block[sub_name] = kept
            if block:
                out[name] = block
            continue
        kept = _project_attribute(value, _core_attribute(rtype, name), ("", name.lower()), include, exclude)
        if kept is not _DROP:
            out[name] = kept
    if schemas_key is not None and isinstance(out[schemas_key], list):
        present = {key.lower() for key in out}
        out[schemas_key] = [
            urn for urn in out[schemas_key]
            if not _is_extension(urn, rtype) or str(urn).lower() in present
        ]
    return out


def _is_extension(urn: object, rtype: ResourceType) -> bool:
    if not isinstance(urn, str):
        return False
    schema = rtype.schema_for_urn(urn)
    return schema is not None and schema is not rtype.core


def _project_attribute(
    value: Any, attribute: Attribute | None, key: _Key, include: _Selection | None, exclude: _Selection
) -> Any:
    """The projected copy of one top-level attribute value, or ``_DROP``.

    An attribute the schema does not know is treated as ``returned: default``.
    """
    returned = attribute.returned if attribute is not None else "default"
    if returned == "never":
        return _DROP
    if returned == "always":
        return _copy_value(value, attribute, None, set(), requested=True)
    keep: set[str] | None = None
    requested = False
    if include is not None:
        if include.whole(key):
            requested = True
        elif key in include.attrs:
            keep = include.attrs[key]
        else:
            return _DROP
    elif returned == "request":
        return _DROP
    if exclude.whole(key):
        return _DROP
    drop = exclude.attrs.get(key) or set()
    return _copy_value(value, attribute, keep, drop, requested=requested)


def _copy_value(
    value: Any, attribute: Attribute | None, keep: set[str] | None, drop: set[str], *, requested: bool
) -> Any:
    """Copy ``value`` keeping the sub-attributes ``keep`` (all when ``None``) minus ``drop``.

    Complex values (or elements) emptied by the selection are dropped, as is the attribute when
    nothing of it remains.
    """
    elements = value if isinstance(value, list) else [value]
    if not any(isinstance(element, Mapping) for element in elements):
        if keep is not None:
            return _DROP  # a sub-attribute was asked for, but the value is not complex
        return copy_json(value)
    result: list[Any] = []
    for element in elements:
        if not isinstance(element, Mapping):
            if keep is None:
                result.append(copy_json(element))
            continue
        projected = _copy_element(element, attribute, keep, drop, requested=requested)
        if projected or not element:
            result.append(projected)
    if not result and any(elements):
        return _DROP
    return result if isinstance(value, list) else result[0]


def _copy_element(
    element: Mapping[str, Any], attribute: Attribute | None, keep: set[str] | None, drop: set[str], *, requested: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in element.items():
        sub = attribute.sub(name) if attribute is not None else None
        returned = sub.returned if sub is not None else "default"
        lowered = name.lower()
        if returned == "never":
            continue
        if returned != "always":
            if keep is not None and lowered not in keep:
                continue
            if keep is None and returned == "request" and not requested:
                continue
            if lowered in drop:
                continue
        out[name] = copy_json(value)
    return out


def parse_attribute_list(text: str | None, rtype: ResourceType) -> list[AttrPath] | None:
    """Parse an ``attributes`` / ``excludedAttributes`` query parameter (RFC 7644 §3.4.2.5).

    Splits at commas, ignores surrounding spaces and empty entries, and returns canonical paths
    (``rtype.resolve``); a schema URN alone becomes ``AttrPath(attr=<schema URN>)`` and names
    the whole schema; ``schemas`` is skipped (it is always returned). Returns ``None`` for a
    missing or empty parameter. Raises :class:`FilterSyntaxError` or
    :class:`~adapters.schema.UnknownAttribute` (both HTTP 400).
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise FilterSyntaxError(f"the attribute list must be a string, not {json_type(text)}")
    paths: list[AttrPath] = []
    for entry in text.split(","):
        entry = entry.strip(" ")
        if not entry or entry.lower() == "schemas":
            continue
        schema = rtype.schema_for_urn(entry)
        if schema is not None:
            path = AttrPath(attr=schema.id)
        else:
            path = rtype.resolve(parse_attr_path(entry))[0]
        if path not in paths:
            paths.append(path)
    return paths or None
