"""Values for the PATCH engine: coercion against the schema and rules for multi-valued elements.

Pure helpers of :mod:`gateway.scim.patch` (RFC 7644 §3.5.2, RFC 7643 §2.2–§2.4). Coercion returns
``None`` for "unassign" (a ``null`` or ``""`` value), and complex values keep ``None`` for a
sub-attribute the client asks to clear, so that a merge can remove it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.json_copy import copy_json
from adapters.query import And, Compare, Filter
from adapters.schema import Attribute
from gateway.scim.errors import InvalidValue, Mutability

#: Sub-attributes that qualify an element but carry no data of their own (RFC 7643 §2.4).
QUALIFIERS = frozenset({"type", "primary", "display"})


# --- coercion -------------------------------------------------------------------------------------


def coerce(attr: Attribute, value: Any, label: str) -> Any:
    """The canonical value for ``attr`` (a list of elements if multi-valued); ``None`` = unassign.

    Unknown and never-returned sub-attributes are skipped.
    """
    if not attr.multi_valued:
        if attr.type == "complex":
            return coerce_complex(attr, value, label)
        return coerce_scalar(attr, value, label)
    if value is None or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    elements = [coerce_element(attr, item, label) for item in items]
    return [e for e in elements if e is not None] or None


def coerce_element(attr: Attribute, item: Any, label: str) -> Any:
    """One element of a multi-valued attribute; ``None`` drops it (empty, or an empty ``value``)."""
    if attr.type != "complex":
        return coerce_scalar(attr, item, label)
    element = coerce_complex(attr, item, label)
    if element is None or ("value" in element and element["value"] is None):
        return None
    return {key: sub for key, sub in element.items() if sub is not None} or None


def coerce_complex(attr: Attribute, value: Any, label: str) -> dict[str, Any] | None:
    """Canonical sub-attributes of one complex value; a ``None`` sub-value means "remove it".

    Note: Entra ID sends ``manager`` as a bare id or as ``[{"$ref": ..., "value": id}]``; a
    single-valued complex attribute with a ``value`` sub-attribute accepts both.
    """
    if value is None or value == "":
        return None
    if isinstance(value, list) and not attr.multi_valued:
        if len(value) > 1:
            raise InvalidValue(f"{label} is single-valued but {len(value)} values were given")
        return coerce_complex(attr, value[0], label) if value else None
    if isinstance(value, str) and attr.sub("value") is not None:
        value = {"value": value}
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{label} is a complex attribute: its value must be an object "
                           f"of sub-attributes, not {_json_type(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.sub(str(key))
        if sub is not None and not sub.never_returned:
            out[sub.name] = coerce(sub, item, f"{label}.{sub.name}")
    return out


def coerce_scalar(attr: Attribute, value: Any, label: str) -> Any:
    """Coerce one simple value to ``attr.type`` (RFC 7643 §2.3); ``None``/``""`` mean unassign.

    Note: Entra ID (without ``aadOptscim062020``) sends booleans as ``"True"``/``"False"``; any
    case is accepted, other strings are ``invalidValue``. Any other value of the wrong JSON type
    (a number for a string attribute, say) is ``invalidValue``, as in a POST or PUT body.
    """
    if value is None or value == "":
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    kind = attr.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidValue(f"{label} is a boolean: use true or false, not {value!r}")
    if kind in ("integer", "decimal"):
        if number and (kind == "decimal" or isinstance(value, int)):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip()) if kind == "integer" else float(value.strip())
            except ValueError:
                pass
        raise InvalidValue(f"{label} must be an {kind} number, not {value!r}")
    if kind == "complex":
        raise InvalidValue(f"{label} cannot hold a nested complex value")
    if isinstance(value, str):
        return value
    raise InvalidValue(f"{label} must be a string, not {_json_type(value)}")


def _json_type(value: Any) -> str:
    """The JSON name of ``value``'s type, for error details."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


# --- elements of multi-valued attributes ----------------------------------------------------------


