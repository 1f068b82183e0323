"""What the directory's schema says about an attribute: its matching rules and syntax (RFC 4512 §4.1.2).

The filter translator needs it to know what LDAP can express exactly: ``eq`` needs an EQUALITY
rule, ``co``/``sw``/``ew`` a SUBSTR rule, ``gt``/``ge``/``lt``/``le`` an ORDERING rule, and an
assertion value the attribute's syntax rejects makes a filter component Undefined (RFC 4511
§4.5.1.7), which ``!`` does not turn into TRUE — so such values are decided before the filter is
sent. The information is read from the server's subschema when the adapter starts.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

#: Syntax OIDs (RFC 4517 §3.3) whose valid values the adapter can decide itself.
DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"
IA5_STRING = "1.3.6.1.4.1.1466.115.121.1.26"
PRINTABLE_STRING = "1.3.6.1.4.1.1466.115.121.1.44"
TELEPHONE_NUMBER = "1.3.6.1.4.1.1466.115.121.1.50"
NUMERIC_STRING = "1.3.6.1.4.1.1466.115.121.1.36"

_PRINTABLE = frozenset(string.ascii_letters + string.digits + " '()+,-./:=?")


@dataclass(frozen=True)
class LdapAttributeType:
    """An attribute type with its rules resolved through its superiors (names or OIDs as given)."""

    name: str
    equality: str | None = None
    substring: str | None = None
    ordering: str | None = None
    syntax: str | None = None
    single_value: bool = False

    def accepts(self, value: str) -> bool | None:
        """Whether ``value`` is valid for the syntax (so it can equal a stored value); ``None``
        when the adapter does not know the syntax."""
        syntax = (self.syntax or "").split("{", 1)[0]
        if syntax == DIRECTORY_STRING:
            return value != ""
        if syntax == IA5_STRING:
            return value.isascii()
        if syntax in (PRINTABLE_STRING, TELEPHONE_NUMBER):
            return value != "" and all(c in _PRINTABLE for c in value)
        if syntax == NUMERIC_STRING:
            return value != "" and all(c in "0123456789 " for c in value)
        return None


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else None
    return str(value) if value else None


def attribute_types(schema: Any, names: list[str]) -> dict[str, LdapAttributeType]:
    """Resolve ``names`` in an ldap3 ``SchemaInfo``; raises ``KeyError`` naming an unknown one."""
    result: dict[str, LdapAttributeType] = {}
    for name in names:
        info = schema.attribute_types.get(name) if schema is not None else None
        if info is None:
            raise KeyError(name)
        rules: dict[str, str | None] = {"equality": None, "substring": None, "ordering": None, "syntax": None}
        current, seen = info, 0
        while current is not None and seen < 16:  # inherit missing rules from SUP (RFC 4512 §2.5.1)
            for field in rules:
                if rules[field] is None:  # ldap3 2.9 parses SUBSTR into "substr"
                    raw = getattr(current, field, None) or (getattr(current, "substr", None) if field == "substring" else None)
                    rules[field] = _first(raw)
            superior = _first(getattr(current, "superior", None))
            current = schema.attribute_types.get(superior) if superior else None
            seen += 1
        result[name.lower()] = LdapAttributeType(name=name, single_value=bool(info.single_value), **rules)
    return result


def allowed_attributes(schema: Any, object_classes: list[str]) -> set[str]:
    """Lower-cased names (all aliases) of the attributes the object classes allow (MUST and MAY,
    through their superior classes)."""
    allowed: set[str] = set()
    pending, seen = list(object_classes), set()
    while pending:
        name = pending.pop()
        info = schema.object_classes.get(name) if schema is not None else None
        if info is None or name.lower() in seen:
            continue
        seen.add(name.lower())
        for attr in [*info.must_contain, *info.may_contain]:
            allowed.add(attr.lower())
            attr_info = schema.attribute_types.get(attr)
            for alias in (attr_info.name if attr_info is not None else []) or []:
                allowed.add(alias.lower())
        pending.extend(info.superior or [])
    return allowed
