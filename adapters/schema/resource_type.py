"""Resource types (RFC 7643 §6) and how attribute paths resolve against them (RFC 7644 §3.10).

One model for the gateway and the adapters. A :class:`ResourceType` answers two kinds of
question about its core schema, its extensions and the common attributes (RFC 7643 §3.1):

- strict lookups of a canonical path, as an adapter receives it (:meth:`~ResourceType.locate`,
  :meth:`~ResourceType.attribute`, :meth:`~ResourceType.case_exact`);
- lenient resolution of a path a client wrote (:meth:`~ResourceType.resolve`,
  :meth:`~ResourceType.filterable`, :meth:`~ResourceType.top_level_key`): any case, URN-qualified
  or not, the schema-cased canonical path returned.

Names and URNs are case-insensitive everywhere (RFC 7643 §2.1, RFC 7644 §3.10).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.memo import remembered
from adapters.query import AttrPath
from adapters.schema.definitions import COMMON_ATTRIBUTES, Attribute, Schema

RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
_COMMON_INDEX: dict[str, Attribute] = {a.name.lower(): a for a in COMMON_ATTRIBUTES}

#: Resolved paths (and top-level keys) remembered per resource type (beyond it, each is worked
#: out every time).
_RESOLVED_LIMIT = 4096


class UnknownAttribute(ValueError):
    """An attribute path names no attribute of the resource type, or (:meth:`ResourceType.filterable`)
    one that cannot be filtered or sorted on; the gateway answers 400 ``invalidFilter`` or
    ``invalidValue``, depending on where the path was."""


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

    # --- schemas and URNs --------------------------------------------------------------------

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

    # --- strict lookups of canonical paths (what an adapter receives) -------------------------

    def locate(self, path: AttrPath) -> tuple[str | None, Attribute] | None:
        """The top-level attribute a canonical path names (its ``sub_attr`` is ignored), with the
        canonical URN of the extension that holds it (``None`` for the core schema and the common
        attributes ``id``, ``externalId``, ``meta``); ``None`` when there is none.

        Strict: the path's URN must be this type's core schema (or absent) or one of its
        extensions, and the name is not looked up anywhere else.
        """
        schema = self.core if path.urn is None else self.schema_for_urn(path.urn)
        return None if schema is None else self._find(schema, path.attr)

    def attribute(self, path: AttrPath) -> Attribute | None:
        """The top-level attribute a canonical path names (see :meth:`locate`), or ``None``."""
        found = self.locate(path)
        return None if found is None else found[1]

    def is_common(self, path: AttrPath) -> bool:
        """Whether a canonical path names a common attribute (``id``, ``externalId``, ``meta``;
        RFC 7643 §3.1), which no schema document lists."""
        return (path.urn is None or self.schema_for_urn(path.urn) is self.core) and \
            path.attr.lower() in _COMMON_INDEX

    def case_exact(self, path: AttrPath) -> bool:
        """Whether string values at a canonical path compare case-sensitively (RFC 7643 §2.2
        ``caseExact`` of the attribute, or of the sub-attribute the path names); ``False`` for a
        path this type does not have."""
        attribute = self.attribute(path)
        if attribute is not None and path.sub_attr is not None:
            attribute = attribute.sub(path.sub_attr)
        return attribute is not None and attribute.case_exact

    def date_time(self, path: AttrPath) -> bool:
        """Whether values at a canonical path are ``dateTime`` (of the sub-attribute the path names,
        or of a complex attribute's ``value``), so that they compare as moments, not as text."""
        attribute = self.attribute(path)
        if attribute is not None and (path.sub_attr is not None or attribute.type == "complex"):
            attribute = attribute.sub(path.sub_attr or "value")
        return attribute is not None and attribute.type == "dateTime"

    def _find(self, schema: Schema, name: str) -> tuple[str | None, Attribute] | None:
        if schema is self.core:
            attribute = _COMMON_INDEX.get(name.lower()) or schema.attribute(name)
            return (None, attribute) if attribute is not None else None
        attribute = schema.attribute(name)
        return (schema.id, attribute) if attribute is not None else None

    # --- lenient resolution of the paths clients write ----------------------------------------

    def top_level_key(self, key: str) -> "Schema | AttrPath | None":
        """What a top-level key of a resource body names: a whole schema block (the core's or
        an extension's, by URN), an attribute path ``[urn:]attr[.subAttr]`` (not yet resolved),
        or ``None`` for a URN of an extension this type does not have."""
        return remembered(self._top_level, key, self._classify_top_level, _RESOLVED_LIMIT)

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
        return remembered(self._resolved, path, self._resolve, _RESOLVED_LIMIT)

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
            found = self._find(schema, name)
        else:  # the core schema first, then (Note: Entra ID) the extensions
            found = None
            for schema in self._by_precedence:
                found = self._find(schema, name)
                if found is not None:
                    break
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

    @functools.cached_property
    def _by_precedence(self) -> tuple[Schema, ...]:
        return (self.core, *(ext for ext, _ in self.extensions))

    def filterable(self, path: AttrPath) -> tuple[AttrPath, Attribute]:
        """:meth:`resolve` for a path a filter or ``sortBy`` names; raises :class:`UnknownAttribute`
        for one that is never returned (``password``) too: RFC 7644 §3.4.2.2 lets a client filter
        only on what it could read."""
        canonical, attribute = self.resolve(path)
        parent = self.resolve(replace(path, sub_attr=None))[1] if path.sub_attr is not None else attribute
        if attribute.never_returned or parent.never_returned:
            raise UnknownAttribute(f"{canonical} is never returned (RFC 7643 §2.2), so it cannot be "
                                   "filtered or sorted on")
        return canonical, attribute

    @functools.cached_property
    def never_returned(self) -> tuple[tuple[str | None, str], ...]:
        """The top-level attributes that are never returned, as (extension URN or None, name)."""
        found: list[tuple[str | None, str]] = [(None, a.name) for a in self.core.attributes if a.never_returned]
        found += [(ext.id, a.name) for ext, _ in self.extensions for a in ext.attributes if a.never_returned]
        return tuple(found)

    # --- documents ------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], schemas: Mapping[str, Schema]) -> "ResourceType":
        """Build from an RFC 7643 §6 document; ``schemas`` maps lower-cased URNs to schemas."""
        def schema(urn: str) -> Schema:
            try:
                return schemas[urn.lower()]
            except KeyError:
                raise LookupError(f"resource type {doc.get('name')!r} names unknown schema {urn!r}") from None

        extensions: Iterable[Mapping[str, Any]] = doc.get("schemaExtensions", ())
        return cls(
            name=doc["name"],
            endpoint=doc["endpoint"],
            description=doc.get("description", ""),
            core=schema(doc["schema"]),
            extensions=tuple((schema(ext["schema"]), bool(ext.get("required", False))) for ext in extensions),
        )

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
