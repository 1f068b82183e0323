"""In-memory evaluation of a SCIM filter AST against a resource (RFC 7644 §3.4.2.2).

Used by the PATCH engine (which elements of ``emails`` match ``[type eq "work"]``), by the LDAP
adapter (which entries an LDAP filter widened for case or types really match) and
:func:`adapters.in_memory.search_in_memory`, and in tests as the oracle the SQL translation of an
adapter is checked against. The AST is expected
to be canonical (core attributes without a URN, extension attributes with theirs), but names
are looked up case-insensitively anyway.

Semantics:

- A multi-valued attribute matches when any of its values does; comparing a complex value
  (``emails eq "x"``, ``manager eq "id"``) compares its ``value`` sub-attribute.
- Strings compare with ``str.casefold`` unless ``case_exact(path)`` says otherwise; ``path``
  is absolute (``emails.type`` inside ``emails[...]``; ``emails.value`` for the implicit
  ``value`` of a complex attribute). ``gt``/``lt``/``ge``/``le`` are lexicographic on strings,
  chronological when both sides are xsd:dateTime strings (:func:`adapters.datetimes.parse_datetime`;
  so ``...34.000Z`` equals ``...34Z``) and, where ``date_time(path)`` is given, the attribute is
  a ``dateTime`` (a string attribute holding such text compares as text there, as in SQL),
  numeric on numbers; booleans support ``eq``/``ne`` only and values of different JSON types
  never match (except ``ne``).
- ``pr`` is true for a present value that is not null, ``""``, ``[]`` or ``{}`` (a complex
  value is present when one of its sub-attributes is). ``eq null`` is ``not pr``, ``ne null``
  is ``pr``.
- ``ne`` is true when the attribute is absent, or when any of its values differs.
- ``co``/``sw``/``ew`` match strings only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.datetimes import parse_datetime
from adapters.query import And, AttrPath, Compare, CompValue, Filter, Not, Or, Present, ValuePath

__all__ = ["matches", "member", "CaseExact", "DateTime"]

CaseExact = Callable[[AttrPath], bool]
DateTime = Callable[[AttrPath], bool]


def _never_exact(path: AttrPath) -> bool:
    return False


@dataclass(frozen=True)
class _Rules:
    case_exact: CaseExact
    date_time: DateTime | None


def matches(node: Filter, resource: Mapping[str, Any], *, case_exact: CaseExact = _never_exact,
            date_time: DateTime | None = None) -> bool:
    """Whether ``resource`` (a SCIM resource dict, or one element of a multi-valued attribute
    for an element-relative filter) satisfies the filter ``node``. With ``date_time`` (whether
    the attribute at a path is a ``dateTime``) two strings compare as moments only there, as an
    SQL store and :func:`adapters.in_memory.sort_resources` compare them; without it any two
    strings that are both xsd:dateTime values do."""
    return _eval(node, resource, None, _Rules(case_exact, date_time))


def _eval(node: Filter, container: Mapping[str, Any], parent: AttrPath | None, rules: _Rules) -> bool:
    if isinstance(node, Compare):
        return _compare(node, container, parent, rules)
    if isinstance(node, Present):
        return any(_is_present(v) for v in _lookup(container, node.path, parent))
    if isinstance(node, And):
        return _eval(node.left, container, parent, rules) and _eval(node.right, container, parent, rules)
    if isinstance(node, Or):
        return _eval(node.left, container, parent, rules) or _eval(node.right, container, parent, rules)
    if isinstance(node, Not):
        return not _eval(node.operand, container, parent, rules)
    if isinstance(node, ValuePath):
        for element in _lookup(container, node.path, parent):
            element_map = element if isinstance(element, Mapping) else {"value": element}
            if _eval(node.filter, element_map, node.path, rules):
                return True
        return False
    raise TypeError(f"not a filter node: {node!r}")


def member(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` with a case-insensitive name (RFC 7643 §2.1), or ``None``."""
    if name in mapping:
        return mapping[name]
    folded = name.casefold()
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return None


