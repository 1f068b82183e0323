"""Attribute type information for adapters, read from the bundled RFC 7643 schema documents.

A deliberately small, read-only view of RFC 7643 §7 schema documents: what a storage adapter
needs to translate filters and sorts (type, ``multiValued``, ``caseExact``, ``returned``,
sub-attributes). The documents are package data of ``schemas`` (``schemas/resource/*.json``),
loaded with :mod:`importlib.resources`; the gateway has its own richer model, which adapters must
not import. Name lookups are case-insensitive (RFC 7643 §2.1).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from adapters.query import AttrPath

ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class AttrInfo:
    """One attribute definition; absent characteristics take the RFC 7643 §2.2 defaults."""

    name: str
    type: str = "string"  # string boolean decimal integer dateTime binary reference complex
    multi_valued: bool = False
    case_exact: bool = False
    returned: str = "default"
    sub_attributes: tuple["AttrInfo", ...] = ()
    _subs: dict[str, "AttrInfo"] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_subs", {a.name.lower(): a for a in self.sub_attributes})

    def sub(self, name: str) -> AttrInfo | None:
        """The sub-attribute called ``name`` (case-insensitive), or ``None``."""
        return self._subs.get(name.lower())

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AttrInfo:
        """Build from the RFC 7643 §7 JSON of one attribute."""
        return cls(
            name=doc["name"],
            type=doc.get("type", "string"),
            multi_valued=bool(doc.get("multiValued", False)),
            case_exact=bool(doc.get("caseExact", False)),
            returned=doc.get("returned", "default"),
            sub_attributes=tuple(cls.from_json(sub) for sub in doc.get("subAttributes", ())),
        )


#: The common attributes of every resource (RFC 7643 §3.1); no schema document lists them.
COMMON_ATTRIBUTES: tuple[AttrInfo, ...] = (
    AttrInfo("id", case_exact=True, returned="always"),
    AttrInfo("externalId", case_exact=True),
    AttrInfo("meta", "complex", sub_attributes=(
        AttrInfo("resourceType", case_exact=True),
        AttrInfo("created", "dateTime"),
        AttrInfo("lastModified", "dateTime"),
        AttrInfo("location", "reference", case_exact=True),
        AttrInfo("version", case_exact=True),
    )),
)


class SchemaInfo:
    """The attributes of one resource type: its core schema, its extensions and the common ones."""

    def __init__(self, core: Mapping[str, Any], extensions: Iterable[Mapping[str, Any]] = ()) -> None:
        """``core`` and ``extensions`` are RFC 7643 §7 schema documents (``id``, ``attributes``)."""
        self.core_urn: str = core["id"]
        self._schemas: dict[str, dict[str, AttrInfo]] = {}
        self._urns: dict[str, str] = {}
        for doc in (core, *extensions):
            attrs = (AttrInfo.from_json(a) for a in doc.get("attributes", ()))
            self._schemas[doc["id"].lower()] = {a.name.lower(): a for a in attrs}
            self._urns[doc["id"].lower()] = doc["id"]
        self._common = {a.name.lower(): a for a in COMMON_ATTRIBUTES}

    def extension_urn(self, urn: str | None) -> str | None:
        """The canonical URN of an extension, ``None`` for the core schema (or no URN).

        Raises ``KeyError`` for a URN that is neither.
        """
        if urn is None or urn.lower() == self.core_urn.lower():
            return None
        return self._urns[urn.lower()]

    def is_common(self, path: AttrPath) -> bool:
        """Whether ``path`` names a common attribute (``id``, ``externalId``, ``meta``; RFC 7643 §3.1)."""
        return self._is_core(path.urn) and path.attr.lower() in self._common

    def attribute(self, path: AttrPath) -> AttrInfo | None:
        """The top-level attribute ``path`` names (its ``sub_attr`` is ignored), or ``None``."""
        if self._is_core(path.urn):
            common = self._common.get(path.attr.lower())
            if common is not None:
                return common
            return self._schemas[self.core_urn.lower()].get(path.attr.lower())
        schema = self._schemas.get(path.urn.lower()) if path.urn else None
        return schema.get(path.attr.lower()) if schema is not None else None

    def _is_core(self, urn: str | None) -> bool:
        return urn is None or urn.lower() == self.core_urn.lower()


def load_schema_document(name: str) -> dict[str, Any]:
    """A bundled schema document, ``schemas/resource/<name>`` (e.g. ``"User.json"``)."""
    text = files("schemas").joinpath("resource").joinpath(name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def user_schema_info() -> SchemaInfo:
    """The User resource type: core User schema plus the enterprise extension (RFC 7643 §4)."""
    return SchemaInfo(load_schema_document("User.json"), [load_schema_document("EnterpriseUser.json")])
