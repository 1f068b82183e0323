"""A PATCH value coerced to the type of the attribute it is written to (RFC 7643 §2.3, RFC 7644 §3.5.2).

``None`` means "unassign" (a ``null`` or ``""`` value); a complex value keeps ``None`` for a
sub-attribute the client asks to clear, so that a merge can remove it. Unknown and
never-returned sub-attributes are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.schema import Attribute
from gateway.scim.app_roles import plain_role
from gateway.scim.boolean_text import boolean_text
from gateway.scim.errors import InvalidValue
from gateway.scim.json_type import json_type, shown_json

__all__ = ["coerce", "coerce_complex", "coerce_scalar"]


def coerce(attr: Attribute, value: Any, label: str) -> Any:
    """The canonical value for ``attr`` (a list of elements if multi-valued); ``None`` = unassign."""
    if not attr.multi_valued:
        if attr.type == "complex":
            return coerce_complex(attr, value, label)
        return coerce_scalar(attr, value, label)
    if value is None or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    elements = [_coerce_element(attr, item, label) for item in items]
    return [e for e in elements if e is not None] or None


def _coerce_element(attr: Attribute, item: Any, label: str) -> Any:
    """One element of a multi-valued attribute; ``None`` drops it (empty, or an empty ``value``).
    An object with none of the attribute's sub-attributes (``{}``, ``{"a": 1}``) is refused, as a
    POST refuses it: dropped, it left nothing, and a ``replace`` unassigned the whole attribute
    (a fuzzing review: a user's emails gone)."""
    if attr.type != "complex":
        return coerce_scalar(attr, item, label)
    element = coerce_complex(attr, item, label)
    if element is None or ("value" in element and element["value"] is None):
        return None
    kept = {key: sub for key, sub in element.items() if sub is not None}
    if not kept and isinstance(item, Mapping) and not any(attr.sub(str(key)) is not None for key in item):
        raise InvalidValue(f"{label}: a value must hold at least one of its sub-attributes, "
                           f"{', '.join(sub.name for sub in attr.sub_attributes)}")
    return kept or None


def coerce_complex(attr: Attribute, value: Any, label: str) -> dict[str, Any] | None:
    """Canonical sub-attributes of one complex value; a ``None`` sub-value means "remove it".

    Note: Entra ID sends ``manager`` as a bare id or as ``[{"$ref": ..., "value": id}]``; a
    single-valued complex attribute with a ``value`` sub-attribute accepts both. Its app-role
    shapes of a ``roles`` element become plain roles (:mod:`gateway.scim.app_roles`).
    """
    if value is None or value == "":
        return None
    if isinstance(value, list) and not attr.multi_valued:
        if attr.sub("value") is None:  # only a reference (manager) comes as a one-element array
            raise InvalidValue(f"{label} is a complex attribute: its value must be an object, not an array")
        if len(value) > 1:
            raise InvalidValue(f"{label} is single-valued but {len(value)} values were given")
        return coerce_complex(attr, value[0], label) if value else None
    if isinstance(value, str) and attr.sub("value") is not None:
        value = {"value": value}
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{label} is a complex attribute: its value must be an object "
                           f"of sub-attributes, not {json_type(value)}")
    value = plain_role(attr, value)  # Note: Entra ID's app-role shapes
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.sub(str(key))
        # read-only (manager.displayName) and never-returned ones are ignored, as in a POST
        if sub is not None and not sub.never_returned and sub.mutability != "readOnly":
            out[sub.name] = coerce(sub, item, f"{label}.{sub.name}")
    return out


def coerce_scalar(attr: Attribute, value: Any, label: str) -> Any:
    """Coerce one simple value to ``attr.type`` (RFC 7643 §2.3); ``None``/``""`` mean unassign.

    Note: Entra ID (without ``aadOptscim062020``) sends booleans as ``"True"``/``"False"``; any
    case is accepted, other strings are ``invalidValue``. Any other value of the wrong JSON type
    (a number for a string attribute, say) is ``invalidValue``, as in a POST or PUT body.
    """
    if value is None or (value == "" and attr.type != "boolean"):  # "" is no boolean: a POST refuses it too
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    kind = attr.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        named = boolean_text(value)
        if named is not None:
            return named
        raise InvalidValue(f"{label} is a boolean: use true or false, not {shown_json(value)}")
    if kind in ("integer", "decimal"):
        if number and (kind == "decimal" or isinstance(value, int)):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip()) if kind == "integer" else float(value.strip())
            except ValueError:
                pass
        raise InvalidValue(f"{label} must be an {kind} number, not {shown_json(value)}")
    if kind == "complex":
        raise InvalidValue(f"{label} cannot hold a nested complex value")
    if isinstance(value, str):
        return value
    raise InvalidValue(f"{label} must be a string, not {json_type(value)}")
