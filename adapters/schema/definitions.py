"""Attribute and schema definitions (RFC 7643 §7), with the defaults of RFC 7643 §2.2.

Every object is frozen and shared by the gateway and the adapters; name lookups are
case-insensitive, because SCIM attribute names are (RFC 7643 §2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7 ``attributes``; absent characteristics take the
    defaults of RFC 7643 §2.2)."""

    name: str
    type: str = "string"  # string boolean decimal integer dateTime binary reference complex
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly / readWrite / immutable / writeOnly
    returned: str = "default"  # always / never / default / request
    uniqueness: str = "none"  # none / server / global
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple["Attribute", ...] = ()
    description: str = ""
    _index: dict[str, "Attribute"] = field(init=False, repr=False, compare=False, hash=False)
    #: The sub-attributes that are required or hold required ones (what a required check visits).
    required_within: tuple["Attribute", ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {a.name.lower(): a for a in self.sub_attributes})
        object.__setattr__(self, "required_within", _holding_required(self.sub_attributes))

    def sub(self, name: str) -> "Attribute | None":
        """The sub-attribute called ``name`` (case-insensitive), or ``None``."""
        return self._index.get(name.lower())

    @property
    def never_returned(self) -> bool:
        """``returned: never`` (RFC 7643 §2.2), e.g. ``password``: the gateway accepts such a value
        in a request and discards it, so it is never stored, returned, filtered or sorted on.
        Vizmo employees do not sign in with a SCIM password (RFC 7643 §4.1.1 lets a service
        provider that keeps none ignore it)."""
        return self.returned == "never"

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Attribute":
        """Build from the RFC 7643 §7 JSON of one attribute, applying the §2.2 defaults."""
        return cls(
            name=doc["name"],
            type=doc.get("type", "string"),
            multi_valued=bool(doc.get("multiValued", False)),
            required=bool(doc.get("required", False)),
            case_exact=bool(doc.get("caseExact", False)),
            mutability=doc.get("mutability", "readWrite"),
            returned=doc.get("returned", "default"),
            uniqueness=doc.get("uniqueness", "none"),
            canonical_values=tuple(doc.get("canonicalValues", ())),
            reference_types=tuple(doc.get("referenceTypes", ())),
            sub_attributes=tuple(cls.from_json(sub) for sub in doc.get("subAttributes", ())),
            description=doc.get("description", ""),
        )

    def to_json(self) -> dict[str, Any]:
        """The RFC 7643 §7 representation of this attribute."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.type == "reference":
            out["referenceTypes"] = list(self.reference_types)
        if self.type == "complex":
            out["subAttributes"] = [sub.to_json() for sub in self.sub_attributes]
        out.update(mutability=self.mutability, returned=self.returned, uniqueness=self.uniqueness)
        return out


@dataclass(frozen=True)
class Schema:
    """A schema (RFC 7643 §7): a core resource schema or an extension, identified by its URN ``id``."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _index: dict[str, Attribute] = field(init=False, repr=False, compare=False, hash=False)
    #: The attributes that are required or hold required ones (only ``userName`` in User).
    required_within: tuple[Attribute, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {a.name.lower(): a for a in self.attributes})
        object.__setattr__(self, "required_within", _holding_required(self.attributes))

    def attribute(self, name: str) -> Attribute | None:
        """The top-level attribute called ``name`` (case-insensitive), or ``None``."""
        return self._index.get(name.lower())

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Schema":
        """Build from an RFC 7643 §7 schema document."""
        return cls(
            id=doc["id"],
            name=doc.get("name", ""),
            description=doc.get("description", ""),
            attributes=tuple(Attribute.from_json(a) for a in doc.get("attributes", ())),
        )

    def to_json(self) -> dict[str, Any]:
        """The RFC 7643 §7 representation, without ``meta`` (the gateway adds the location)."""
        return {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
        }


def _holding_required(attributes: tuple[Attribute, ...]) -> tuple[Attribute, ...]:
    return tuple(a for a in attributes if a.required or a.required_within)


def _readonly(name: str, type_: str = "string", **kwargs: Any) -> Attribute:
    return Attribute(name, type_, mutability="readOnly", **kwargs)


#: The common attributes of every resource (RFC 7643 §3.1); they belong to no schema document.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _readonly("id", case_exact=True, returned="always", uniqueness="server",
              description="A unique identifier for the resource, assigned by the service provider."),
    Attribute("externalId", "string", case_exact=True,
              description="An identifier for the resource as defined by the provisioning client."),
    _readonly("meta", "complex", description="Resource metadata maintained by the service provider.",
              sub_attributes=(
                  _readonly("resourceType", case_exact=True, description="The name of the resource type."),
                  _readonly("created", "dateTime", description="When the resource was added."),
                  _readonly("lastModified", "dateTime", description="When the resource was last updated."),
                  _readonly("location", "reference", case_exact=True, reference_types=("uri",),
                            description="The URI of the resource."),
                  _readonly("version", case_exact=True, description="The version (entity tag) of the resource."),
              )),
)
