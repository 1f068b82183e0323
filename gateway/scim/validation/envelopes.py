"""The message envelopes of PATCH (RFC 7644 §3.5.2) and ``.search`` (RFC 7644 §3.4.3): member names
matched case-insensitively, checked against their bundled JSON Schemas, returned in one spelling."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.scim.errors import InvalidSyntax
from gateway.scim.validation.json_schemas import request_schema
from gateway.scim.validation.schema_errors import BODY

__all__ = ["validate_patch_request", "validate_search_request"]

_SEARCH_KEYS = ("schemas", "attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count")


def validate_patch_request(body: Any) -> list[dict[str, Any]]:
    """Validate a PATCH body (RFC 7644 §3.5.2) and return its operations.

    Member names are matched case-insensitively; each returned operation has the keys ``op``
    (lower-cased; Note: Entra ID sends ``Add``/``Replace``/``Remove``, P1) and, when sent,
    ``path`` and ``value``. Raises :class:`~gateway.scim.errors.InvalidSyntax`.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"{BODY} must be a JSON object")
    body = _with_canonical_keys(body, ("schemas", "Operations"))
    operations = body.get("Operations")
    if isinstance(operations, list):
        body["Operations"] = [
            _with_canonical_keys(op, ("op", "path", "value")) if isinstance(op, dict) else op for op in operations
        ]
    detail = request_schema("PatchOp").first_error(body, BODY)
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
        raise InvalidSyntax(f"{BODY} must be a JSON object")
    body = _with_canonical_keys(body, _SEARCH_KEYS)
    if isinstance(body.get("sortOrder"), str):
        body["sortOrder"] = body["sortOrder"].lower()
    detail = request_schema("SearchRequest").first_error(body, BODY)
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
