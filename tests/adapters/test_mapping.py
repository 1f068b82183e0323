"""The pure employees ⇄ SCIM User mapping, without a database."""

from __future__ import annotations

import json
from typing import Any

from adapters.schema import ENTERPRISE_USER_URN as ENTERPRISE_URN
from adapters.vizmo_sqlite.mapping import from_storage, kept_status, to_storage, version_tag

ENTRA_USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Joy.Young@Contoso.com",
    "active": True,
    "displayName": "Joy Young",
    "title": "Engineer",
    "emails": [{"primary": True, "type": "work", "value": "jyoung@Contoso.com"}],
    "name": {"formatted": "Joy Young", "familyName": "Young", "givenName": "Joy"},
    "phoneNumbers": [{"type": "work", "value": "+91 11 1234", "primary": True},
                     {"type": "mobile", "value": "+91 98 7654"}, {"type": "fax", "value": "+91 11 9999"}],
    "preferredLanguage": "en-IN",
    ENTERPRISE_URN: {"department": "R&D", "employeeNumber": "701984", "manager": {"value": "42"},
                     "costCenter": "4130"},
}


def _row(stored: Any, **overrides: Any) -> dict[str, Any]:
    row = {"id": 7, **stored.columns, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
           "scim_id": "7", "external_id": stored.external_id, "extra": json.dumps(stored.extra), "version": 1,
           "incarnation": 0}
    row.update(overrides)
    return row


def test_legacy_columns_get_the_portal_fields() -> None:
    stored = to_storage(ENTRA_USER)
    assert stored.columns == {
        "email": "Joy.Young@Contoso.com", "first_name": "Joy", "last_name": "Young", "display_name": "Joy Young",
        "designation": "Engineer", "department": "R&D", "employee_code": "701984", "status": "active",
        "phone": "+91 11 1234", "mobile": "+91 98 7654"}
    assert stored.external_id == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert stored.extra["preferredLanguage"] == "en-IN"
    assert stored.extra[ENTERPRISE_URN] == {"manager": {"value": "42"}, "costCenter": "4130"}
    assert stored.extra["name"] == {"formatted": "Joy Young"}


def test_round_trip_returns_what_was_sent() -> None:
    resource = from_storage(_row(to_storage(ENTRA_USER)))
    sent = {k: v for k, v in ENTRA_USER.items() if k != "schemas"}
    got = {k: v for k, v in resource.items() if k not in ("schemas", "id", "meta")}
    assert got == sent
    assert resource["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN]
    assert resource["id"] == "7"
    assert resource["meta"]["created"] == "2026-01-01T00:00:00Z"


def test_active_false_is_disabled_and_absent_keeps_current_status() -> None:
    assert to_storage({"userName": "a@x", "active": False}).columns["status"] == "disabled"
    assert to_storage({"userName": "a@x"}, current_status="disabled").columns["status"] == "disabled"
    assert to_storage({"userName": "a@x"}).columns["status"] == "active"
    assert not to_storage({"userName": "a@x"}).status_given and to_storage({"userName": "a@x", "active": True}).status_given
    assert [kept_status(s) for s in ("disabled", "active", "removed", None)] == ["disabled", "active", "active", "active"]


def test_portal_edits_of_phone_columns_win_over_the_stored_copy() -> None:
    stored = to_storage(ENTRA_USER)
    resource = from_storage(_row(stored, phone="+91 11 0000", mobile=None))
    assert resource["phoneNumbers"] == [{"type": "work", "value": "+91 11 0000", "primary": True},
                                        {"type": "fax", "value": "+91 11 9999"}]


def test_portal_employee_without_scim_row() -> None:
    row = {"id": 12, "email": "temp@vizmo.test", "first_name": "Tem", "last_name": "", "display_name": None,
           "phone": "123", "mobile": None, "department": None, "designation": None, "employee_code": None,
           "status": "disabled", "created_at": "2025-05-05T10:00:00Z", "updated_at": "2025-05-05T10:00:00Z",
           "scim_id": None, "external_id": None, "extra": None, "version": None, "incarnation": None}
    resource = from_storage(row)
    assert resource["id"] == "12"
    assert resource["userName"] == "temp@vizmo.test"
    assert resource["name"] == {"givenName": "Tem"}
    assert resource["active"] is False
    assert resource["phoneNumbers"] == [{"type": "work", "value": "123"}]
    assert "externalId" not in resource and ENTERPRISE_URN not in resource


def test_version_changes_with_scim_and_portal_writes() -> None:
    row = _row(to_storage(ENTRA_USER))
    base = version_tag(row)
    assert base.startswith('W/"') and base.endswith('"')
    assert version_tag(dict(row)) == base
    assert version_tag({**row, "version": 2}) != base
    assert version_tag({**row, "updated_at": "2026-01-02T00:00:01Z"}) != base
    assert version_tag({**row, "first_name": "Joyce"}) != base  # a portal edit within the same second
    assert version_tag({**row, "scim_id": "7.1"}) != base
    # field boundaries and types count: no two different rows share a tag by concatenation
    assert version_tag({**row, "phone": None}) != version_tag({**row, "phone": "None"})
    assert version_tag({**row, "first_name": "a,b", "last_name": "c"}) != \
        version_tag({**row, "first_name": "a", "last_name": "b,c"})
    assert version_tag({**row, "version": 1}) != version_tag({**row, "version": "1"})
