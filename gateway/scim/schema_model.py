"""The SCIM schema model: attribute definitions, schemas and resource types (RFC 7643 §2, §6, §7).

Loaded once from the bundled documents in ``schemas/resource/`` (package data, read with
``importlib.resources``) and cached; every object is frozen, so the model can be shared freely.
All name lookups are case-insensitive, because SCIM attribute names and schema URNs are
(RFC 7643 §2.1, RFC 7644 §3.10).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import files
from typing import Any

from adapters.query import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
_SCHEMA_FILES = ("User.json", "EnterpriseUser.json", "Group.json")


class UnknownAttribute(ValueError):
    """An attribute path names no attribute of the resource type (HTTP 400 ``invalidPath``/``invalidFilter``)."""


class NeverReturnedAttribute(UnknownAttribute):
    """A filter names an attribute that is never returned (``password``): RFC 7644 §3.4.2.2 lets a
    client filter only on what it could read, so this is a 400 ``invalidFilter`` too."""


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7 ``attributes``; defaults of RFC 7643 §2.2)."""

    name: str
    type: str  # "string","boolean","decimal","integer","dateTime","binary","reference","complex"
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
        """The sub-attribute called ``name`` (case-insensitive), or ``None``"""
        return self._index.get(name.lower())

    @property
    def never_returned(self) -> bool:
        """``returned: never`` (RFC 7643 §2.2), e.g. ``password``: the gateway accepts such a value
        in a request and discards it, so it is never stored, returned, filtered or sorted on.
        Vizmo employees do not sign in with a SCIM password (RFC 7643 §4.1.1 lets a service
        provider that keeps none ignore it)."""
        return self.returned == "never"

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
_COMMON_INDEX: dict[str, Attribute] = {a.name.lower(): a for a in COMMON_ATTRIBUTES}


#: Resolved paths (and top-level keys) remembered per resource type (beyond it, each is worked
#: out every time).
_RESOLVED_LIMIT = 4096
_UNSEEN: Any = object()