def check_immutable(attr: Attribute, old: Any, new: Any, label: str) -> None:
    """RFC 7644 §3.5.2: an immutable attribute may get a first value, never a different one."""
    if attr.mutability.lower() == "immutable" and old not in (None, "", [], {}) and old != new:
        raise Mutability(f"{label}: {attr.name} is immutable and already has a value "
                         "(RFC 7643 §2.2)")


def is_vacant(attr: Attribute, element: Mapping[str, Any]) -> bool:
    """True when a complex value holds no data: empty, lacking its ``value``, or only qualifiers."""
    if not element or set(element) <= QUALIFIERS:
        return True
    return attr.sub("value") is not None and "value" not in element


def same_value(element: Any, wanted: Any) -> bool:
    """``element`` is the value ``wanted`` names: equal, or the same ``value`` (and ``type`` if given)."""
    if element == wanted:
        return True
    if not (isinstance(element, dict) and isinstance(wanted, dict)) or "value" not in wanted:
        return False
    return element.get("value") == wanted["value"] and wanted.get("type", element.get("type")) == element.get("type")


def fix_primary(elements: list[Any], touched: Sequence[Any]) -> None:
    """RFC 7644 §3.5.2: setting ``primary`` true on one value sets it false on the others."""
    chosen = None
    for element in touched:
        if isinstance(element, dict) and element.get("primary") is True:
            chosen = element
    for element in elements if chosen is not None else ():
        if element is not chosen and isinstance(element, dict) and element.get("primary") is True:
            element["primary"] = False


def eq_pairs(node: Filter) -> dict[str, Any] | None:
    """``{sub: value}`` for a filter of ``eq`` comparisons joined by ``and``; otherwise ``None``."""
    if isinstance(node, Compare):
        if node.op == "eq" and node.path.urn is None and node.path.sub_attr is None:
            return {node.path.attr: node.value}
        return None
    if isinstance(node, And):
        left, right = eq_pairs(node.left), eq_pairs(node.right)
        if left is None or right is None or any(left[k] != right[k] for k in left.keys() & right.keys()):
            return None
        return {**left, **right}
    return None


class ValueIndex:
    """The elements of a multi-valued attribute, indexed by their ``value`` sub-attribute (or the
    whole element when it has none), so that adding N values to M costs N + M, not N × M
    (a 12,000-operation PATCH once held a worker's event loop for 23 s).

    The index is built on the :data:`SCANS`-th lookup: the usual operation adds one or two
    values, for which a scan of the list costs less than building an index over it."""

    SCANS = 4

    def __init__(self, elements: list[Any]) -> None:
        self.elements = elements
        self._lookups = 0
        self._by_key: dict[Any, list[Any]] | None = None

    def candidates(self, new: Any) -> list[Any]:
        """The elements that can equal ``new`` or share its ``value``, in list order (for the
        first few lookups, simply all of them)."""
        self._lookups += 1
        if self._by_key is None:
            if self._lookups < self.SCANS:
                return self.elements
            self._by_key = {}
            for element in self.elements:
                self._by_key.setdefault(index_key(element), []).append(element)
        return self._by_key.get(index_key(new), [])

    def append(self, new: Any) -> None:
        self.elements.append(new)
        if self._by_key is not None:
            self._by_key.setdefault(index_key(new), []).append(new)


def index_key(element: Any) -> Any:
    """Equal elements, and dict elements with equal ``value``s, share a key (a merge keeps the
    ``value``, so a key never goes stale)."""
    if isinstance(element, dict) and "value" in element:
        return ("value", hashable(element["value"]))
    return ("whole", hashable(element))


def hashable(value: Any) -> Any:
    """A hashable stand-in, equal whenever the values are ``==`` (the merge's own test)."""
    if isinstance(value, dict):
        return frozenset((k, hashable(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value


# --- extensions the schema does not know ----------------------------------------------------------


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
        raw_set(op, holder, name, value)
        return
    key = existing_key(holder, name)
    obj = dict(holder[key]) if isinstance(holder.get(key), dict) else {}
    raw_set(op, obj, sub, value)
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


def raw_set(op: str, holder: dict[str, Any], name: str, value: Any) -> None:
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
