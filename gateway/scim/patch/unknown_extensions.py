"""Attributes of an extension the schema does not know (Note: Entra ID sends custom extension
attributes, ``urn:...:CustomExtensionName:2.0:User:attr``): stored under their URN exactly as
given, with key names matched case-insensitively (RFC 7643 §2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.json_copy import copy_json
from gateway.scim.patch.multi_valued import hashable


def existing_key(mapping: Mapping[str, Any], name: str) -> str:
    """The key of ``mapping`` equal to ``name`` ignoring case, else ``name`` (RFC 7643 §2.1)."""
    lowered = name.lower()
    return next((key for key in mapping if isinstance(key, str) and key.lower() == lowered), name)


def object_at(holder: dict[str, Any], key: str) -> dict[str, Any]:
    """``holder[key]`` as an object, created (or replacing a non-object) when needed."""
    if not isinstance(holder.get(key), dict):
        holder[key] = {}
    found: dict[str, Any] = holder[key]
    return found


def raw_write(resource: dict[str, Any], op: str, block: str, name: str, sub: str | None, value: Any) -> None:
    """Write ``block:name[.sub]`` of an extension the schema does not know, storing values as given."""
    holder = object_at(resource, block)
    if sub is None:
        _raw_set(op, holder, name, value)
        return
    key = existing_key(holder, name)
    obj = dict(holder[key]) if isinstance(holder.get(key), dict) else {}
    _raw_set(op, obj, sub, value)
    if obj:
        holder[key] = obj
    else:
        holder.pop(key, None)


def raw_remove(resource: dict[str, Any], block: str, name: str, sub: str | None) -> None:
    """Remove ``block:name[.sub]`` of an extension the schema does not know (no-op when absent)."""
    holder = resource.get(block)
    if not isinstance(holder, dict):
        return
    key = existing_key(holder, name)
    if sub is None:
        holder.pop(key, None)
    elif isinstance(holder.get(key), dict):
        holder[key].pop(existing_key(holder[key], sub), None)
        if not holder[key]:
            del holder[key]


def _raw_set(op: str, holder: dict[str, Any], name: str, value: Any) -> None:
    """Store ``value`` as given under ``name`` (an attribute of an unknown extension).

    ``null``/``""`` removes it; ``add`` appends to a list and merges into an object.
    """
    key = existing_key(holder, name)
    old = holder.get(key)
    if value is None or value == "":
        holder.pop(key, None)
    elif op == "add" and isinstance(old, list):
        items = value if isinstance(value, list) else [value]
        seen = {hashable(item) for item in old}
        added = []
        for item in items:
            marker = hashable(item)
            if marker not in seen:
                seen.add(marker)
                added.append(copy_json(item))
        holder[key] = old + added
    elif op == "add" and isinstance(old, dict) and isinstance(value, Mapping):
        holder[key] = {**old, **copy_json(dict(value))}
    else:
        holder[key] = copy_json(value)
