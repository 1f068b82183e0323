"""A resource body checked (RFC 7643 §2.2, §3; RFC 7644 §3.3): its ``schemas`` member as sent, and,
once canonical, its JSON Schema (types, at most one ``primary``) and required attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.schema import Attribute, ResourceType
from gateway.scim.errors import InvalidSyntax, InvalidValue
from gateway.scim.validation.json_schemas import resource_schema
from gateway.scim.validation.schema_errors import BODY

__all__ = ["validate_resource", "validate_schemas_member"]


def validate_schemas_member(body: Any, rtype: ResourceType) -> None:
    """Check the ``schemas`` member of a POST or PUT body (RFC 7643 §3: required, an array of the
    schema URNs the resource uses, the core schema's among them).

    Raises :class:`~gateway.scim.errors.InvalidSyntax` when it is missing, not an array of
    strings or lacks the core URN. Any other URN is accepted: canonicalisation rebuilds
    ``schemas`` from the attributes sent, so a URN without attributes under it is dropped and an
    unknown extension's attributes are kept under theirs. Note: Entra ID lists the enterprise URN
    in every POST and its published example misspells it (P13: "don't validate strictly"); a PUT
    built from a GET's answer with a custom extension's values taken out still lists its URN.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{BODY} must be a JSON object")
    schemas = next((value for key, value in body.items() if key.lower() == "schemas"), None)
    wanted = f'an array of schema URNs that includes "{rtype.core.id}" (RFC 7643 §3)'
    if schemas is None:
        raise InvalidSyntax(f'{BODY} must have "schemas": {wanted}')
    if not isinstance(schemas, list) or not all(isinstance(urn, str) for urn in schemas):
        raise InvalidSyntax(f'"schemas" must be {wanted}')
    if rtype.core.id.lower() not in (urn.lower() for urn in schemas):
        raise InvalidSyntax(f'"schemas" must be {wanted}')


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
