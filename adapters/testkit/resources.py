"""Builders of the User resources the conformance kit hands to an adapter.

Every resource built here is what the gateway guarantees an adapter receives (see
:mod:`adapters.base`): canonical SCIM JSON with schema-cased attribute names, the enterprise
extension under its URN (RFC 7643 §4.3) and listed in ``schemas``, schema-valid, and without
the read-only ``id`` and ``meta`` (RFC 7643 §3.1). An unknown extension's block (such as Entra
ID's custom extension attributes) is kept under its URN but not listed in ``schemas``: the
gateway rebuilds ``schemas`` from the extensions it serves, and the adapter must return the block
exactly as sent (README, "Entra ID guide").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.base import Resource
from adapters.schema import CORE_USER_URN, ENTERPRISE_USER_URN

__all__ = ["CORE_USER_URN", "CUSTOM_EXTENSION_URN", "ENTERPRISE_USER_URN", "full_user", "make_user", "user_view",
           "work_email"]

#: An extension the gateway does not serve, as Entra ID sends custom extension attributes.
CUSTOM_EXTENSION_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def work_email(value: str, *, primary: bool = True) -> dict[str, Any]:
    """One ``emails`` element of type ``work`` (RFC 7643 §4.1.2)."""
    return {"value": value, "type": "work", "primary": primary}


def make_user(user_name: str, *, display_name: str | None = None, given_name: str | None = None,
              family_name: str | None = None, title: str | None = None, external_id: str | None = None,
              emails: Sequence[Mapping[str, Any]] | None = None, active: bool | None = True,
              department: str | None = None, employee_number: str | None = None, nick_name: str | None = None,
              phone_numbers: Sequence[Mapping[str, Any]] | None = None,
              addresses: Sequence[Mapping[str, Any]] | None = None, preferred_language: str | None = None,
              locale: str | None = None, manager: str | None = None,
              custom: Mapping[str, Any] | None = None) -> Resource:
    """A canonical SCIM User (RFC 7643 §4.1) with exactly the attributes given; ``None`` means absent.

    ``department``/``employee_number``/``manager`` (the manager's id) go into the enterprise
    extension (RFC 7643 §4.3), whose URN is then listed in ``schemas``; ``custom`` is the block of
    :data:`CUSTOM_EXTENSION_URN`, not listed (see the module's docstring).
    """
    user: Resource = {"schemas": [CORE_USER_URN], "userName": user_name}
    name = {key: value for key, value in (("givenName", given_name), ("familyName", family_name))
            if value is not None}
    singles = (("externalId", external_id), ("name", name or None), ("displayName", display_name),
               ("nickName", nick_name), ("title", title), ("preferredLanguage", preferred_language),
               ("locale", locale), ("active", active))
    user.update((key, value) for key, value in singles if value is not None)
    for key, items in (("emails", emails), ("phoneNumbers", phone_numbers), ("addresses", addresses)):
        if items is not None:
            user[key] = [dict(item) for item in items]
    enterprise: dict[str, Any] = {key: value for key, value in (("department", department),
                                                                ("employeeNumber", employee_number)) if value is not None}
    if manager is not None:
        enterprise["manager"] = {"value": manager}
    if enterprise:
        user["schemas"].append(ENTERPRISE_USER_URN)
        user[ENTERPRISE_USER_URN] = enterprise
    if custom is not None:
        user[CUSTOM_EXTENSION_URN] = copy.deepcopy(dict(custom))
    return user


def full_user(user_name: str, **overrides: Any) -> Resource:
    """A User with every attribute Entra ID and Okta send set (RFC 7643 §4.1, §4.3): the core
    ones, work and mobile phones, a work address, the enterprise extension with a manager, and a
    custom extension's attributes. ``overrides`` are :func:`make_user` keywords (``title=None``
    drops the title)."""
    local = user_name.split("@", 1)[0]
    values: dict[str, Any] = {
        "display_name": f"{local.title()} Example", "given_name": local.title(), "family_name": "Example",
        "title": "Engineer", "external_id": f"ext-{local}", "emails": [work_email(user_name)],
        "active": True, "department": "Research", "employee_number": f"E-{local}", "nick_name": local.title(),
        "phone_numbers": [{"value": "+1 555 0100", "type": "work", "primary": True},
                          {"value": "+1 555 0199", "type": "mobile"}],
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "region": "IL",
                       "postalCode": "62701", "country": "US", "formatted": "1 Main St, Springfield, IL 62701, US",
                       "primary": True}],
        "preferred_language": "en-US", "locale": "en-US", "manager": f"manager-of-{local}",
        "custom": {"costCenter": "CC-42", "badges": ["blue", "green"]},
    }
    values.update(overrides)
    return make_user(user_name, **values)


def user_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The client-supplied part of a resource, for comparing what was sent with what came back:
    ``id`` and ``meta`` (server-owned) removed and ``schemas`` sorted (its order carries no meaning).
    The URN of an unknown extension block present in the resource counts as listed: the gateway
    hands it over unlisted, and an adapter may list it (RFC 7643 §3: ``schemas`` names the
    schemas a representation uses)."""
    view = {key: copy.deepcopy(value) for key, value in resource.items() if key not in ("id", "meta")}
    if isinstance(view.get("schemas"), list):
        unknown = {key for key, value in view.items() if key.lower().startswith("urn:") and isinstance(value, dict)
                   and key not in (CORE_USER_URN, ENTERPRISE_USER_URN)}
        view["schemas"] = sorted(set(view["schemas"]) | unknown)
    return view
