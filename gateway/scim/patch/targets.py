"""What a PATCH ``path`` names (RFC 7644 §3.5.2): ``attrPath`` or ``valuePath [subAttr]``,
resolved against the schema model.

A path to a known attribute becomes a :class:`Target` (its filter canonicalised); a path into an
extension the schema does not know becomes a :class:`RawTarget`; an unknown attribute, or one that
is accepted and never kept (``password``), names nothing (``None``: the operation is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from adapters.query import AttrPath, Filter, ValuePath
from adapters.schema import Attribute, ResourceType, UnknownAttribute
from gateway.scim.canonical_filter import canonical_filter
from gateway.scim.errors import FilterSyntaxError, InvalidPath, Mutability
from gateway.scim.filter import parse_patch_path
from gateway.scim.json_type import shown_json

__all__ = ["RawTarget", "Target", "resolve_target", "writable"]


@dataclass(frozen=True)
class Target:
    """A path resolved against the schema; ``block`` is the extension URN (``None`` for core),
    ``vfilter`` the canonical element filter of a value path."""

    label: str
    block: str | None
    attr: Attribute
    sub: Attribute | None = None
    vfilter: Filter | None = None


@dataclass(frozen=True)
class RawTarget:
    """A path into an extension the schema does not know: ``urn`` as written, the attribute
    ``name`` and an optional ``sub``-attribute name."""

    label: str
    urn: str
    name: str
    sub: str | None = None


def resolve_target(text: str, rtype: ResourceType, *, explicit: bool) -> Union[Target, RawTarget, None]:
    """Resolve ``text``; ``None`` when it names an unknown attribute. A path that does not parse
    is ``invalidPath`` when the client wrote it as ``path`` (``explicit``), and names nothing
    when it is a key of a path-less value."""
    try:
        parsed = parse_patch_path(text)
    except FilterSyntaxError as exc:
        if explicit:
            raise InvalidPath(f"{shown_json(text)} is not a valid attribute path: {str(exc)[:120]}") from None
        return None
    path, vfilter = parsed.path, parsed.value_filter
    sub_name = parsed.sub_attr if vfilter is not None else (path.sub_attr or parsed.sub_attr)
    if vfilter is not None and path.sub_attr is not None:
        raise InvalidPath(f"{shown_json(text)}: a value filter must follow a top-level attribute")
    try:
        canonical, attr = rtype.resolve(AttrPath(path.attr, urn=path.urn))
    except UnknownAttribute:
        urn = path.urn  # the parser splits a URN off at its last colon
        if urn is not None and rtype.schema_for_urn(urn) is None and vfilter is None:
            return RawTarget(text, urn, path.attr, sub_name)
        return None
    block = canonical.urn
    sub = attr.sub(sub_name) if sub_name is not None else None
    if (sub_name is not None and sub is None) or attr.never_returned or (sub is not None and sub.never_returned):
        return None  # unknown, or accepted and never kept (``password``)
    if vfilter is not None:
        if not (attr.multi_valued and attr.type == "complex"):
            raise InvalidPath(f"{shown_json(text)}: {attr.name} is not a multi-valued complex "
                              "attribute, so it cannot take a value filter")
        try:
            canonical_path = canonical_filter(ValuePath(AttrPath(attr.name, urn=block), vfilter), rtype)
        except UnknownAttribute:
            return None
        assert isinstance(canonical_path, ValuePath)
        vfilter = canonical_path.filter
    return Target(text, block, attr, sub, vfilter)


def writable(target: Target, *, explicit: bool) -> bool:
    """RFC 7644 §3.5.2: a client MUST NOT modify a readOnly attribute (``mutability`` for a
    ``path``; a key of a path-less value is skipped, since clients echo ``id`` and ``meta``)."""
    for attr in (target.attr, target.sub):
        if attr is not None and attr.mutability.lower() == "readonly":
            if explicit:
                raise Mutability(f"{target.label} is read-only and cannot be modified "
                                 "(RFC 7644 §3.5.2)")
            return False
    return True
