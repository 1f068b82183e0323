"""RFC 4515 filter text and the pair of LDAP filters a SCIM filter node becomes (pure).

A node whose answer the directory cannot give exactly (its matching rules ignore spaces, a
placeholder value, ...) is a :class:`Part`: ``sup`` matches at least what the node matches,
``sub`` at most, and ``test`` decides exactly on the mapped resource. ``sup == sub`` means LDAP
answers exactly. ``not`` swaps the two (RFC 4511 §4.5.1.7: the translator never sends a
component that could be Undefined, so ``!`` is the complement).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from adapters.errors import UnsupportedFilter

TRUE = "(objectClass=*)"
FALSE = "(!(objectClass=*))"
Resource = dict[str, Any]
Check = Callable[[Resource], bool]


def escape(value: str) -> str:
    """An RFC 4515 §3 assertion value: ``*``, ``(``, ``)``, ``\\``, NUL, space and every byte
    outside printable ASCII as ``\\XX`` (UTF-8; ldap3 would strip unescaped outer spaces);
    raises ``UnsupportedFilter`` for non-Unicode text."""
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedFilter("filter value is not valid Unicode text") from None
    return "".join(f"\\{b:02x}" if b <= 0x20 or b > 0x7e or b in b"*()\\" else chr(b) for b in raw)


def and_(parts: list[str]) -> str:
    if FALSE in parts:
        return FALSE
    parts = list(dict.fromkeys(p for p in parts if p != TRUE))
    return TRUE if not parts else parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"


def or_(parts: list[str]) -> str:
    if TRUE in parts:
        return TRUE
    parts = list(dict.fromkeys(p for p in parts if p != FALSE))
    return FALSE if not parts else parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def not_(part: str) -> str:
    return FALSE if part == TRUE else TRUE if part == FALSE else f"(!{part})"


def _always(result: bool) -> Check:
    return lambda resource: result


@dataclass(frozen=True)
class Part:
    """``sup`` ⊇ what the node matches ⊇ ``sub`` (LDAP filters); ``test`` is the exact answer."""

    sup: str
    sub: str
    test: Check

    @property
    def exact(self) -> bool:
        return self.sup == self.sub


def exact_part(text: str, test: Check) -> Part:
    """A node LDAP answers exactly (``test`` is needed only when it is combined with another)."""
    return Part(text, text, _always(True) if text == TRUE else _always(False) if text == FALSE else test)


TRUE_PART = exact_part(TRUE, _always(True))
FALSE_PART = exact_part(FALSE, _always(False))


def part_and(parts: Iterable[Part]) -> Part:
    items = list(parts)
    tests = [p.test for p in items]
    return Part(and_([p.sup for p in items]), and_([p.sub for p in items]), lambda r: all(t(r) for t in tests))


def part_or(parts: Iterable[Part]) -> Part:
    items = list(parts)
    tests = [p.test for p in items]
    return Part(or_([p.sup for p in items]), or_([p.sub for p in items]), lambda r: any(t(r) for t in tests))


def part_not(part: Part) -> Part:
    test = part.test
    return Part(not_(part.sub), not_(part.sup), lambda r: not test(r))


@dataclass(frozen=True)
class LdapFilter:
    """The LDAP filter and the exact checks the matches must also pass."""

    text: str
    checks: tuple[Check, ...] = ()

    def matches(self, resource: Resource) -> bool:
        return all(check(resource) for check in self.checks)