def _lookup(container: Mapping[str, Any], path: AttrPath, parent: AttrPath | None) -> list[Any]:
    """The non-null values ``path`` names in ``container``, multi-valued attributes flattened.

    Inside a value filter (``parent`` set) the path is relative to the element and its URN is
    ignored; otherwise a URN selects the extension object keyed by it.
    """
    if path.urn is not None and parent is None:
        block = member(container, path.urn)
        if not isinstance(block, Mapping):
            return []
        container = block
    value = member(container, path.attr)
    items = value if isinstance(value, list) else [value]
    if path.sub_attr is None:
        return [item for item in items if item is not None]
    found: list[Any] = []
    for item in items:
        if isinstance(item, Mapping):
            sub = member(item, path.sub_attr)
            found.extend(v for v in (sub if isinstance(sub, list) else [sub]) if v is not None)
    return found


def _is_present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(_is_present(v) for v in value)
    if isinstance(value, Mapping):
        return any(_is_present(v) for v in value.values())
    return True


def _absolute(path: AttrPath, parent: AttrPath | None) -> AttrPath:
    if parent is None:
        return path
    return AttrPath(attr=parent.attr, sub_attr=path.attr, urn=parent.urn)


def _compare(node: Compare, container: Mapping[str, Any], parent: AttrPath | None, rules: _Rules) -> bool:
    raw = _lookup(container, node.path, parent)
    if node.value is None:
        present = any(_is_present(v) for v in raw)
        return not present if node.op == "eq" else present if node.op == "ne" else False
    values: list[Any] = []
    implicit_value = False
    for item in raw:
        if isinstance(item, Mapping):
            item = member(item, "value")
            implicit_value = True
        if item is not None and not isinstance(item, (list, Mapping)):
            values.append(item)
    path = _absolute(node.path, parent)
    if implicit_value and path.sub_attr is None:
        path = AttrPath(attr=path.attr, sub_attr="value", urn=path.urn)
    exact = rules.case_exact(path) if isinstance(node.value, str) else True
    timed = None if rules.date_time is None else rules.date_time(path)
    if node.op == "ne":
        return not values or any(not _equal(v, node.value, exact, timed) for v in values)
    return any(_test(node.op, v, node.value, exact, timed) for v in values)


def _test(op: str, actual: Any, expected: CompValue, exact: bool, timed: bool | None) -> bool:
    if op == "eq":
        return _equal(actual, expected, exact, timed)
    if op in ("co", "sw", "ew"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        a, e = (actual, expected) if exact else (actual.casefold(), expected.casefold())
        return e in a if op == "co" else a.startswith(e) if op == "sw" else a.endswith(e)
    order = _order(actual, expected, exact, timed)
    if order is None:
        return False
    return {"gt": order > 0, "lt": order < 0, "ge": order >= 0, "le": order <= 0}[op]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(actual: Any, expected: CompValue, exact: bool, timed: bool | None) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if isinstance(actual, str) and isinstance(expected, str):
        order = _order(actual, expected, exact, timed)
        return order == 0
    return False


def _order(actual: Any, expected: CompValue, exact: bool, timed: bool | None) -> int | None:
    """-1, 0 or 1 comparing ``actual`` with ``expected``; ``None`` when they do not compare.
    Strings compare as moments where ``timed`` (None: wherever both are xsd:dateTime values)."""
    if _is_number(actual) and _is_number(expected):
        return (actual > expected) - (actual < expected)  # type: ignore[operator]
    if not isinstance(actual, str) or not isinstance(expected, str):
        return None
    left_dt, right_dt = (None, None) if timed is False else (parse_datetime(actual), parse_datetime(expected))
    if left_dt is not None and right_dt is not None:
        return (left_dt > right_dt) - (left_dt < right_dt)
    left, right = (actual, expected) if exact else (actual.casefold(), expected.casefold())
    return (left > right) - (left < right)
