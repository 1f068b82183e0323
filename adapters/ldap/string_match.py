"""SCIM string comparisons (RFC 7644 §3.4.2.2) on one LDAP attribute: narrowed by the directory,
decided exactly on the mapped resource (pure).

The directory's matching rules prepare both sides (RFC 4518): every rule but the octetString
ones drops insignificant spaces (leading, trailing, runs: ``"bob  jones"`` equals ``" Bob Jones"``;
OpenLDAP also counts U+00A0, U+3000 and other compatibility spaces), ``telephoneNumber`` rules
drop every space and hyphen, ``numericString`` rules every space. SCIM compares the text itself:
``caseExact`` attributes as they are, the others case-folded (``str.casefold``). So each
comparison is a :class:`~adapters.ldap.filter_parts.Part`:

- ``sup``: what LDAP can match that includes every exact match: ``eq`` the value itself (equal
  texts prepare equally); ``co``/``sw``/``ew`` the value's words between insignificant
  characters (``sw "bob j"`` → ``(a=bob*j*)``; only-space values → ``pr``); the ordering
  operators, and any comparison whose rule is case-sensitive while SCIM's is not, ``pr``;
- ``sub``: ``FALSE`` (no LDAP filter excludes ``" bob"`` while matching ``"bob"``), except where
  the rule compares bytes and SCIM is caseExact: then LDAP is exact;
- ``test``: the comparison on the SCIM value as the resource shows it.

``ne`` is ``not eq`` (every entry is a candidate). A value the attribute's syntax rejects cannot
equal or be part of a stored value; ordering against it is refused. ``""`` is no value: ``eq``,
``lt``, ``le`` match nothing; ``co``/``sw``/``ew``/``gt``/``ge`` mean ``pr``.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from adapters.errors import UnsupportedFilter
from adapters.ldap.directory_schema import LdapAttributeType
from adapters.ldap.filter_parts import (FALSE, FALSE_PART, Check, Part, Resource, and_, escape, exact_part, not_,
                                        part_not)
from adapters.schema import Attribute

#: Matching rules (names and OIDs, lower-case) that compare case-sensitively.
CASE_EXACT_RULES = frozenset({
    "caseexactmatch", "2.5.13.5", "caseexactia5match", "1.3.6.1.4.1.1466.109.114.1", "octetstringmatch",
    "2.5.13.17", "caseexactsubstringsmatch", "2.5.13.7", "caseexactia5substringsmatch",
    "1.3.6.1.4.1.4203.1.2.1", "caseexactorderingmatch", "2.5.13.6", "octetstringorderingmatch", "2.5.13.18",
    "octetstringsubstringsmatch", "2.5.13.19",
})
#: Rules comparing the bytes as they are (no insignificant characters).
_OCTET_RULES = frozenset({"octetstringmatch", "2.5.13.17", "octetstringorderingmatch", "2.5.13.18",
                          "octetstringsubstringsmatch", "2.5.13.19"})
#: Rules that also drop hyphens (RFC 4517 §4.2.28/29).
_TELEPHONE_RULES = frozenset({"telephonenumbermatch", "2.5.13.20", "telephonenumbersubstringsmatch", "2.5.13.21"})
_ORDER: dict[str, Callable[[str, str], bool]] = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
                                                 "le": operator.le, "eq": operator.eq}


@dataclass(frozen=True)
class Target:
    """A SCIM string attribute held in one LDAP attribute: ``read`` gets its SCIM value from the
    mapped resource; ``hidden`` (an LDAP filter) covers the entries whose LDAP value may be a
    placeholder the resource does not show (see ``mapping._derive``); ``same``, where set, is the
    form two values share when the adapter's uniqueness counts them equal, and ``eq`` compares
    that form (so a look-up finds the user a create would collide with)."""

    ldap: LdapAttributeType
    info: Attribute
    read: Callable[[Resource], Any]
    hidden: str | None = None
    same: Callable[[str], str] | None = None


@lru_cache(maxsize=4096)
def _space(char: str) -> bool:
    """Whether the directory may treat ``char`` as (part of) a space: white space, and anything
    whose compatibility form holds a space (U+00A0, U+3000, U+00A8, ...). Over-counting is safe."""
    return char.isspace() or " " in unicodedata.normalize("NFKC", char)


def _insignificant(rule: str) -> Callable[[str], bool]:
    if rule.lower() in _TELEPHONE_RULES:
        return lambda char: char == "-" or _space(char)
    return _space


def words(value: str, ignored: Callable[[str], bool]) -> list[str]:
    """The runs of ``value`` between characters ``ignored`` says the rule may drop."""
    found, current = [], ""
    for char in value:
        if ignored(char):
            if current:
                found.append(current)
            current = ""
        else:
            current += char
    return found + [current] if current else found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def present(target: Target) -> Part:
    """``target pr``: LDAP's presence, except for a possible placeholder."""
    read = target.read
    return _hide(target, exact_part(f"({target.ldap.name}=*)", lambda r: _text(read(r)) is not None))


