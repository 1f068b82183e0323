"""The one sentence a client gets when a body fails its JSON Schema (RFC 7644 §3.12 ``detail``).

The sentence names the failing attribute path as clients write it (``emails[0].primary must be a
boolean``, ``userName is required``, ``urn:...:User:manager is not a known attribute``). A schema
node may word its own complaint with this project's ``errorMessage`` annotation (a string, or an
object keyed by the failing keyword); JSON Schema itself ignores it.

When an instance has several errors, the one reported is the one ``jsonschema``'s ``best_match``
(4.26) picks, the sentences having been written against it: the shallowest in the instance, then
the greatest instance path, then one whose instance is not of its schema's ``type``, then the
first in the order a validator walks the schema (its keywords and ``properties`` in document
order, array items in order). The bundled schemas use no ``anyOf``/``oneOf``, so no error has a
context to descend into.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema_rs import ValidationError

__all__ = ["BODY", "describe_first_error"]

#: How a detail names the request body itself.
BODY = "The request body"

_TYPE_NAMES = {"object": "an object", "array": "an array", "integer": "an integer"}
_JSON_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer(),
}


def describe_first_error(schema: Mapping[str, Any], errors: Iterable[ValidationError], subject: str) -> str | None:
    """The sentence for the most relevant of ``errors`` (``None`` when there are none);
    ``subject`` names the instance itself (``"The request body"``)."""
    ranked = [(tuple(error.instance_path), _rank(schema, error), error) for error in errors]
    if not ranked:
        return None
    depth = min(len(path) for path, _, _ in ranked)
    path = max(path for path, _, _ in ranked if len(path) == depth)
    (_typed, _order, node), error = min(((rank, error) for at, rank, error in ranked if at == path),
                                        key=lambda item: item[0][:2])
    keyword = error.schema_path[-1]
    return _sentence(str(keyword), node, error.instance, list(path), error.message, subject)


def _rank(schema: Mapping[str, Any], error: ValidationError) -> tuple[bool, tuple[int, ...], Any]:
    """Whether the instance has its schema's ``type``, the error's position in the schema walk,
    and the schema node holding the failing keyword.

    The walk knows the keywords the bundled and derived schemas use: ``properties`` and ``items``
    step into the instance; ``allOf``, ``then`` and ``else`` do not; ``not``, ``contains`` and
    ``if`` report no inner errors.
    """
    node: Any = schema
    parent: Any = schema
    order: list[int] = []
    instance_path = list(error.instance_path)
    consumed = 0
    in_properties = False
    for segment in error.schema_path:
        parent = node
        if isinstance(node, Mapping):
            order.append(list(node).index(segment))
            if in_properties:  # a property name: one step into the instance
                consumed += 1
                in_properties = False
            elif segment == "items":  # the elements of an array, in order
                order.append(int(instance_path[consumed]))
                consumed += 1
            else:
                in_properties = segment == "properties"
        else:  # an index into allOf
            order.append(int(segment))
        node = parent[segment]
    return _has_type(parent, error.instance), tuple(order), parent


def _has_type(node: Any, instance: Any) -> bool:
    expected = node.get("type") if isinstance(node, Mapping) else None
    if expected is None:
        return False
    names = [expected] if isinstance(expected, str) else list(expected)
    return any(_JSON_TYPES[name](instance) for name in names if name in _JSON_TYPES)


def _sentence(keyword: str, node: Mapping[str, Any], instance: Any, parts: list[str | int], message: str,
              subject: str) -> str:
    if keyword == "required":
        missing = next(name for name in node["required"] if name not in instance)
        return f"{_render_path([*parts, missing])} is required"
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = node.get("properties", {})
        extra = sorted(key for key in instance if key not in known)
        if extra:
            return f"{_render_path([*parts, extra[0]])} is not a known attribute"
    where = _render_path(parts) or subject
    custom = node.get("errorMessage")
    if isinstance(custom, Mapping):
        custom = custom.get(keyword)
    if isinstance(custom, str):
        return f"{where} {custom}"
    value: Any = node[keyword]
    if keyword == "type":
        names = [_TYPE_NAMES.get(t, f"a {t}") for t in ([value] if isinstance(value, str) else value)]
        return f"{where} must be {' or '.join(names)}"
    if keyword == "enum":
        return f"{where} must be one of {', '.join(str(v) for v in value)}"
    if keyword == "const":
        return f"{where} must be {json.dumps(value)}"
    if keyword in ("minLength", "minItems") and value == 1:
        return f"{where} must not be empty"
    return f"{where} is invalid: {message}"


def _render_path(parts: Sequence[str | int]) -> str:
    """``["emails", 0, "primary"]`` -> ``emails[0].primary``; an extension URN is joined with ``:``."""
    out = ""
    after_urn = False
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not out:
            out = part
            after_urn = part.lower().startswith("urn:")
            continue
        else:
            out += f"{':' if after_urn else '.'}{part}"
        after_urn = False
    return out