@dataclass(frozen=True)
class ResourceType:
    """A resource type (RFC 7643 §6): its endpoint, core schema and extensions ``(schema, required)``."""

    name: str
    endpoint: str
    description: str
    core: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()
    _schemas: dict[str, Schema] = field(init=False, repr=False, compare=False, hash=False)
    _prefixes: tuple[tuple[str, Schema], ...] = field(init=False, repr=False, compare=False, hash=False)
    _resolved: dict[AttrPath, tuple[AttrPath, Attribute]] = field(init=False, repr=False, compare=False,
                                                                  hash=False)
    _top_level: dict[str, "Schema | AttrPath | None"] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # resolve() and top_level_key() memos: every request names the same few paths and keys
        # (bounded: they come from clients)
        object.__setattr__(self, "_resolved", {})
        object.__setattr__(self, "_top_level", {})
        schemas = {self.core.id.lower(): self.core}
        schemas.update((ext.id.lower(), ext) for ext, _ in self.extensions)
        object.__setattr__(self, "_schemas", schemas)
        # longest URN first, so that a URN that extends another one wins
        object.__setattr__(self, "_prefixes", tuple(sorted(schemas.items(), key=lambda item: -len(item[0]))))

    def schema_for_urn(self, urn: str) -> Schema | None:
        """The core schema or the extension whose URN is ``urn`` (case-insensitive), or ``None``."""
        return self._schemas.get(urn.lower())

    def split_urn(self, name: str) -> tuple[Schema, str] | None:
        """Split a URN-qualified name ``<schema urn>:<rest>`` into the schema and ``rest``.

        Returns ``None`` when ``name`` does not start with the URN of one of this type's schemas.
        """
        lowered = name.lower()
        for urn, schema in self._prefixes:
            if lowered.startswith(urn) and lowered[len(urn):len(urn) + 1] == ":":
                return schema, name[len(urn) + 1:]
        return None

    def top_level_key(self, key: str) -> "Schema | AttrPath | None":
        """What a top-level key of a resource body names: a whole schema block (the core's or
        an extension's, by URN), an attribute path ``[urn:]attr[.subAttr]`` (not yet resolved),
        or ``None`` for a URN of an extension this type does not have."""
        found = self._top_level.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = self._classify_top_level(key)
            if len(self._top_level) < _RESOLVED_LIMIT:
                self._top_level[key] = found
        return found

    def _classify_top_level(self, key: str) -> "Schema | AttrPath | None":
        schema = self.schema_for_urn(key)
        if schema is not None:
            return schema
        split = self.split_urn(key)
        if split is None and key.lower().startswith("urn:"):
            return None
        urn, name = (split[0].id, split[1]) if split is not None else (None, key)
        attr, _, sub = name.partition(".")
        return AttrPath(attr=attr, sub_attr=sub or None, urn=urn)

    def resolve(self, path: AttrPath) -> tuple[AttrPath, Attribute]:
        """Canonicalise ``path`` and return it with the attribute (or sub-attribute) it names.

        The canonical path has schema-cased names; ``urn`` is set only for extension attributes.
        Core attributes and the common attributes ``id``, ``externalId`` and ``meta`` (RFC 7643
        §3.1) resolve with or without the core URN. A path whose ``attr`` still carries a URN
        prefix is split here.

        Note: Entra ID sends enterprise attributes such as ``department`` and ``manager`` without
        their URN in older request shapes; a bare name that is neither core nor common resolves to
        the extension attribute of that name.

        Raises :class:`UnknownAttribute` for unknown schemas, attributes or sub-attributes.
        """
        found = self._resolved.get(path)
        if found is None:
            found = self._resolve(path)
            if len(self._resolved) < _RESOLVED_LIMIT:
                self._resolved[path] = found
        return found

    def _resolve(self, path: AttrPath) -> tuple[AttrPath, Attribute]:
        urn, name = path.urn, path.attr
        if urn is None and ":" in name:
            split = self.split_urn(name)
            if split is None:
                raise UnknownAttribute(f"Unknown schema in attribute path {path}")
            urn, name = split[0].id, split[1]
        if urn is not None:
            schema = self.schema_for_urn(urn)
            if schema is None:
                raise UnknownAttribute(f"Unknown schema {urn!r} in attribute path {path}")
            found = self._lookup_in(schema, name)
        else:
            found = self._lookup_bare(name)
        if found is None:
            raise UnknownAttribute(f"Unknown attribute {path} for resource type {self.name}")
        schema_urn, attribute = found
        canonical = AttrPath(attr=attribute.name, urn=schema_urn)
        if path.sub_attr is None:
            return canonical, attribute
        sub = attribute.sub(path.sub_attr)
        if sub is None:
            raise UnknownAttribute(f"Unknown sub-attribute {path} for resource type {self.name}")
        return replace(canonical, sub_attr=sub.name), sub

    def _lookup_in(self, schema: Schema, name: str) -> tuple[str | None, Attribute] | None:
        if schema is self.core:
            common = _COMMON_INDEX.get(name.lower())
            if common is not None:
                return None, common
            attribute = schema.attribute(name)
            return (None, attribute) if attribute is not None else None
        attribute = schema.attribute(name)
        return (schema.id, attribute) if attribute is not None else None

    def _lookup_bare(self, name: str) -> tuple[str | None, Attribute] | None:
        found = self._lookup_in(self.core, name)
        if found is not None:
            return found
        for ext, _ in self.extensions:
            found = self._lookup_in(ext, name)
            if found is not None:
                return found
        return None

    def filterable(self, path: AttrPath) -> tuple[AttrPath, Attribute]:
        """:meth:`resolve` for a path a filter or ``sortBy`` names; raises
        :class:`NeverReturnedAttribute` for one that is never returned (``password``)."""
        canonical, attribute = self.resolve(path)
        parent = self.resolve(replace(path, sub_attr=None))[1] if path.sub_attr is not None else attribute
        if attribute.never_returned or parent.never_returned:
            raise NeverReturnedAttribute(f"{canonical} is never returned (RFC 7643 §2.2), so it cannot be "
                                         "filtered or sorted on")
        return canonical, attribute

    @functools.cached_property
    def never_returned(self) -> tuple[tuple[str | None, str], ...]:
        """The top-level attributes that are never returned, as (extension URN or None, name)."""
        found = [(None, a.name) for a in self.core.attributes if a.never_returned]
        found += [(ext.id, a.name) for ext, _ in self.extensions for a in ext.attributes if a.never_returned]
        return tuple(found)

    def canonical_filter(self, node: Filter) -> Filter:
        """``node`` with every attribute path canonicalised (RFC 7644 §3.4.2.2).

        The paths inside a value path are relative to one element of the multi-valued attribute
        and resolve as its sub-attributes. Raises :class:`UnknownAttribute`.
        """
        if isinstance(node, Compare):
            path, attribute = self.filterable(node.path)
            return replace(node, path=path, value=_coerce_number(node.value, attribute))
        if isinstance(node, Present):
            return replace(node, path=self.filterable(node.path)[0])
        if isinstance(node, (And, Or)):
            return replace(node, left=self.canonical_filter(node.left), right=self.canonical_filter(node.right))
        if isinstance(node, Not):
            return replace(node, operand=self.canonical_filter(node.operand))
        if isinstance(node, ValuePath):
            path, attribute = self.filterable(node.path)
            if path.sub_attr is not None or attribute.type != "complex":
                raise UnknownAttribute(f"{node.path} is not a complex attribute and cannot take a value filter")
            return replace(node, path=path, filter=_canonical_element_filter(node.filter, attribute))
        raise TypeError(f"not a filter node: {node!r}")

    def to_json(self) -> dict[str, Any]:
        """The RFC 7643 §6 representation, without ``meta``."""
        out: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
        }
        if self.extensions:
            out["schemaExtensions"] = [{"schema": ext.id, "required": req} for ext, req in self.extensions]
        return out


