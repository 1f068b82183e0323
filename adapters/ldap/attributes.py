"""Which SCIM User attribute lives in which LDAP attribute (the ``attribute_map`` option).

Keys are canonical SCIM paths: a single-valued string attribute (``"title"``, ``"name.givenName"``,
``"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"``) or ``"<attr>.<type>"``
for the ``value`` of the first entry of that ``type`` of a multi-valued attribute
(``"phoneNumbers.work"``). Values are LDAP attribute names; ``null`` un-maps a default, and the
SCIM attribute is then kept in the JSON extras (see :mod:`adapters.ldap.mapping`).

Defaults (RFC 2798 ``inetOrgPerson``):

============================================  ======================
SCIM                                          LDAP
============================================  ======================
userName                                      mail
externalId                                    employeeType
name.givenName / name.familyName              givenName / sn
displayName                                   displayName
title                                         title
preferredLanguage                             preferredLanguage
phoneNumbers.work / phoneNumbers.mobile       telephoneNumber / mobile
enterprise employeeNumber                     employeeNumber
enterprise department                         departmentNumber
enterprise organization                       o
============================================  ======================

``externalId`` goes to ``employeeType`` because inetOrgPerson has no identifier attribute of its
own that is free (``uid`` names the entry, see :mod:`adapters.ldap.mapping`); the gateway then
owns ``employeeType``: map it elsewhere (or to ``null``) where employeeType holds employment types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.errors import AdapterError, InvalidValue
from adapters.query import AttrPath
from adapters.schema import ENTERPRISE_USER_URN

_E = ENTERPRISE_USER_URN + ":"

#: Single-valued string attributes that may be mapped (canonical key → path).
SIMPLE_PATHS: dict[str, AttrPath] = {
    **{name: AttrPath(name) for name in (
        "userName", "externalId", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone")},
    **{f"name.{sub}": AttrPath("name", sub) for sub in (
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")},
    **{_E + name: AttrPath(name, None, ENTERPRISE_USER_URN) for name in (
        "employeeNumber", "costCenter", "organization", "division", "department")},
}

#: Multi-valued attributes whose typed entries may be mapped (``<attr>.<type>``).
TYPED_ATTRIBUTES: tuple[str, ...] = ("emails", "phoneNumbers", "ims", "photos")

DEFAULT_MAP: dict[str, str] = {
    "userName": "mail",
    "externalId": "employeeType",
    "name.givenName": "givenName",
    "name.familyName": "sn",
    "displayName": "displayName",
    "title": "title",
    "preferredLanguage": "preferredLanguage",
    "phoneNumbers.work": "telephoneNumber",
    "phoneNumbers.mobile": "mobile",
    _E + "employeeNumber": "employeeNumber",
    _E + "department": "departmentNumber",
    _E + "organization": "o",
}

#: LDAP attributes the adapter manages itself; they cannot be mapping targets.
RESERVED: frozenset[str] = frozenset({
    "objectclass", "uid", "shadowexpire", "description", "entryuuid", "createtimestamp", "modifytimestamp",
    "entrycsn", "entrydn", "userpassword",
})

#: JSON Schema of the ``attribute_map`` option.
ATTRIBUTE_MAP_SCHEMA: dict[str, object] = {
    "type": "object",
    "description": "SCIM attribute path -> LDAP attribute name (null un-maps a default)",
    "propertyNames": {"anyOf": [
        {"enum": sorted(SIMPLE_PATHS)},
        {"pattern": rf"^({'|'.join(TYPED_ATTRIBUTES)})\.[A-Za-z0-9_-]{{1,64}}$"},
    ]},
    "additionalProperties": {"anyOf": [
        {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]{0,63}$"}, {"type": "null"}]},
}


class OptionsError(AdapterError, ValueError):
    """Options the JSON Schema cannot reject (an ``AdapterError``, so the CLI prints it plainly)."""


@dataclass(frozen=True)
class Mapped:
    """One mapped SCIM attribute: ``path`` (for a typed entry: the multi-valued attribute),
    ``type`` (the entry type, lower-cased, or ``None``) and the LDAP attribute ``ldap``."""

    key: str
    path: AttrPath
    ldap: str
    type: str | None = None

    @property
    def ldap_key(self) -> str:
        """The LDAP attribute name lower-cased (LDAP attribute names are case-insensitive)."""
        return self.ldap.lower()


class AttributeMap:
    """The defaults overridden by ``attribute_map``; raises :class:`OptionsError` for an invalid map."""

    def __init__(self, overrides: Mapping[str, str | None] | None = None) -> None:
        merged: dict[str, str | None] = dict(DEFAULT_MAP)
        merged.update(overrides or {})
        self.simple: dict[AttrPath, Mapped] = {}
        self.typed: dict[tuple[str, str], Mapped] = {}
        self.by_ldap: dict[str, Mapped] = {}
        for key, target in merged.items():
            if target is None:
                continue
            mapped = self._parse(key, target)
            if mapped.ldap_key in RESERVED:
                raise OptionsError(f"attribute_map: {key} cannot be stored in {target!r}: the adapter manages it")
            if mapped.ldap_key in self.by_ldap:
                raise OptionsError(f"attribute_map: {key} and {self.by_ldap[mapped.ldap_key].key} "
                                 f"both map to {target!r}")
            self.by_ldap[mapped.ldap_key] = mapped
            if mapped.type is None:
                self.simple[mapped.path] = mapped
            else:
                self.typed[(mapped.path.attr, mapped.type)] = mapped
        user_name = self.simple.get(AttrPath("userName"))
        if user_name is None:
            raise OptionsError("attribute_map: userName must be mapped to an LDAP attribute")
        self.user_name: Mapped = user_name

    @staticmethod
    def _parse(key: str, target: str) -> Mapped:
        if key in SIMPLE_PATHS:
            return Mapped(key, SIMPLE_PATHS[key], target)
        attr, _, kind = key.partition(".")
        if attr in TYPED_ATTRIBUTES and kind:
            return Mapped(key, AttrPath(attr), target, kind.lower())
        raise OptionsError(f"attribute_map: {key!r} is not a mappable SCIM attribute")

    def ldap_attributes(self) -> list[str]:
        """Every mapped LDAP attribute name."""
        return [m.ldap for m in self.by_ldap.values()]

    def typed_types(self, attr: str) -> set[str]:
        """The mapped entry types of the multi-valued attribute ``attr``."""
        return {kind for (name, kind) in self.typed if name == attr}


def refused_value(exc: Exception, amap: AttributeMap) -> InvalidValue:
    """A value the directory refused, naming the SCIM attribute when the message names its LDAP one."""
    message = str(getattr(exc, "message", "") or "")
    mapped = amap.by_ldap.get(message.split(":", 1)[0].strip().lower())
    what = mapped.key if mapped is not None else "a value"
    return InvalidValue(f"the directory refused {what}: {message or type(exc).__name__}")
