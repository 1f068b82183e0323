"""SCIM filter AST → LDAP search filter (RFC 7644 §3.4.2.2 → RFC 4515) and exact checks, pure.

Every filter is answered exactly or raises ``UnsupportedFilter``. Each node becomes a
:class:`~adapters.ldap.filter_parts.Part`: an LDAP filter matching at least its matches, one
matching at most them, and the exact test on the mapped resource. The search sends the first;
a top-level conjunct LDAP cannot answer exactly is then checked on each user read (so ``not`` of
such a node, and ``ne``, read every user of the location, up to ``max_scan``).

- String comparisons (:mod:`adapters.ldap.string_match`): the directory's matching rules ignore
  insignificant spaces (telephone numbers: all spaces and hyphens) and fold case their own way,
  so LDAP narrows and the mapped value decides. ``eq``/``co``/``sw``/``ew`` need the attribute's
  EQUALITY/SUBSTR rule, ``ge``/``le`` an ORDERING rule and ``gt``/``lt`` both. A value the
  attribute's syntax rejects matches nothing (an LDAP Undefined would survive ``!``); NUL is refused.
- ``cn``/``sn`` may hold a placeholder (inetOrgPerson requires them, see
  :mod:`adapters.ldap.mapping`) that the resource does not show: entries whose JSON value records
  one are never taken as exact matches by LDAP alone.
- ``id`` is ``entryUUID`` (canonical lower-case UUIDs; any other value matches nothing);
  ``meta.created``/``meta.lastModified`` are ``createTimestamp``/``modifyTimestamp`` (whole
  seconds); ``active`` is ``shadowExpire: 1``.
- A value path ``phoneNumbers[type eq "work" and value ...]`` on a mapped entry type is an LDAP
  filter, widened to the users whose extras keep a second entry of the type. What LDAP does not
  hold (the JSON extras: emails, addresses, nickName, ...; other
  sub-attributes of mapped entries, such as ``primary``) is decided by the SDK's evaluator
  (:func:`adapters.filter_eval.matches`) on every user read, up to ``max_scan``: Entra ID's Test
  Connection and matching may filter on a work email (``emails[type eq "work"].value eq ...``).
- Absent attributes match no comparison, ``ne`` matches them; ``eq ""`` matches nothing and
  ``co ""``/``sw ""``/``ew ""``/``gt ""``/``ge ""`` mean ``pr`` (as the SQL translator does).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any

from adapters.datetimes import parse_filter_datetime
from adapters.errors import UnsupportedFilter
from adapters.filter_eval import matches
from adapters.ldap.attributes import TYPED_ATTRIBUTES, AttributeMap, Mapped
from adapters.ldap.directory_schema import LdapAttributeType
from adapters.ldap.filter_parts import (FALSE, FALSE_PART, TRUE, TRUE_PART, Check, LdapFilter, Part, Resource, and_,
                                        escape, exact_part, not_, or_, part_and, part_not, part_or)
from adapters.ldap.mapping import BLOB_ATTRIBUTE, DERIVED, normalise_user_name
from adapters.ldap.string_match import Target, compare, present
from adapters.query import COMPARE_OPS, And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from adapters.schema import ResourceType

__all__ = ["ACTIVE_UNASSIGNED", "FALSE", "TRUE", "Check", "FilterTranslator", "LdapFilter", "and_", "escape",
           "not_", "or_"]

#: Entries whose ``active`` the last SCIM write left unassigned (``mapping.to_ldap`` keeps
#: ``"active":null`` in the JSON extras; no other JSON text can hold that unescaped).
ACTIVE_UNASSIGNED = '(description=*"active":null*)'
#: An ``entryUUID`` as slapd writes it: the form of an LDAP user's SCIM id.
ENTRY_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_META = {"createTimestamp": "created", "modifyTimestamp": "lastModified"}
_TIME_OPS = {"eq": operator.eq, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


#: The operators the adapter declares (its ``Capabilities.filter_ops``): the ones that work on
#: every mapped string attribute of the default schema, and on what LDAP does not hold.
DECLARED_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "pr"})


class _NotInLdap(UnsupportedFilter):
    """The node names what the directory does not hold (the JSON extras): decided on each user."""


def _operators(node: Filter) -> set[str]:
    if isinstance(node, Compare):
        return {node.op}
    if isinstance(node, Present):
        return {"pr"}
    if isinstance(node, (And, Or)):
        return _operators(node.left) | _operators(node.right)
    if isinstance(node, Not):
        return _operators(node.operand)
    return _operators(node.filter) if isinstance(node, ValuePath) else set()


def _flatten(node: Filter, kind: type) -> list[Filter]:
    items, stack = [], [node]
    while stack:  # no recursion on long chains
        item = stack.pop()
        if type(item) is kind:
            stack.extend((item.right, item.left))  # type: ignore[union-attr]
        else:
            items.append(item)
    return items


def _placeholder(ldap_key: str) -> str | None:
    """Entries whose JSON value may record a placeholder in ``ldap_key`` (``"sn":"..."`` appears
    unescaped only as a JSON key; a false positive only costs an exact check)."""
    return f'({BLOB_ATTRIBUTE}=*"{ldap_key}":"*)' if ldap_key in DERIVED else None


class FilterTranslator:
    """Translate filters for one attribute map and the directory's attribute types."""

    def __init__(self, amap: AttributeMap, types: Mapping[str, LdapAttributeType], scim: ResourceType, *,
                 max_nodes: int = 200, max_depth: int = 32, max_length: int = 32_768) -> None:
        self._amap, self._types, self._scim = amap, types, scim
        self._max_nodes, self._max_depth, self._max_length = max_nodes, max_depth, max_length

    def translate(self, node: Filter | None) -> LdapFilter:
        """The LDAP filter (``TRUE`` for no filter) and the checks its matches must pass."""
        if node is None:
            return LdapFilter(TRUE)
        self._nodes = 0
        parts = [self._node(item, 1) for item in _flatten(node, And)]
        text = and_([p.sup for p in parts])
        if len(text) > self._max_length:
            raise UnsupportedFilter("filter too complex")
        return LdapFilter(text, tuple(p.test for p in parts if not p.exact))

    # -- nodes ------------------------------------------------------------------------------
    def _count(self, depth: int) -> None:
        self._nodes += 1
        if depth > self._max_depth or self._nodes > self._max_nodes:
            raise UnsupportedFilter("filter too complex")

    def _node(self, node: Filter, depth: int) -> Part:
        self._count(depth)
        if isinstance(node, And):
            return part_and(self._node(item, depth + 1) for item in _flatten(node, And))
        if isinstance(node, Or):
            return part_or(self._node(item, depth + 1) for item in _flatten(node, Or))
        if isinstance(node, Not):
            return part_not(self._node(node.operand, depth + 1))
        try:
            return self._leaf(node, depth)
        except _NotInLdap:
            undeclared = _operators(node) - DECLARED_OPS
            if undeclared:
                raise UnsupportedFilter(f"{', '.join(sorted(undeclared))} is not supported on attributes kept "
                                        "in the JSON extras") from None
            # every user is a candidate; the evaluator decides on the mapped resource
            return Part(TRUE, FALSE, lambda resource: self._exact(node, resource))

    def _leaf(self, node: Filter, depth: int) -> Part:
        if isinstance(node, Present):
            return self._present(node.path)
        if isinstance(node, Compare):
            if node.op not in COMPARE_OPS:
                raise UnsupportedFilter(f"unknown operator {node.op!r}")
            if node.value is None:  # eq null is "not pr", ne null is "pr"
                if node.op not in ("eq", "ne"):
                    raise UnsupportedFilter(f"{node.op} cannot compare with null")
                found = self._present(node.path)
                return found if node.op == "ne" else part_not(found)
            return self._compare(node.path, node.op, node.value)
        if isinstance(node, ValuePath):
            return self._value_path(node, depth)
        raise UnsupportedFilter(f"unsupported filter node {type(node).__name__}")

    def _value_path(self, node: ValuePath, depth: int) -> Part:
        """``attr[type eq "<mapped type>" and <value conditions>]``: the mapped LDAP attribute."""
        if node.path.attr not in TYPED_ATTRIBUTES or node.path.sub_attr or node.path.urn:
            raise _NotInLdap(f"{node.path} is kept in the JSON extras")
        parts = _flatten(node.filter, And)
        kinds = [p for p in parts if isinstance(p, Compare) and p.path == AttrPath("type") and p.op == "eq"
                 and isinstance(p.value, str)]
        mapped = self._amap.typed.get((node.path.attr, str(kinds[0].value).lower())) if len(kinds) == 1 else None
        if mapped is None:
            raise _NotInLdap(f"{node.path}[...] names no type stored in its own LDAP attribute")
        target = self._typed_target(mapped)
        rest = [p for p in parts if p is not kinds[0]]
        first = part_and([present(target), *(self._element(target, p, depth + 1) for p in rest)])
        return part_or([first, self._later_of_type(node, node.path.attr, str(kinds[0].value).lower())])

    def _later_of_type(self, node: ValuePath, attr: str, kind: str) -> Part:
        """The entries after the first of a mapped type, kept whole in the JSON extras (the LDAP
        attribute holds the first's value only): users whose extras name the type twice under
        ``attr`` are read and decided by the evaluator (keys are sorted, so an attribute after
        ``attr`` naming the type too costs only that check; the blob matches case-insensitively)."""
        twice = f'"type":"{escape(kind)}"'
        text = f'({BLOB_ATTRIBUTE}=*"{escape(attr)}":[*{twice}*{twice}*)'
        return Part(text, FALSE, lambda resource: self._exact(node, resource))

    def _element(self, target: Target, node: Filter, depth: int) -> Part:
        """A condition inside a mapped value path: only ``value`` is addressable."""
        self._count(depth)
        if isinstance(node, (And, Or)):
            items = [self._element(target, p, depth + 1) for p in _flatten(node, type(node))]
            return part_and(items) if isinstance(node, And) else part_or(items)
        if isinstance(node, Not):
            return part_not(self._element(target, node.operand, depth + 1))
        if not isinstance(node, (Compare, Present)) or node.path.urn or node.path.sub_attr \
                or node.path.attr != "value":
            raise _NotInLdap("inside this value filter only 'value' is held by LDAP")
        if isinstance(node, Present):
            return present(target)
        if node.op not in COMPARE_OPS:
            raise UnsupportedFilter(f"unknown operator {node.op!r}")
        if node.value is None:
            if node.op not in ("eq", "ne"):
                raise UnsupportedFilter(f"{node.op} cannot compare with null")
            return present(target) if node.op == "ne" else part_not(present(target))
        return compare(target, node.op, node.value)

    # -- leaves -----------------------------------------------------------------------------
    def _present(self, path: AttrPath) -> Part:
        special = self._special(path)
        if special == "active":
            return exact_part(not_(ACTIVE_UNASSIGNED), lambda r: isinstance(r.get("active"), bool))
        if special is not None:
            return TRUE_PART  # id and the meta timestamps are always present
        return present(self._resolve(path))

    def _compare(self, path: AttrPath, op: str, value: Any) -> Part:
        special = self._special(path)
        if special == "id":
            return self._compare_id(op, value)
        if special == "active":
            if op not in ("eq", "ne") or not isinstance(value, bool):
                raise UnsupportedFilter("active takes eq/ne with true or false")
            disabled = "(shadowExpire=1)"
            text = and_([disabled if value is False else not_(disabled), not_(ACTIVE_UNASSIGNED)])
            equal = exact_part(text, lambda r: r.get("active") is value)
            return equal if op == "eq" else part_not(equal)
        if special is not None:
            return self._compare_time(special, op, value)
        return compare(self._resolve(path), op, value)

    def _compare_id(self, op: str, value: Any) -> Part:
        if op not in ("eq", "ne"):
            raise UnsupportedFilter(f"{op} is not supported on id")
        if not isinstance(value, str):
            raise UnsupportedFilter("id is a string: compare it with a string")
        eq = exact_part(f"(entryUUID={value})", lambda r: r.get("id") == value) if ENTRY_UUID.fullmatch(value) \
            else FALSE_PART
        return eq if op == "eq" else part_not(eq)

    def _compare_time(self, name: str, op: str, value: Any) -> Part:
        if op in ("co", "sw", "ew"):
            raise UnsupportedFilter(f"{op} is not supported on dateTime attributes")
        if not isinstance(value, str):
            raise UnsupportedFilter("meta timestamps are dateTime: compare them with an xsd:dateTime string")
        text, fraction = _generalized_time(value)
        if op == "ne":
            return part_not(self._compare_time(name, "eq", value))
        if fraction:  # stored values are whole seconds
            if op == "eq":
                return FALSE_PART
            op = {"gt": "gt", "ge": "gt", "lt": "le", "le": "le"}[op]
        key, compare_time = _META[name], _TIME_OPS[op]

        def test(resource: Resource) -> bool:
            stored = _stored_time(resource, key)
            return stored is not None and compare_time(stored, text)
        if op == "eq":
            return exact_part(f"({name}={text})", test)
        if op in ("ge", "le"):
            return exact_part(f"({name}{'>=' if op == 'ge' else '<='}{text})", test)
        return exact_part(f"(&({name}{'>=' if op == 'gt' else '<='}{text})(!({name}={text})))", test)

    # -- attribute resolution ---------------------------------------------------------------
    def _canonical(self, path: AttrPath) -> AttrPath:
        found = self._scim.locate(path)
        if found is None:
            raise UnsupportedFilter(f"unknown attribute {path}")
        return AttrPath(path.attr, path.sub_attr, found[0])

    def _special(self, path: AttrPath) -> str | None:
        """``"id"``, ``"active"`` or the LDAP timestamp name for the attributes mapped by rule."""
        path = self._canonical(path)
        if path.urn is None and path.sub_attr is None and path.attr in ("id", "active"):
            return path.attr
        if path.urn is None and path.attr == "meta":
            names = {"created": "createTimestamp", "lastModified": "modifyTimestamp"}
            if path.sub_attr not in names:
                raise UnsupportedFilter(f"{path} cannot be filtered in this directory")
            return names[path.sub_attr]
        return None

    def _resolve(self, path: AttrPath) -> Target:
        path = self._canonical(path)
        mapped = self._amap.simple.get(path)
        if mapped is None:
            if self._scim.attribute(path) is None:
                raise UnsupportedFilter(f"unknown attribute {path}")
            raise _NotInLdap(f"{path} is kept in the JSON extras")
        info = self._scim.attribute(mapped.path)
        if info is not None and mapped.path.sub_attr is not None:
            info = info.sub(mapped.path.sub_attr)
        assert info is not None
        path = mapped.path

        def read(resource: Resource) -> Any:
            holder = resource.get(path.urn) if path.urn else resource
            value = holder.get(path.attr) if isinstance(holder, dict) else None
            return value.get(path.sub_attr) if path.sub_attr and isinstance(value, dict) else value
        # userName's equality is its uniqueness (README): on LDAP the directory's matching rule,
        # which a create's check and the entry's DN follow (mapping.normalise_user_name).
        same = normalise_user_name if mapped is self._amap.user_name else None
        return Target(self._ldap(mapped), info, read, _placeholder(mapped.ldap_key), same)

    def _typed_target(self, mapped: Mapped) -> Target:
        """The ``value`` of the first entry of the mapped type (``mapping.from_ldap`` puts the
        LDAP value there)."""
        info = self._scim.attribute(mapped.path)
        sub = info.sub("value") if info is not None else None
        assert sub is not None
        attr, kind = mapped.path.attr, mapped.type

        def read(resource: Resource) -> Any:
            entries = resource.get(attr)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("type"), str) and entry["type"].lower() == kind:
                    return entry.get("value")
            return None
        return Target(self._ldap(mapped), sub, read, _placeholder(mapped.ldap_key))

    def _exact(self, node: Filter, resource: Resource) -> bool:
        """The exact test on a mapped user, by the User schema's case and dateTime rules."""
        return matches(node, resource, case_exact=self._scim.case_exact, date_time=self._scim.date_time)

    def _ldap(self, mapped: Mapped) -> LdapAttributeType:
        ldap = self._types.get(mapped.ldap_key)
        if ldap is None:
            raise UnsupportedFilter(f"{mapped.key} cannot be filtered: {mapped.ldap} is not in the directory schema")
        return ldap


def _stored_time(resource: Resource, key: str) -> str | None:
    """``meta.<key>`` (``YYYY-MM-DDTHH:MM:SSZ``, see ``mapping.generalized_to_iso``) as ``YYYYMMDDHHMMSSZ``."""
    meta = resource.get("meta")
    iso = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(iso, str) or len(iso) != 20:
        return None
    return iso[0:4] + iso[5:7] + iso[8:10] + iso[11:13] + iso[14:16] + iso[17:19] + "Z"


def _generalized_time(value: str) -> tuple[str, bool]:
    """An xsd:dateTime (RFC 7643 §2.3.5) as a GeneralizedTime ``YYYYMMDDHHMMSSZ`` in UTC, and
    whether it had a non-zero fraction of a second."""
    parsed, fraction = parse_filter_datetime(value, "meta timestamps")
    return (f"{parsed.year:04d}{parsed.month:02d}{parsed.day:02d}"
            f"{parsed.hour:02d}{parsed.minute:02d}{parsed.second:02d}Z"), fraction
