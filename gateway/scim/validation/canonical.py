"""A resource body in canonical form (RFC 7643 §2.1, §2.5; RFC 7644 §3.3): attribute names in
schema case, extension attributes under their URN, client quirks absorbed, read-only, never-kept
and unknown attributes dropped. Validation (:mod:`.resource`) then checks what is left."""

from __future__ import annotations

from typing import Any

from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType, Schema, UnknownAttribute
from gateway.scim.app_roles import plain_role
from gateway.scim.boolean_text import boolean_text
from gateway.scim.errors import InvalidSyntax, InvalidValue
from gateway.scim.validation.schema_errors import BODY

__all__ = ["canonicalise_resource"]

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
      URNs of unknown extensions are kept unchanged, but for an empty block (``{}``: unassigned,
      as for a known extension; a PUT clearing Okta's custom attributes sends one).
      Note: Entra ID sends custom extension blocks without listing them in ``schemas``.
    - A boolean attribute sent as the string ``"True"``/``"False"`` (any case) becomes a bool;
      other strings are kept and fail validation. Note: Entra ID sends string booleans (P2).
    - A single-valued complex attribute with a ``value`` sub-attribute sent as a bare string
      becomes ``{"value": ...}`` (an empty string means unassigned), and a one-element array
      is unwrapped. Note: Entra ID sends the enterprise ``manager`` in both shapes (P6).
    - A ``roles`` element in one of Entra ID's app-role shapes becomes a plain role
      (:mod:`gateway.scim.app_roles`).
    - ``schemas`` is rebuilt: the core URN plus each known extension present.
      Note: Entra ID has sent typo URNs in ``schemas`` (P13); they are not rejected.

    Raises :class:`~gateway.scim.errors.InvalidSyntax` when ``body`` is not an object.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{BODY} must be a JSON object")
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
        elif value not in ({}, []):  # an unknown extension's block, kept as sent unless empty (RFC 7643 §2.5)
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
        named = boolean_text(value)  # Note: Entra ID sends "True"/"False" (P2)
        return value if named is None else named
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
    value = plain_role(attribute, value)  # Note: Entra ID's app-role shapes
    out: dict[str, Any] = {}
    for name, item in value.items():
        sub = attribute.sub(name)
        if sub is None or _discarded(sub):
            continue
        canonical = _canonical_value(sub, item)
        if canonical is not _DROP:
            out[sub.name] = canonical
    return out or _DROP
