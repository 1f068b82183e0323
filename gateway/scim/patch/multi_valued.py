"""Elements of multi-valued attributes (RFC 7643 §2.4) as a PATCH changes them (RFC 7644 §3.5.2):
which element a value names, which holds no data, the one ``primary``, the element an ``eq``
filter describes, and an index that keeps adding many values linear."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.query import And, Compare, Filter
from adapters.schema import Attribute

#: Sub-attributes that qualify an element but carry no data of their own (RFC 7643 §2.4).
QUALIFIERS = frozenset({"type", "primary", "display"})


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
                self._by_key.setdefault(_index_key(element), []).append(element)
        return self._by_key.get(_index_key(new), [])

    def append(self, new: Any) -> None:
        self.elements.append(new)
        if self._by_key is not None:
            self._by_key.setdefault(_index_key(new), []).append(new)


def _index_key(element: Any) -> Any:
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