def _hide(target: Target, part: Part) -> Part:
    """Entries holding a placeholder are never exact matches of a positive comparison."""
    if target.hidden is None:
        return part
    return Part(part.sup, and_([part.sub, not_(target.hidden)]), part.test)


def _test(read: Callable[[Resource], Any], op: str, value: str, case_exact: bool) -> Check:
    fold: Callable[[str], str] = (lambda s: s) if case_exact else str.casefold
    wanted = fold(value)
    if op in ("co", "sw", "ew"):
        method = {"co": str.__contains__, "sw": str.startswith, "ew": str.endswith}[op]

        def substring(resource: Resource) -> bool:
            actual = _text(read(resource))
            return actual is not None and method(fold(actual), wanted)
        return substring
    compare = _ORDER[op]

    def ordered(resource: Resource) -> bool:
        actual = _text(read(resource))
        return actual is not None and compare(fold(actual), wanted)
    return ordered


def _same_test(read: Callable[[Resource], Any], same: Callable[[str], str], value: str) -> Check:
    wanted = same(value)

    def equal(resource: Resource) -> bool:
        actual = _text(read(resource))
        return actual is not None and same(actual) == wanted
    return equal


def compare(target: Target, op: str, value: Any) -> Part:
    """``target op value`` for a non-null value (``op`` one of eq/ne/co/sw/ew/gt/ge/lt/le)."""
    name, ldap, info = target.ldap.name, target.ldap, target.info
    if not isinstance(value, str):
        raise UnsupportedFilter(f"{info.name} is a string: compare it with a string")
    if "\x00" in value:
        raise UnsupportedFilter("a NUL character is not supported in filter values")
    if op == "ne":
        return part_not(compare(target, "eq", value))
    rule = {"eq": ldap.equality, "co": ldap.substring, "sw": ldap.substring, "ew": ldap.substring,
            "ge": ldap.ordering, "le": ldap.ordering, "gt": ldap.ordering, "lt": ldap.ordering}[op]
    if rule is None or (op in ("gt", "lt") and ldap.equality is None):
        raise UnsupportedFilter(f"{op} is not supported on {info.name}: the directory has no "
                                f"matching rule for it on {name}")
    if value == "":  # "" is absent: nothing equals it, every present value contains it
        return FALSE_PART if op in ("eq", "lt", "le") else present(target)
    valid = ldap.accepts(value)
    if valid is None:
        raise UnsupportedFilter(f"{info.name} cannot be filtered: unknown syntax of {name}")
    if not valid:  # no stored value can match; ordering against an invalid value is undecidable
        if op in ("eq", "co", "sw", "ew"):
            return FALSE_PART
        raise UnsupportedFilter(f"{value!r} is not a valid value of {name}")
    test = _test(target.read, op, value, info.case_exact) if op != "eq" or target.same is None \
        else _same_test(target.read, target.same, value)
    octets = rule.lower() in _OCTET_RULES
    if octets and info.case_exact:  # the rule compares exactly what SCIM compares
        return _hide(target, exact_part(_exact_text(name, op, value), test))
    if op not in ("eq", "co", "sw", "ew") or (rule.lower() in CASE_EXACT_RULES and not info.case_exact):
        return Part(f"({name}=*)", FALSE, test)  # LDAP's order or case differs: every value is a candidate
    found = words(value, _insignificant(rule))
    if not found:  # only insignificant characters: LDAP would see an empty value
        sup = f"({name}=*)"
    elif op == "eq":
        sup = f"({name}={escape(value)})"
    else:
        ignored = _insignificant(rule)
        initial = found[0] if op == "sw" and not ignored(value[0]) else ""
        final = found[-1] if op == "ew" and not ignored(value[-1]) else ""
        middle = found[1 if initial else 0:len(found) - 1 if final else len(found)]
        sup = f"({name}={'*'.join(escape(w) for w in [initial, *middle, final])})"
    return Part(sup, FALSE, test)


def _exact_text(name: str, op: str, value: str) -> str:
    v = escape(value)
    if op == "eq":
        return f"({name}={v})"
    if op in ("co", "sw", "ew"):
        return {"co": f"({name}=*{v}*)", "sw": f"({name}={v}*)", "ew": f"({name}=*{v})"}[op]
    if op in ("ge", "le"):
        return f"({name}{'>=' if op == 'ge' else '<='}{v})"
    return f"(&({name}{'>=' if op == 'gt' else '<='}{v})(!({name}={v})))"
