"""SCIM filter AST → LDAP search filter (RFC 7644 §3.4.2.2 → RFC 4515), pure.

What can be expressed exactly is translated; everything else raises ``UnsupportedFilter``:

- Mapped attributes compare with the directory's matching rules: ``eq``/``ne`` need an EQUALITY
  rule, ``co``/``sw``/``ew`` a SUBSTR rule, ``ge``/``le`` an ORDERING rule and ``gt``/``lt`` both
  (``(&(a>=v)(!(a=v)))``). Case-insensitive SCIM attributes therefore rely on rules such as
  ``caseIgnoreMatch``/``caseIgnoreIA5Match`` (which also ignore insignificant spaces, RFC 4518).
- A value the attribute's syntax rejects cannot equal a stored value: the comparison is decided
  here (an LDAP Undefined would survive ``!``). A NUL character is rejected outright.
- ``caseExact`` SCIM attributes (``externalId``) mapped to a case-insensitive LDAP attribute are
  filtered by LDAP (a superset; every entry for ``ne``) and then checked exactly on the mapped
  resource; this works for ``eq``/``ne``/``co``/``sw``/``ew`` on the top level and inside
  ``and``, not under ``or``/``not``.
- ``id`` is ``entryUUID`` (canonical lower-case UUIDs; any other value matches nothing);
  ``meta.created``/``meta.lastModified`` are ``createTimestamp``/``modifyTimestamp`` (whole
  seconds); ``active`` is ``shadowExpire: 1``.
- A value path ``phoneNumbers[type eq "work" and value ...]`` works for a mapped entry type; the
  JSON extras (emails, addresses, ...) cannot be filtered, nor can sub-attributes other than
  ``type``/``value`` of mapped entries.
- Absent attributes match no comparison, ``ne`` matches them; ``eq ""`` matches nothing and
  ``co ""``/``sw ""``/``ew ""``/``gt ""``/``ge ""`` mean ``pr`` (as the SQL translator does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.datetimes import parse_filter_datetime
from adapters.errors import UnsupportedFilter
from adapters.ldap.attributes import TYPED_ATTRIBUTES, AttributeMap, Mapped
from adapters.ldap.directory_schema import LdapAttributeType
from adapters.query import COMPARE_OPS, And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from adapters.schema import Attribute, ResourceType

TRUE = "(objectClass=*)"
#: Entries whose ``active`` the last SCIM write left unassigned (``mapping.to_ldap`` keeps
#: ``"active":null`` in the JSON extras; no other JSON text can hold that unescaped).
ACTIVE_UNASSIGNED = '(description=*"active":null*)'
FALSE = "(!(objectClass=*))"
Resource = dict[str, Any]
Check = Callable[[Resource], bool]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Matching rules (names and OIDs, lower-case) that compare case-sensitively.
_CASE_EXACT_RULES = frozenset({
    "caseexactmatch", "2.5.13.5", "caseexactia5match", "1.3.6.1.4.1.1466.109.114.1", "octetstringmatch",
    "2.5.13.17", "caseexactsubstringsmatch", "2.5.13.7", "caseexactia5substringsmatch",
    "1.3.6.1.4.1.4203.1.2.1", "caseexactorderingmatch", "2.5.13.6", "octetstringorderingmatch", "2.5.13.18",
})


def escape(value: str) -> str:
    """An RFC 4515 §3 assertion value: ``*``, ``(``, ``)``, ``\\``, NUL and every byte outside
    printable ASCII as ``\\XX`` (UTF-8); raises ``UnsupportedFilter`` for non-Unicode text."""
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedFilter("filter value is not valid Unicode text") from None
    return "".join(f"\\{b:02x}" if b < 0x20 or b > 0x7e or b in b"*()\\" else chr(b) for b in raw)


def and_(parts: list[str]) -> str:
    if FALSE in parts:
        return FALSE
    parts = [p for p in parts if p != TRUE]
    return TRUE if not parts else parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"


def or_(parts: list[str]) -> str:
    if TRUE in parts:
        return TRUE
    parts = [p for p in parts if p != FALSE]
    return FALSE if not parts else parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def not_(part: str) -> str:
    return FALSE if part == TRUE else TRUE if part == FALSE else f"(!{part})"


@dataclass(frozen=True)
class LdapFilter:
    """The LDAP filter and the exact checks the matches must also pass."""

    text: str
    checks: tuple[Check, ...] = ()

    def matches(self, resource: Resource) -> bool:
        return all(check(resource) for check in self.checks)


@dataclass(frozen=True)
class _Attr:
    """A SCIM attribute held in one LDAP attribute; ``read`` gets its SCIM value for checks."""

    ldap: LdapAttributeType
    info: Attribute
    read: Callable[[Resource], Any]


def _flatten(node: Filter, kind: type) -> list[Filter]:
    items, stack = [], [node]
    while stack:  # no recursion on long chains
        item = stack.pop()
        if type(item) is kind:
            stack.extend((item.right, item.left))  # type: ignore[union-attr]
        else:
            items.append(item)
    return items


class FilterTranslator:
    """Translate filters for one attribute map and the directory's attribute types."""

    def __init__(self, amap: AttributeMap, types: Mapping[str, LdapAttributeType], scim: ResourceType, *,
                 max_nodes: int = 200, max_depth: int = 32, max_length: int = 32_768) -> None:
        self._amap, self._types, self._scim = amap, types, scim
        self._max_nodes, self._max_depth, self._max_length = max_nodes, max_depth, max_length

    def translate(self, node: Filter | None) -> LdapFilter:
        """The LDAP filter matching what ``node`` matches (``TRUE`` for no filter)."""
        if node is None:
            return LdapFilter(TRUE)
        self._nodes = 0
        checks: list[Check] = []
        conjuncts = _flatten(node, And)
        text = and_([self._node(item, 1, checks) for item in conjuncts])
        if len(text) > self._max_length:
            raise UnsupportedFilter("filter too complex")
        return LdapFilter(text, tuple(checks))

    # -- nodes ------------------------------------------------------------------------------
    def _node(self, node: Filter, depth: int, checks: list[Check] | None) -> str:
        """``checks`` is a list while ``node`` is a top-level conjunct (exact checks allowed)."""
        self._nodes += 1
        if depth > self._max_depth or self._nodes > self._max_nodes:
            raise UnsupportedFilter("filter too complex")
        if isinstance(node, And):
            return and_([self._node(item, depth + 1, checks) for item in _flatten(node, And)])
        if isinstance(node, Or):
            return or_([self._node(item, depth + 1, None) for item in _flatten(node, Or)])
        if isinstance(node, Not):
            return not_(self._node(node.operand, depth + 1, None))
        if isinstance(node, Present):
            return self._present(node.path)
        if isinstance(node, Compare):
            if node.op not in COMPARE_OPS:
                raise UnsupportedFilter(f"unknown operator {node.op!r}")
            if node.value is None:  # eq null is "not pr", ne null is "pr"
                if node.op not in ("eq", "ne"):
                    raise UnsupportedFilter(f"{node.op} cannot compare with null")
                present = self._present(node.path)
                return present if node.op == "ne" else not_(present)
            return self._compare(node.path, node.op, node.value, checks)
        if isinstance(node, ValuePath):
            return self._value_path(node, depth, checks)
        raise UnsupportedFilter(f"unsupported filter node {type(node).__name__}")

    def _value_path(self, node: ValuePath, depth: int, checks: list[Check] | None) -> str:
        """``attr[type eq "<mapped type>" and <value conditions>]``: the mapped LDAP attribute."""
        if node.path.attr not in TYPED_ATTRIBUTES or node.path.sub_attr or node.path.urn:
            raise UnsupportedFilter(f"{node.path} cannot be filtered in this directory")
        parts = _flatten(node.filter, And)
        kinds = [p for p in parts if isinstance(p, Compare) and p.path == AttrPath("type") and p.op == "eq"
                 and isinstance(p.value, str)]
        mapped = self._amap.typed.get((node.path.attr, str(kinds[0].value).lower())) if len(kinds) == 1 else None
        if mapped is None:
            raise UnsupportedFilter(f"{node.path}[...] is only filterable with 'type eq' naming a type stored "
                                    f"in its own LDAP attribute ({', '.join(sorted(self._amap.typed_types(node.path.attr))) or 'none'})")
        target = self._attr(mapped, node.path.attr)
        rest = [p for p in parts if p is not kinds[0]]
        element = _ElementResolver(target)
        translated = [element.translate(self, p, depth + 1) for p in rest]
        return and_([f"({target.ldap.name}=*)", *translated])

    # -- leaves -----------------------------------------------------------------------------
    def _present(self, path: AttrPath) -> str:
        special = self._special(path)
        if special == "active":
            return not_(ACTIVE_UNASSIGNED)
        if special is not None:
            return TRUE  # id and the meta timestamps are always present
        target = self._resolve(path)
        return f"({target.ldap.name}=*)"

    def _compare(self, path: AttrPath, op: str, value: Any, checks: list[Check] | None) -> str:
        special = self._special(path)
        if special == "id":
            return self._compare_id(op, value)
        if special == "active":
            if op not in ("eq", "ne") or not isinstance(value, bool):
                raise UnsupportedFilter("active takes eq/ne with true or false")
            disabled = "(shadowExpire=1)"
            equal = and_([disabled if value is False else not_(disabled), not_(ACTIVE_UNASSIGNED)])
            return equal if op == "eq" else not_(equal)
        if special is not None:
            return self._compare_time(special, op, value)
        return self.compare_attr(self._resolve(path), op, value, checks)

    def compare_attr(self, target: _Attr, op: str, value: Any, checks: list[Check] | None) -> str:
        """``target op value`` for a non-null value, on one LDAP attribute."""
        name, ldap = target.ldap.name, target.ldap
        if not isinstance(value, str):
            raise UnsupportedFilter(f"{target.info.name} is a string: compare it with a string")
        if "\x00" in value:
            raise UnsupportedFilter("a NUL character is not supported in filter values")
        if target.info.case_exact:
            if op not in ("eq", "ne", "co", "sw", "ew") or checks is None:
                raise UnsupportedFilter(f"{target.info.name} is case-exact: only eq/ne/co/sw/ew, "
                                        "not combined with or/not, can be filtered in this directory")
            if op == "ne":  # every entry is a candidate; the exact check decides
                checks.append(_exact_check(target.read, op, value))
                return TRUE
            if not self._rule_exact(ldap.equality if op == "eq" else ldap.substring):
                checks.append(_exact_check(target.read, op, value))
        if op == "ne":
            return not_(self.compare_attr(target, "eq", value, checks))
        rule = {"eq": ldap.equality, "co": ldap.substring, "sw": ldap.substring, "ew": ldap.substring,
                "ge": ldap.ordering, "le": ldap.ordering, "gt": ldap.ordering, "lt": ldap.ordering}[op]
        if rule is None or (op in ("gt", "lt") and ldap.equality is None):
            raise UnsupportedFilter(f"{op} is not supported on {target.info.name}: the directory has no "
                                    f"matching rule for it on {name}")
        if value == "":  # "" is absent: nothing equals it, every present value contains it
            return FALSE if op in ("eq", "lt", "le") else f"({name}=*)"
        valid = ldap.accepts(value)
        if valid is None:
            raise UnsupportedFilter(f"{target.info.name} cannot be filtered: unknown syntax of {name}")
        if not valid:  # no stored value can match; ordering against an invalid value is undecidable
            if op in ("eq", "co", "sw", "ew"):
                return FALSE
            raise UnsupportedFilter(f"{value!r} is not a valid value of {name}")
        v = escape(value)
        if op == "eq":
            return f"({name}={v})"
        if op in ("co", "sw", "ew"):
            return {"co": f"({name}=*{v}*)", "sw": f"({name}={v}*)", "ew": f"({name}=*{v})"}[op]
        if op in ("ge", "le"):
            return f"({name}{'>=' if op == 'ge' else '<='}{v})"
        return f"(&({name}{'>=' if op == 'gt' else '<='}{v})(!({name}={v})))"

    def _compare_id(self, op: str, value: Any) -> str:
        if op not in ("eq", "ne"):
            raise UnsupportedFilter(f"{op} is not supported on id")
        if not isinstance(value, str):
            raise UnsupportedFilter("id is a string: compare it with a string")
        eq = f"(entryUUID={value})" if _UUID.fullmatch(value) else FALSE
        return eq if op == "eq" else not_(eq)

    def _compare_time(self, name: str, op: str, value: Any) -> str:
        if op in ("co", "sw", "ew"):
            raise UnsupportedFilter(f"{op} is not supported on dateTime attributes")
        if not isinstance(value, str):
            raise UnsupportedFilter("meta timestamps are dateTime: compare them with an xsd:dateTime string")
        text, fraction = _generalized_time(value)
        if op == "ne":
            return not_(self._compare_time(name, "eq", value))
        if fraction:  # stored values are whole seconds
            if op == "eq":
                return FALSE
            op = {"gt": "gt", "ge": "gt", "lt": "le", "le": "le"}[op]
        if op == "eq":
            return f"({name}={text})"
        if op in ("ge", "le"):
            return f"({name}{'>=' if op == 'ge' else '<='}{text})"
        return f"(&({name}{'>=' if op == 'gt' else '<='}{text})(!({name}={text})))"

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

    def _resolve(self, path: AttrPath) -> _Attr:
        path = self._canonical(path)
        mapped = self._amap.simple.get(path)
        if mapped is None:
            if self._scim.attribute(path) is None:
                raise UnsupportedFilter(f"unknown attribute {path}")
            raise UnsupportedFilter(f"{path} is kept in the JSON extras and cannot be filtered in this directory")
        return self._attr(mapped, None)

    def _attr(self, mapped: Mapped, typed: str | None) -> _Attr:
        ldap = self._types.get(mapped.ldap_key)
        if ldap is None:
            raise UnsupportedFilter(f"{mapped.key} cannot be filtered: {mapped.ldap} is not in the directory schema")
        if typed is not None:
            info = self._scim.attribute(AttrPath(typed))
            sub = info.sub("value") if info is not None else None
            assert sub is not None
            return _Attr(ldap, sub, lambda r: None)
        info = self._scim.attribute(mapped.path)
        assert info is not None
        if mapped.path.sub_attr is not None:
            sub = info.sub(mapped.path.sub_attr)
            assert sub is not None
            info = sub
        path = mapped.path

        def read(resource: Resource) -> Any:
            holder = resource.get(path.urn) if path.urn else resource
            value = holder.get(path.attr) if isinstance(holder, dict) else None
            return value.get(path.sub_attr) if path.sub_attr and isinstance(value, dict) else value
        return _Attr(ldap, info, read)

    @staticmethod
    def _rule_exact(rule: str | None) -> bool:
        return rule is not None and rule.lower() in _CASE_EXACT_RULES


