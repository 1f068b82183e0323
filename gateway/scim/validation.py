"""Request canonicalisation and validation (RFC 7643 §2, RFC 7644 §3.3, §3.4.3, §3.5.2).

The flow for a resource body is ``canonicalise_resource`` (names to schema case, client quirks
absorbed, read-only and unknown attributes dropped) then ``validate_resource`` (types, required
attributes). Both raise :class:`~gateway.scim.errors.InvalidValue` or
:class:`~gateway.scim.errors.InvalidSyntax`, whose ``detail`` is one sentence naming the attribute
path, e.g. ``emails[0].primary must be a boolean``.

The JSON Schemas under ``schemas/request/`` are compiled once (:mod:`.request_schemas`); a
resource type without a bundled request schema gets one derived from its RFC 7643 schema model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType, Schema, UnknownAttribute
from gateway.scim.errors import InvalidSyntax, InvalidValue
from gateway.scim.request_schemas import request_schema, resource_schema

_BODY = "The request body"
_SEARCH_KEYS = ("schemas", "attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count")


# --- the schemas member ----------------------------------------------------------------------

#: URNs accepted in ``schemas`` as another spelling of a known one (lower-cased).
#: Note: Entra ID's published reference example lists ``...:enterprise:2.0User`` (no colon; P13).
_URN_ALIASES = {"urn:ietf:params:scim:schemas:extension:enterprise:2.0user":
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"}


def validate_schemas_member(body: Any, rtype: ResourceType) -> None:
    """Check the ``schemas`` member of a POST or PUT body (RFC 7643 §3: required, an array of the
    schema URNs the resource uses, the core schema's among them).

    Raises :class:`~gateway.scim.errors.InvalidSyntax` when it is missing, not an array of
    strings or lacks the core URN; :class:`~gateway.scim.errors.InvalidValue` when it names a
    schema this resource type does not have. An extension listed without attributes is fine (Note: Entra ID lists the
    enterprise URN in every POST, P13). Canonicalisation then rebuilds ``schemas``.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{_BODY} must be a JSON object")
    schemas = next((value for key, value in body.items() if key.lower() == "schemas"), None)
    wanted = f'an array of schema URNs that includes "{rtype.core.id}" (RFC 7643 §3)'
    if schemas is None:
        raise InvalidSyntax(f'{_BODY} must have "schemas": {wanted}')
    if not isinstance(schemas, list) or not all(isinstance(urn, str) for urn in schemas):
        raise InvalidSyntax(f'"schemas" must be {wanted}')
    listed = [_URN_ALIASES.get(urn.lower(), urn.lower()) for urn in schemas]
    if rtype.core.id.lower() not in listed:
        raise InvalidSyntax(f'"schemas" must be {wanted}')
    for urn, given in zip(listed, schemas):
        if rtype.schema_for_urn(urn) is None:
            raise InvalidValue(f'"schemas" names {given[:200]!r}, which is not a schema of the '
                               f"{rtype.name} resource type (see /ResourceTypes)")


# --- canonicalisation ------------------------------------------------------------------------

_DROP: Any = object()  # marker: the value is unassigned (RFC 7643 §2.5) and is left out


def canonicalise_resource(body: Any, rtype: ResourceType) -> dict[str, Any]:
    """Return ``body`` as canonical SCIM JSON for ``rtype`` (RFC 7643 §2.1, RFC 7644 §3.3).

    - Attribute and sub-attribute names take their schema case; extension attributes move into
      the block under the canonical extension URN (also when sent as a URN-qualified top-level
      key such as ``urn:...:enterprise:2.0:User:department``).
    - ``null`` values, empty arrays and empty objects are dropped (RFC 7643 §2.5).
      Note: Entra ID sends ``"addresses": null`` and similar in POST bodies (P10).
    - Read-only attributes (``id``, ``meta``, ``groups``, ``manager.displayName``) are ignored
      (RFC 7644 §3.3), as are never-returned ones (``password``: accepted, never kept) and
      unknown plain attributes and sub-attributes. Keys that look like
      URNs of unknown extensions are kept unchanged.
      Note: Entra ID sends custom extension blocks without listing them in ``schemas``.
    - A boolean attribute sent as the string ``"True"``/``"False"`` (any case) becomes a bool;
      other strings are kept and fail validation. Note: Entra ID sends string booleans (P2).
    - A single-valued complex attribute with a ``value`` sub-attribute sent as a bare string
      becomes ``{"value": ...}`` (an empty string means unassigned), and a one-element array
      is unwrapped. Note: Entra ID sends the enterprise ``manager`` in both shapes (P6).
    - ``schemas`` is rebuilt: the core URN plus each known extension present.
      Note: Entra ID has sent typo URNs in ``schemas`` (P13); they are not rejected.

    Raises :class:`~gateway.scim.errors.InvalidSyntax` when ``body`` is not an object.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{_BODY} must be a JSON object")
    core: dict[str, Any] = {}
    blocks: dict[str, dict[str, Any]] = {ext.id: {} for ext, _ in rtype.extensions}
    unknown: dict[str, Any] = {}
    for key, value in body.items():
        if value is None or key.lower() == "schemas":
            continue
        kind = rtype.top_level_key(key)
        if isinstance(kind, Schema):  # a whole extension block (or, leniently, one for the core schema)
            if not isinstance(value, dict):
                raise InvalidValue(f"{kind.id} must be an object")
            for name, item in value.items():
                _place(rtype, core, blocks, AttrPath(attr=name, urn=kind.id), item)
        elif kind is not None:
            _place(rtype, core, blocks, kind, value)
        else:
            unknown[key] = value
    present = [ext.id for ext, _ in rtype.extensions if blocks[ext.id]]
    out: dict[str, Any] = {"schemas": [rtype.core.id, *present]}
    out.update(core)
    out.update((urn, blocks[urn]) for urn in present)
    out.update(unknown)
    return out


def _place(
    rtype: ResourceType, core: dict[str, Any], blocks: dict[str, dict[str, Any]], path: AttrPath, value: Any
) -> None:
    """Put ``value`` at ``path`` into the core attributes or the extension block it resolves to.

    Note: Entra ID has sent enterprise attributes (``department``, ``manager``) without their
    URN; :meth:`ResourceType.resolve` maps such a bare name to the extension.
    """
    try:
        canonical, attribute = rtype.resolve(path)
    except UnknownAttribute:
        return  # unknown attributes are ignored (RFC 7644 §3.3)
    target = core if canonical.urn is None else blocks[canonical.urn]
    if _discarded(attribute):
        return
    if canonical.sub_attr is not None:  # a dotted key such as "name.givenName"
        parent = rtype.resolve(AttrPath(attr=canonical.attr, urn=canonical.urn))[1]
        if parent.multi_valued or _discarded(parent):
            return
        sub_value = _canonical_value(attribute, value)
        if sub_value is not _DROP:
            holder = target.get(parent.name)
            if not isinstance(holder, dict):
                holder = target[parent.name] = {}
            holder[attribute.name] = sub_value
        return
    new = _canonical_value(attribute, value)
    if new is _DROP:
        return
    old = target.get(attribute.name)
    if isinstance(old, dict) and isinstance(new, dict):
        old.update(new)
    else:
        target[attribute.name] = new


def _discarded(attribute: Attribute) -> bool:
    """Read-only attributes are the service provider's (RFC 7644 §3.3); never-returned ones
    (``password``) are accepted and never kept (:attr:`Attribute.never_returned`)."""
    return attribute.mutability == "readOnly" or attribute.never_returned


def _canonical_value(attribute: Attribute, value: Any) -> Any:
    """``value`` in canonical form for ``attribute``, or ``_DROP`` when it is unassigned."""
    if value is None:
        return _DROP
    if not attribute.multi_valued:
        return _canonical_single(attribute, value)
    if not isinstance(value, list):
        return value  # validation reports that an array is expected
    items = [_canonical_single(attribute, item) for item in value if item is not None]
    items = [item for item in items if item is not _DROP]
    return items or _DROP


def _canonical_single(attribute: Attribute, value: Any) -> Any:
    if value == "" and attribute.type != "boolean":
        return _DROP  # an empty string is stored as "no value", like null (and like the legacy columns)
    if attribute.type == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # Note: Entra ID sends "True"/"False" (P2)
        return value
    if attribute.type != "complex":
        return value
    if not attribute.multi_valued and attribute.sub("value") is not None:
        # Note: Entra ID sends manager as "<id>", [{"value": "<id>", "$ref": ...}] or "" (P6)
        if isinstance(value, list) and len(value) <= 1:
            value = value[0] if value else None
        if isinstance(value, str):
            value = {"value": value} if value else None
        if value is None:
            return _DROP
    if not isinstance(value, dict):
        return value  # validation reports that an object is expected
    out: dict[str, Any] = {}
    for name, item in value.items():
        sub = attribute.sub(name)
        if sub is None or _discarded(sub):
            continue
        canonical = _canonical_value(sub, item)
        if canonical is not _DROP:
            out[sub.name] = canonical
    return out or _DROP


# --- validation ------------------------------------------------------------------------------


def validate_resource(resource: dict[str, Any], rtype: ResourceType) -> None:
    """Check a canonical resource against its request JSON Schema and required attributes.

    Raises :class:`~gateway.scim.errors.InvalidValue` naming the first offending path.
    """
    detail = resource_schema(rtype).first_error(resource, "The resource")
    if detail is not None:
        raise InvalidValue(detail)
    missing = _first_missing_required(resource, rtype)
    if missing is not None:
        raise InvalidValue(f"{missing} is required")


def _first_missing_required(resource: Mapping[str, Any], rtype: ResourceType) -> str | None:
    """The path of the first required attribute (RFC 7643 §2.2 ``required``) without a value."""
    found = _missing_in(resource, rtype.core.required_within, "")
    if found is not None:
        return found
    for ext, required in rtype.extensions:
        block = resource.get(ext.id)
        if _unassigned(block):
            if required:
                return ext.id
            continue
        found = _missing_in(block, ext.required_within, f"{ext.id}:")
        if found is not None:
            return found
    return None


def _missing_in(container: Any, attributes: tuple[Attribute, ...], prefix: str) -> str | None:
    """``attributes``: those that are required or hold required ones (``required_within``)."""
    if not isinstance(container, Mapping):
        return None
    for attribute in attributes:
        value = container.get(attribute.name)
        path = f"{prefix}{attribute.name}"
        if _unassigned(value):
            if attribute.required:
                return path
            continue
        if attribute.type == "complex":
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                where = f"{path}[{index}]." if attribute.multi_valued else f"{path}."
                found = _missing_in(item, attribute.required_within, where)
                if found is not None:
                    return found
    return None


def _unassigned(value: Any) -> bool:
    return value is None or value == [] or value == {}


def validate_patch_request(body: Any) -> list[dict[str, Any]]:
    """Validate a PATCH body (RFC 7644 §3.5.2) and return its operations.

    Member names are matched case-insensitively; each returned operation has the keys ``op``
    (lower-cased; Note: Entra ID sends ``Add``/``Replace``/``Remove``, P1) and, when sent,
    ``path`` and ``value``. Raises :class:`~gateway.scim.errors.InvalidSyntax`.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{_BODY} must be a JSON object")
    body = _with_canonical_keys(body, ("schemas", "Operations"))
    operations = body.get("Operations")
    if isinstance(operations, list):
        body["Operations"] = [
            _with_canonical_keys(op, ("op", "path", "value")) if isinstance(op, dict) else op for op in operations
        ]
    detail = request_schema("PatchOp").first_error(body, _BODY)
    if detail is not None:
        raise InvalidSyntax(detail)
    return [
        {key: (op[key].lower() if key == "op" else op[key]) for key in ("op", "path", "value") if key in op}
        for op in body["Operations"]
    ]


def validate_search_request(body: Any) -> dict[str, Any]:
    """Validate a ``POST .search`` body (RFC 7644 §3.4.3) and return its known members.

    Member names are matched case-insensitively, ``sortOrder`` is lower-cased and integral
    ``startIndex``/``count`` become ints. Raises :class:`~gateway.scim.errors.InvalidSyntax`.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{_BODY} must be a JSON object")
    body = _with_canonical_keys(body, _SEARCH_KEYS)
    if isinstance(body.get("sortOrder"), str):
        body["sortOrder"] = body["sortOrder"].lower()
    detail = request_schema("SearchRequest").first_error(body, _BODY)
    if detail is not None:
        raise InvalidSyntax(detail)
    out = {key: body[key] for key in _SEARCH_KEYS if key in body}
    for key in ("startIndex", "count"):
        if key in out:
            out[key] = int(out[key])
    return out


def _with_canonical_keys(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A copy of ``body`` whose keys matching ``names`` case-insensitively are spelt as in ``names``."""
    canonical = {name.lower(): name for name in names}
    return {canonical.get(key.lower(), key): value for key, value in body.items()}
