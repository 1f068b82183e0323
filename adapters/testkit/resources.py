"""Builders of the User resources the conformance kit hands to an adapter.

Every resource built here is what the gateway guarantees an adapter receives (see
:mod:`adapters.base`): canonical SCIM JSON with schema-cased attribute names, the enterprise
extension under its URN (RFC 7643 §4.3) and listed in ``schemas``, schema-valid, and without
the read-only ``id`` and ``meta`` (RFC 7643 §3.1).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.base import Resource
from adapters.schema import CORE_USER_URN, ENTERPRISE_USER_URN

__all__ = ["CORE_USER_URN", "ENTERPRISE_USER_URN", "full_user", "make_user", "user_view", "work_email"]


def work_email(value: str, *, primary: bool = True) -> dict[str, Any]:
    """One ``emails`` element of type ``work`` (RFC 7643 §4.1.2)."""
    return {"value": value, "type": "work", "primary": primary}


def make_user(user_name: str, *, display_name: str | None = None, given_name: str | None = None,
              family_name: str | None = None, title: str | None = None, external_id: str | None = None,
              emails: Sequence[Mapping[str, Any]] | None = None, active: bool | None = True,
              department: str | None = None, employee_number: str | None = None) -> Resource:
    """A canonical SCIM User (RFC 7643 §4.1) with exactly the attributes given; ``None`` means absent.

    ``department``/``employee_number`` go into the enterprise extension (RFC 7643 §4.3), whose
    URN is then listed in ``schemas``.
    """
    user: Resource = {"schemas": [CORE_USER_URN], "userName": user_name}
    if external_id is not None:
        user["externalId"] = external_id
    name = {key: value for key, value in (("givenName", given_name), ("familyName", family_name))
            if value is not None}
    if name:
        user["name"] = name
    if display_name is not None:
        user["displayName"] = display_name
    if title is not None:
        user["title"] = title
    if emails is not None:
        user["emails"] = [dict(email) for email in emails]
    if active is not None:
        user["active"] = active
    enterprise = {key: value for key, value in (("department", department), ("employeeNumber", employee_number))
                  if value is not None}
    if enterprise:
        user["schemas"].append(ENTERPRISE_USER_URN)
        user[ENTERPRISE_USER_URN] = enterprise
    return user


def full_user(user_name: str, **overrides: Any) -> Resource:
    """A User with every attribute the kit checks set (as Entra ID sends them); ``overrides``
    are :func:`make_user` keywords (``title=None`` drops the title)."""
    local = user_name.split("@", 1)[0]
    values: dict[str, Any] = {
        "display_name": f"{local.title()} Example", "given_name": local.title(), "family_name": "Example",
        "title": "Engineer", "external_id": f"ext-{local}", "emails": [work_email(user_name)],
        "active": True, "department": "Research", "employee_number": f"E-{local}",
    }
    values.update(overrides)
    return make_user(user_name, **values)


def user_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The client-supplied part of a resource, for comparing what was sent with what came back:
    ``id`` and ``meta`` (server-owned) removed and ``schemas`` sorted (its order carries no meaning)."""
    view = {key: copy.deepcopy(value) for key, value in resource.items() if key not in ("id", "meta")}
    if isinstance(view.get("schemas"), list):
        view["schemas"] = sorted(view["schemas"])
    return view
