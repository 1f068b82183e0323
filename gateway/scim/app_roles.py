"""Entra ID's app-role assignments as elements of ``roles`` (RFC 7643 §4.1.2).

Note: Entra ID's SingleAppRoleAssignment and AppRoleAssignmentsComplex mappings PATCH each role
as ``{"value": "<JSON text>"}``, the text an object of ``id``, ``value`` and ``displayName``; its
complex POST labels a role ``displayName`` where RFC 7643 names the sub-attribute ``display``.
Both become a plain role, ``{"value": <the role's value>, "display": <its label>}``: keyed on the
role's ``value`` (not the assignment's ``id``), an ``add`` of a role the user already has changes
nothing (RFC 7644 §3.5.2.1) instead of piling up a second, unsearchable copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.schema import Attribute

__all__ = ["plain_role"]

#: The attribute whose elements Entra sends in these shapes.
ROLES = "roles"
#: Entra's name for the label RFC 7643 calls ``display`` (keys compare case-insensitively, §2.1).
ENTRA_LABEL = "displayname"


def plain_role(attr: Attribute, element: Any) -> Any:
    """``element`` of ``attr`` as a plain role when ``attr`` is ``roles`` and Entra shaped it;
    anything else unchanged (validation judges it as sent)."""
    if attr.name != ROLES or not isinstance(element, Mapping):
        return element
    role = dict(element)
    assignment = _assignment(role.get("value"))
    if assignment is not None:
        role["value"] = assignment["value"]
        label = assignment.get("displayName", assignment.get("display"))
        if isinstance(label, str) and not any(str(key).lower() == "display" for key in role):
            role["display"] = label
    for key in [key for key in role if str(key).lower() == ENTRA_LABEL]:
        label = role.pop(key)
        if not any(str(other).lower() == "display" for other in role):
            role["display"] = label
    return role


def _assignment(value: Any) -> Mapping[str, Any] | None:
    """The assignment object a role's ``value`` holds as JSON text, if it holds one with a
    string ``value``."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("value"), str) and parsed["value"]:
        return parsed
    return None