class _ElementResolver:
    """Translates the conditions inside a mapped value path: only ``value`` is addressable."""

    def __init__(self, target: _Attr) -> None:
        self.target = target

    def translate(self, tr: FilterTranslator, node: Filter, depth: int) -> str:
        if depth > 32:
            raise UnsupportedFilter("filter too complex")
        if isinstance(node, (And, Or)):
            parts = [self.translate(tr, p, depth + 1) for p in _flatten(node, type(node))]
            return and_(parts) if isinstance(node, And) else or_(parts)
        if isinstance(node, Not):
            return not_(self.translate(tr, node.operand, depth + 1))
        if not isinstance(node, (Compare, Present)) or node.path.urn or node.path.sub_attr \
                or node.path.attr != "value":
            raise UnsupportedFilter("inside this value filter only 'value' can be compared")
        if isinstance(node, Present):
            return f"({self.target.ldap.name}=*)"
        if node.value is None:
            if node.op not in ("eq", "ne"):
                raise UnsupportedFilter(f"{node.op} cannot compare with null")
            present = f"({self.target.ldap.name}=*)"
            return present if node.op == "ne" else not_(present)
        return tr.compare_attr(self.target, node.op, node.value, None)


def _exact_check(read: Callable[[Resource], Any], op: str, value: str) -> Check:
    def check(resource: Resource) -> bool:
        actual = read(resource)
        if not isinstance(actual, str):
            return op == "ne"
        return {"eq": actual == value, "ne": actual != value, "co": value in actual, "sw": actual.startswith(value),
                "ew": actual.endswith(value)}[op]
    return check


def _generalized_time(value: str) -> tuple[str, bool]:
    """An xsd:dateTime (RFC 7643 §2.3.5) as a GeneralizedTime ``YYYYMMDDHHMMSSZ`` in UTC, and
    whether it had a non-zero fraction of a second."""
    parsed, fraction = parse_filter_datetime(value, "meta timestamps")
    return (f"{parsed.year:04d}{parsed.month:02d}{parsed.day:02d}"
            f"{parsed.hour:02d}{parsed.minute:02d}{parsed.second:02d}Z"), fraction