def _coerce_number(value: Any, attribute: Attribute) -> Any:
    """A number compared with a string attribute becomes its text.

    Note: Entra ID's older documents send unquoted values (``employeeNumber eq 701984``,
    ``id eq 42``); the parser reads those as numbers, but the attribute holds strings.
    """
    if attribute.type in ("string", "reference", "binary") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return str(value)
    return value


def _canonical_element_filter(node: Filter, parent: Attribute) -> Filter:
    """Canonicalise a value-path filter whose paths name sub-attributes of ``parent``."""
    if isinstance(node, (Compare, Present)):
        path = node.path
        sub = parent.sub(path.attr) if path.urn is None and path.sub_attr is None else None
        if sub is None:
            raise UnknownAttribute(f"Unknown sub-attribute {path} of {parent.name} in value filter")
        if isinstance(node, Compare):
            return replace(node, path=AttrPath(attr=sub.name), value=_coerce_number(node.value, sub))
        return replace(node, path=AttrPath(attr=sub.name))
    if isinstance(node, (And, Or)):
        return replace(node, left=_canonical_element_filter(node.left, parent),
                       right=_canonical_element_filter(node.right, parent))
    if isinstance(node, Not):
        return replace(node, operand=_canonical_element_filter(node.operand, parent))
    if isinstance(node, ValuePath):
        raise UnknownAttribute(f"Value filters cannot be nested inside {parent.name}[...]")
    raise TypeError(f"not a filter node: {node!r}")


# --- loading ---------------------------------------------------------------------------------


def _attribute_from_json(doc: Mapping[str, Any]) -> Attribute:
    """Build an :class:`Attribute` from its RFC 7643 §7 JSON, applying the §2.2 defaults."""
    return Attribute(
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
        sub_attributes=tuple(_attribute_from_json(sub) for sub in doc.get("subAttributes", ())),
        description=doc.get("description", ""),
    )


def schema_from_json(doc: Mapping[str, Any]) -> Schema:
    """Build a :class:`Schema` from an RFC 7643 §7 schema document."""
    return Schema(
        id=doc["id"],
        name=doc.get("name", ""),
        description=doc.get("description", ""),
        attributes=tuple(_attribute_from_json(a) for a in doc.get("attributes", ())),
    )


def _load_json(*parts: str) -> Any:
    resource = files("schemas")
    for part in parts:
        resource = resource.joinpath(part)
    return json.loads(resource.read_text(encoding="utf-8"))


@functools.cache
def _schemas_by_urn() -> dict[str, Schema]:
    loaded = (schema_from_json(_load_json("resource", name)) for name in _SCHEMA_FILES)
    return {schema.id.lower(): schema for schema in loaded}


def _resource_type_from_json(doc: Mapping[str, Any], schemas: Mapping[str, Schema]) -> ResourceType:
    def schema(urn: str) -> Schema:
        try:
            return schemas[urn.lower()]
        except KeyError:
            raise LookupError(f"resource type {doc.get('name')!r} names unknown schema {urn!r}") from None

    extensions: Iterable[Mapping[str, Any]] = doc.get("schemaExtensions", ())
    return ResourceType(
        name=doc["name"],
        endpoint=doc["endpoint"],
        description=doc.get("description", ""),
        core=schema(doc["schema"]),
        extensions=tuple((schema(ext["schema"]), bool(ext.get("required", False))) for ext in extensions),
    )


@functools.cache
def resource_types() -> dict[str, ResourceType]:
    """The bundled resource types by name (``{"User": ..., "Group": ...}``), loaded once."""
    schemas = _schemas_by_urn()
    types = (_resource_type_from_json(doc, schemas) for doc in _load_json("resource", "ResourceTypes.json"))
    return {rtype.name: rtype for rtype in types}
