"""The Vizmo portal keeps working beside the gateway, over real HTTP and a real directory file.

The portal reads and writes the legacy tables with plain SQL (``gateway_env.sql``, a separate
connection): rows SCIM writes must look like the portal's own, rows the portal writes must be
visible and manageable through SCIM at once, and the legacy schema must never change.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.support import GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LEGACY_TABLES = ("companies", "locations", "employees", "employee_roles", "visits")
#: The portal's timestamp form (directory.sql: "ISO 8601, UTC").
PORTAL_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PORTAL_CREATED = "2024-03-01T09:00:00Z"


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def eq(attr: str, value: str) -> str:
    return "?" + urlencode({"filter": f'{attr} eq "{value}"'})


def portal_insert(env: GatewayEnv, email: str, first: str = "Asha", last: str = "Rao", status: str = "active",
                  location: int = 1, **columns: Any) -> int:
    """What the portal does when an admin adds an employee by hand (no ``scim_`` row)."""
    names = ["location_id", "email", "first_name", "last_name", "status", "created_at", "updated_at", *columns]
    values = [location, email, first, last, status, PORTAL_CREATED, PORTAL_CREATED, *columns.values()]
    env.sql(f"INSERT INTO employees ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", tuple(values))
    return int(env.sql("SELECT id FROM employees WHERE location_id = ? AND email = ?", (location, email))[0][0])


def employee(env: GatewayEnv, employee_id: int) -> dict[str, Any]:
    rows = env.sql("SELECT * FROM employees WHERE id = ?", (employee_id,))
    assert len(rows) == 1
    return dict(rows[0])


def legacy_definitions(path: Path) -> list[tuple[Any, ...]]:
    """Every schema object of the legacy tables (tables, their indexes incl. automatic ones, triggers)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?, ?, ?) "
            "ORDER BY type, name", LEGACY_TABLES).fetchall()
    finally:
        conn.close()


async def scim_user(scim: Scim, user_id: str) -> dict[str, Any]:
    reply = await scim("GET", f"/Users/{user_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


async def created(scim: Scim, body: dict[str, Any]) -> dict[str, Any]:
    reply = await scim("POST", "/Users", body)
    assert reply.status == 201, reply.body
    return dict(reply.body)


# --- rows SCIM writes look like rows the portal writes --------------------------------------------------


@pytest.mark.gen_test
async def test_rows_scim_writes_look_like_portal_rows(scim: Scim, gateway_env: GatewayEnv) -> None:
    user = await created(scim, {"schemas": [CORE], "userName": "Mixed.Case@Contoso.COM"})
    employee_id = int(gateway_env.sql("SELECT id FROM employees WHERE email = 'Mixed.Case@Contoso.COM'")[0][0])
    row = employee(gateway_env, employee_id)
    assert row["email"] == "Mixed.Case@Contoso.COM"  # as sent, not lower-cased
    assert row["location_id"] == 1
    assert (row["first_name"], row["last_name"]) == ("", "")  # never NULL, like the portal's default
    assert row["status"] == "active"
    assert PORTAL_TIMESTAMP.match(row["created_at"]) and row["updated_at"] == row["created_at"]
    assert user["meta"]["created"] == row["created_at"] and user["meta"]["lastModified"] == row["updated_at"]
    for column in ("display_name", "phone", "mobile", "department", "designation", "employee_code"):
        assert row[column] is None, column  # absent, not '' (the portal stores NULL for "not set")
    assert "name" not in user

    full = await created(scim, {
        "schemas": [CORE, ENTERPRISE], "userName": "ravi.kumar@contoso.com", "displayName": "Ravi Kumar",
        "name": {"givenName": "Ravi", "familyName": "Kumar"}, "title": "Engineer", "active": False,
        "phoneNumbers": [{"type": "work", "value": "+91 11 4000 2000"}, {"type": "mobile", "value": "+91 98100 2"}],
        ENTERPRISE: {"department": "R&D", "employeeNumber": "E-42"}})
    full_id = int(gateway_env.sql("SELECT id FROM employees WHERE email = 'ravi.kumar@contoso.com'")[0][0])
    row = employee(gateway_env, full_id)
    assert {k: row[k] for k in ("first_name", "last_name", "display_name", "designation", "phone", "mobile",
                                "department", "employee_code", "status")} == {
        "first_name": "Ravi", "last_name": "Kumar", "display_name": "Ravi Kumar", "designation": "Engineer",
        "phone": "+91 11 4000 2000", "mobile": "+91 98100 2", "department": "R&D", "employee_code": "E-42",
        "status": "disabled"}
    patched = await scim("PATCH", f"/Users/{full['id']}", patch_op(
        {"op": "replace", "path": "name.givenName", "value": ""},
        {"op": "replace", "path": "active", "value": True}))
    assert patched.status == 200, patched.body
    row = employee(gateway_env, full_id)
    assert row["first_name"] == "" and row["status"] == "active"
    assert row["created_at"] == full["meta"]["created"] and PORTAL_TIMESTAMP.match(row["updated_at"])
    assert (await scim("DELETE", f"/Users/{full['id']}")).status == 204
    row = employee(gateway_env, full_id)
    assert row["status"] == "removed" and PORTAL_TIMESTAMP.match(row["updated_at"])
    statuses = {r[0] for r in gateway_env.sql("SELECT DISTINCT status FROM employees")}
    assert statuses <= {"active", "disabled", "removed"}


@pytest.mark.gen_test
async def test_a_scim_write_sets_only_the_columns_and_rows_it_changes(scim: Scim, gateway_env: GatewayEnv) -> None:
    """An UPDATE names only the columns that change (a portal trigger ``UPDATE OF email`` fires
    only when the email really changes), and ``scim_users`` (with its write counter) is written
    only when externalId or the extras change; ``meta.version`` changes with every change."""
    user = await created(scim, {"schemas": [CORE], "userName": "cols@contoso.com", "externalId": "ext-1"})
    employee_id = int(gateway_env.sql("SELECT id FROM employees WHERE email = 'cols@contoso.com'")[0][0])
    gateway_env.sql("CREATE TABLE email_changes (employee_id INTEGER)")
    gateway_env.sql("CREATE TRIGGER email_changed AFTER UPDATE OF email ON employees "
                    "BEGIN INSERT INTO email_changes VALUES (new.id); END")
    gateway_env.sql("CREATE TABLE scim_row_writes (employee_id INTEGER)")
    gateway_env.sql("CREATE TRIGGER scim_row_written AFTER UPDATE ON scim_users "
                    "BEGIN INSERT INTO scim_row_writes VALUES (new.employee_id); END")

    def stored() -> tuple[int, str | None, int, int]:
        version, external_id = gateway_env.sql(
            "SELECT version, external_id FROM scim_users WHERE employee_id = ?", (employee_id,))[0]
        changes = gateway_env.sql("SELECT count(*) FROM email_changes")[0][0]
        row_writes = gateway_env.sql("SELECT count(*) FROM scim_row_writes")[0][0]
        return int(version), external_id, int(changes), int(row_writes)

    versions = [user["meta"]["version"]]
    assert stored() == (1, "ext-1", 0, 0)
    title = await scim("PATCH", f"/Users/{user['id']}", patch_op({"op": "replace", "path": "title", "value": "QA"}))
    assert title.status == 200 and title.body["title"] == "QA"
    versions.append(title.body["meta"]["version"])
    assert stored() == (1, "ext-1", 0, 0)  # only employees changed
    same = await scim("PUT", f"/Users/{user['id']}", {k: v for k, v in title.body.items() if k != "meta"})
    assert same.status == 200 and stored() == (1, "ext-1", 0, 0)
    external = await scim("PATCH", f"/Users/{user['id']}", patch_op(
        {"op": "replace", "path": "externalId", "value": "ext-2"}))
    assert external.status == 200 and external.body["externalId"] == "ext-2"
    versions.append(external.body["meta"]["version"])
    assert stored() == (2, "ext-2", 0, 1)
    formatted = await scim("PATCH", f"/Users/{user['id']}", patch_op(
        {"op": "replace", "path": "name.formatted", "value": "Cols Person"}))  # an extra
    assert formatted.status == 200 and formatted.body["name"] == {"formatted": "Cols Person"}
    versions.append(formatted.body["meta"]["version"])
    assert stored() == (3, "ext-2", 0, 2)
    renamed = await scim("PATCH", f"/Users/{user['id']}", patch_op(
        {"op": "replace", "path": "userName", "value": "renamed@contoso.com"}))
    assert renamed.status == 200 and renamed.body["userName"] == "renamed@contoso.com"
    versions.append(renamed.body["meta"]["version"])
    assert stored() == (3, "ext-2", 1, 2)
    assert len(set(versions)) == len(versions), versions  # every change is a new meta.version
    fetched = await scim("GET", f"/Users/{user['id']}")
    assert fetched.body == renamed.body and fetched.headers["ETag"] == versions[-1]
    assert employee(gateway_env, employee_id)["designation"] == "QA"


@pytest.mark.gen_test
async def test_a_write_answers_the_row_as_stored_whichever_rows_it_wrote(scim: Scim, gateway_env: GatewayEnv) -> None:
    """PATCH and PUT answer with the user as written without reading it back, unless a portal
    trigger changed more: each answer equals the GET that follows it, ETag included, when the
    write adopts a portal employee (inserts scim_users), changes an extra (updates it), changes
    only legacy columns (leaves it), and when a trigger rewrites the row behind the write."""
    employee_id = portal_insert(gateway_env, "answer@contoso.com", phone="+91 11 5555 0000")
    user_id = str(employee_id)
    statements: list[str] = []
    connection = gateway_env.adapter._write_now
    assert connection is not None
    connection.set_trace_callback(statements.append)

    async def same_as_get(method: str, body: dict[str, Any], *, read_back: bool = False) -> dict[str, Any]:
        statements.clear()
        reply = await scim(method, f"/Users/{user_id}", body)
        assert reply.status == 200, reply.body
        written = statements[statements.index("BEGIN IMMEDIATE"):statements.index("COMMIT")]
        read_after_write = any(sql.startswith("SELECT") for sql in written[2:])  # after current_row's
        assert read_after_write == read_back, written
        fetched = await scim("GET", f"/Users/{user_id}")
        assert reply.body == fetched.body and reply.headers["ETag"] == fetched.headers["ETag"]
        return dict(reply.body)

    adopted = await same_as_get("PATCH", patch_op({"op": "replace", "path": "title", "value": "Host"}))
    assert gateway_env.sql("SELECT version FROM scim_users WHERE employee_id = ?", (employee_id,))[0][0] == 1
    extra = await same_as_get("PATCH", patch_op({"op": "add", "path": "preferredLanguage", "value": "hi-IN"}))
    assert extra["preferredLanguage"] == "hi-IN" and extra["meta"]["version"] != adopted["meta"]["version"]
    columns = await same_as_get("PATCH", patch_op({"op": "replace", "path": "active", "value": False}))
    assert columns["active"] is False and columns["meta"]["version"] != extra["meta"]["version"]
    replaced = await same_as_get("PUT", {k: v for k, v in columns.items() if k != "meta"} | {"title": "Lead"})
    assert replaced["title"] == "Lead"
    gateway_env.sql("CREATE TRIGGER portal_department AFTER UPDATE OF designation ON employees "
                    "BEGIN UPDATE employees SET department = 'Set by the portal' WHERE id = NEW.id; END")
    rewritten = await same_as_get("PATCH", patch_op({"op": "replace", "path": "title", "value": "Chief"}),
                                  read_back=True)
    assert rewritten[ENTERPRISE]["department"] == "Set by the portal"
    connection.set_trace_callback(None)


# --- rows the portal inserts are visible and manageable through SCIM ----------------------------------------


@pytest.mark.gen_test
async def test_portal_employee_is_visible_through_scim_at_once(scim: Scim, gateway_env: GatewayEnv) -> None:
    employee_id = portal_insert(gateway_env, "Asha.Rao@Contoso.com", phone="+91 11 2345 6789",
                                designation="Receptionist", department="Front Office")
    assert gateway_env.sql("SELECT count(*) FROM scim_users")[0][0] == 0
    user = await scim_user(scim, str(employee_id))
    assert user["id"] == str(employee_id)
    assert user["userName"] == "Asha.Rao@Contoso.com" and user["active"] is True
    assert user["name"] == {"givenName": "Asha", "familyName": "Rao"}
    assert user["title"] == "Receptionist"
    assert user["phoneNumbers"] == [{"type": "work", "value": "+91 11 2345 6789"}]
    assert user[ENTERPRISE] == {"department": "Front Office"}
    assert user["meta"]["created"] == PORTAL_CREATED and user["meta"]["lastModified"] == PORTAL_CREATED
    assert "externalId" not in user
    listing = (await scim("GET", "/Users")).body
    assert [r["id"] for r in listing["Resources"]] == [str(employee_id)] and listing["Resources"][0] == user
    for query in (eq("userName", "asha.rao@contoso.com"), eq("id", str(employee_id)),
                  eq("name.givenName", "Asha"), eq("title", "Receptionist"), "?filter=active+eq+true",
                  eq(f"{ENTERPRISE}:department", "Front Office"),
                  eq('phoneNumbers[type eq "work"].value', "+91 11 2345 6789")):
        found = (await scim("GET", "/Users" + query)).body
        assert [r["id"] for r in found["Resources"]] == [str(employee_id)], query
    # another location's employee with the same address stays in its own location
    other = portal_insert(gateway_env, "Asha.Rao@Contoso.com", location=2)
    assert (await scim("GET", f"/Users/{other}")).status == 404
    assert (await scim("GET", f"/Users/{other}", location=2)).body["userName"] == "Asha.Rao@Contoso.com"


@pytest.mark.gen_test
async def test_portal_employee_is_matched_then_managed_and_visits_keep_their_host(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    employee_id = portal_insert(gateway_env, "host@contoso.com", "Host", "Person", status="disabled")
    gateway_env.sql("INSERT INTO visits (location_id, host_employee_id, visitor_name, checked_in_at) "
                    "VALUES (1, ?, 'Visitor One', '2024-03-02T10:00:00Z')", (employee_id,))
    visits_before = [tuple(r) for r in gateway_env.sql("SELECT * FROM visits")]
    found = (await scim("GET", "/Users" + eq("userName", "HOST@contoso.com"))).body
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    user_id = found["Resources"][0]["id"]
    assert user_id == str(employee_id)
    adopted = await scim("PATCH", f"/Users/{user_id}", patch_op(
        {"op": "Replace", "path": "externalId", "value": "host-ext"},
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "Add", "path": "title", "value": "Manager"}))
    assert adopted.status == 200, adopted.body
    assert adopted.body["id"] == user_id and adopted.body["externalId"] == "host-ext"
    row = employee(gateway_env, employee_id)
    assert (row["status"], row["designation"], row["first_name"], row["created_at"]) == \
        ("active", "Manager", "Host", PORTAL_CREATED)
    assert (await scim("PATCH", f"/Users/{user_id}", patch_op(
        {"op": "replace", "path": "active", "value": False}))).status == 200
    assert employee(gateway_env, employee_id)["status"] == "disabled"
    assert (await scim("DELETE", f"/Users/{user_id}")).status == 204
    row = employee(gateway_env, employee_id)
    assert row["status"] == "removed" and row["email"] == "host@contoso.com" and row["first_name"] == "Host"
    assert [tuple(r) for r in gateway_env.sql("SELECT * FROM visits")] == visits_before
    host = gateway_env.sql("SELECT e.id, e.status FROM visits v JOIN employees e ON e.id = v.host_employee_id")
    assert [tuple(r) for r in host] == [(employee_id, "removed")]
    assert (await scim("GET", f"/Users/{user_id}")).status == 404


@pytest.mark.gen_test
async def test_a_patch_keeps_the_portals_empty_strings_in_columns_it_does_not_touch(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The portal writes "no value" as ``''``; SCIM reads ``''`` and NULL alike as absent, and a
    PATCH of ``title`` turned the untouched ``''`` columns into NULL, unlogged (found by a
    portal-concurrency review)."""
    employee_id = portal_insert(gateway_env, "blank@contoso.com", "Blank", "Person")
    gateway_env.sql("UPDATE employees SET display_name = '', phone = '', mobile = '', department = '' WHERE id = ?",
                    (employee_id,))
    reply = await scim("PATCH", f"/Users/{employee_id}", patch_op({"op": "replace", "path": "title", "value": "QA"}))
    assert reply.status == 200, reply.body
    row = employee(gateway_env, employee_id)
    assert (row["display_name"], row["phone"], row["mobile"], row["department"], row["designation"]) == \
        ("", "", "", "", "QA")
    [entry] = gateway_env.sql("SELECT attributes FROM scim_activity WHERE request_id = ?", (reply.headers["X-Request-Id"],))
    assert json.loads(entry["attributes"]) == ["title"]


@pytest.mark.gen_test
async def test_text_the_portal_stored_that_is_not_utf8_keeps_the_employee_manageable(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """Invalid UTF-8 in a TEXT column made every read of the employee (and the location's list)
    a 503, and a BLOB a 500: Entra could never disable the leaver (found by a portal-concurrency
    review). They read as text, U+FFFD for each bad byte, and writes leave the bytes alone."""
    bad_text = portal_insert(gateway_env, "badtext@contoso.com", "Bad", "Text")
    blob = portal_insert(gateway_env, "blob@contoso.com", "Blob", "Phone")
    gateway_env.sql("UPDATE employees SET department = CAST(X'4f70ff73' AS TEXT) WHERE id = ?", (bad_text,))
    gateway_env.sql("UPDATE employees SET phone = X'00ff10' WHERE id = ?", (blob,))
    shown = await scim("GET", f"/Users/{bad_text}")
    assert shown.status == 200, shown.body
    assert shown.body[ENTERPRISE]["department"] == "Op\ufffds"
    listed = await scim("GET", "/Users?count=200")
    assert listed.status == 200 and {"badtext@contoso.com", "blob@contoso.com"} <= \
        {r["userName"] for r in listed.body["Resources"]}
    found = await scim("GET", "/Users" + eq("userName", "blob@contoso.com"))
    assert found.status == 200 and found.body["Resources"][0]["phoneNumbers"] == [{"type": "work", "value": "\x00\ufffd\x10"}]
    for employee_id, etag in ((bad_text, shown.headers["ETag"]), (blob, found.headers.get("ETag"))):
        headers = {"If-Match": etag} if etag else {}
        disabled = await scim("PATCH", f"/Users/{employee_id}", patch_op(
            {"op": "replace", "path": "active", "value": False}), headers=headers)
        assert disabled.status == 200 and disabled.body["active"] is False, disabled.body
    rows = gateway_env.sql("SELECT id, status, hex(department) AS department, typeof(phone) AS phone_type, "
                           "hex(phone) AS phone FROM employees WHERE id IN (?, ?) ORDER BY id", (bad_text, blob))
    assert [tuple(r) for r in rows] == [(bad_text, "disabled", "4F70FF73", "null", ""),  # hex(NULL) is ''
                                        (blob, "disabled", "", "blob", "00FF10")]


@pytest.mark.gen_test
async def test_a_scan_that_met_text_not_utf8_leaves_no_snapshot_behind(scim: Scim, gateway_env: GatewayEnv) -> None:
    """A filtered list that read a value not UTF-8 left its reader in the read transaction it
    failed in: later scans answered from that snapshot (portal inserts and edits unseen, until a
    restart) and the WAL could not be checkpointed back (found by a portal-concurrency review)."""
    bad = portal_insert(gateway_env, "odd@contoso.com", "Bad", "Text")
    gateway_env.sql("UPDATE employees SET first_name = CAST(X'4f70ff73' AS TEXT) WHERE id = ?", (bad,))
    scanned = await scim("GET", "/Users?" + urlencode({"filter": 'userName co "@contoso"'}))
    assert scanned.status == 200 and "odd@contoso.com" in {r["userName"] for r in scanned.body["Resources"]}
    portal_insert(gateway_env, "later@contoso.com", "Later", "Hire")
    gateway_env.sql("UPDATE employees SET first_name = 'Changed' WHERE id = ?", (bad,))
    later = await scim("GET", "/Users?" + urlencode({"filter": 'userName co "later@"'}))
    assert later.status == 200 and [r["userName"] for r in later.body["Resources"]] == ["later@contoso.com"]
    renamed = await scim("GET", "/Users?" + urlencode({"filter": 'name.givenName sw "Chang"'}))
    assert renamed.status == 200 and [r["id"] for r in renamed.body["Resources"]] == [str(bad)]
    busy, frames, copied = gateway_env.sql("PRAGMA wal_checkpoint(TRUNCATE)")[0]
    assert busy == 0 and frames == copied, (busy, frames, copied)  # no reader holds an old snapshot


@pytest.mark.gen_test
async def test_an_email_or_phone_the_portal_stored_as_a_blob_is_found_and_taken(scim: Scim,
                                                                                 gateway_env: GatewayEnv) -> None:
    """SQLite never finds a BLOB equal to a text: Entra's look-up missed an employee whose email
    the portal stored as one and its create made a second employee for the person (the unique
    index does not see the pair), and a filter on emails or phoneNumbers was a 503 on every
    retry (JSON functions refuse BLOBs). Found by a portal-concurrency review."""
    ann = portal_insert(gateway_env, "placeholder@contoso.com", "Ann", "Lee")
    gateway_env.sql("UPDATE employees SET email = CAST(? AS BLOB), phone = CAST(? AS BLOB) WHERE id = ?",
                    ("Ann.Lee@Contoso.com ", "+1 555 0199", ann))
    for query in (eq("userName", "ann.lee@contoso.com"), eq("userName", "ANN.LEE@contoso.com"),
                  eq('emails[type eq "work"].value', "Ann.Lee@Contoso.com "),
                  eq('phoneNumbers[type eq "work"].value', "+1 555 0199")):
        found = await scim("GET", "/Users" + query)
        assert found.status == 200 and [r["id"] for r in found.body["Resources"]] == [str(ann)], (query, found.body)
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "ann.lee@contoso.com"})
    assert created.status == 409 and created.body["scimType"] == "uniqueness", created.body
    assert "BLOB" in created.body["detail"]
    other = portal_insert(gateway_env, "bo@contoso.com", "Bo", "Ek")
    renamed = await scim("PATCH", f"/Users/{other}", patch_op(
        {"op": "replace", "path": "userName", "value": "ann.lee@contoso.com"}))
    assert renamed.status == 409 and renamed.body["scimType"] == "uniqueness", renamed.body
    assert [r[0] for r in gateway_env.sql("SELECT id FROM employees WHERE location_id = 1 AND "
                                          "lower(trim(CAST(email AS TEXT))) = 'ann.lee@contoso.com'")] == [ann]


@pytest.mark.gen_test
async def test_a_leaver_whose_email_the_portal_blanked_can_still_be_disabled(scim: Scim,
                                                                            gateway_env: GatewayEnv) -> None:
    """The portal's schema allows an empty email: Entra's active=false for that employee was a 400
    "userName must be a non-empty string", though it never touched userName (a PostgreSQL
    review). A PATCH that sets one is still judged."""
    blank = portal_insert(gateway_env, "leaver@contoso.com", "Lee", "Ver")
    gateway_env.sql("UPDATE employees SET email = '' WHERE id = ?", (blank,))
    disabled = await scim("PATCH", f"/Users/{blank}", patch_op({"op": "Replace", "path": "active", "value": "False"}))
    assert disabled.status == 200 and disabled.body["active"] is False, disabled.body
    assert employee(gateway_env, blank)["status"] == "disabled" and employee(gateway_env, blank)["email"] == ""
    spaces = await scim("PATCH", f"/Users/{blank}", patch_op({"op": "replace", "path": "userName", "value": "  "}))
    assert spaces.status == 400 and spaces.body["scimType"] == "invalidValue", spaces.body


# --- portal edits are visible at once ----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_portal_edits_are_visible_at_once_and_change_the_version(scim: Scim,
                                                                       gateway_env: GatewayEnv) -> None:
    employee_id = portal_insert(gateway_env, "edit.me@contoso.com", "Edit", "Me")
    user_id = str(employee_id)
    adopted = await scim("PATCH", f"/Users/{user_id}", patch_op(
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+91 11 1111 1111"}))
    assert adopted.status == 200
    before = await scim_user(scim, user_id)
    portal_now = "2031-01-01T10:00:00Z"
    gateway_env.sql("UPDATE employees SET first_name = 'Edited', phone = '+91 11 2222 2222', updated_at = ? "
                    "WHERE id = ?", (portal_now, employee_id))
    after = await scim_user(scim, user_id)
    assert after["name"]["givenName"] == "Edited"
    assert after["phoneNumbers"] == [{"type": "work", "value": "+91 11 2222 2222"}]
    assert after["meta"]["lastModified"] == portal_now
    assert after["meta"]["version"] != before["meta"]["version"]
    found = (await scim("GET", "/Users" + eq("name.givenName", "Edited"))).body
    assert [r["id"] for r in found["Resources"]] == [user_id]
    # a stale If-Match now fails: the portal's edit is not overwritten
    stale = await scim("PATCH", f"/Users/{user_id}", patch_op({"op": "replace", "path": "title", "value": "x"}),
                       headers={"If-Match": before["meta"]["version"]})
    assert stale.status == 412
    gateway_env.sql("UPDATE employees SET status = 'disabled', updated_at = '2031-01-01T10:05:00Z' WHERE id = ?",
                    (employee_id,))
    disabled = await scim_user(scim, user_id)
    assert disabled["active"] is False and disabled["meta"]["version"] != after["meta"]["version"]
    assert (await scim("GET", "/Users?filter=active+eq+false")).body["totalResults"] == 1
    # a PATCH without If-Match applies to the portal's current values (no lost update)
    patched = await scim("PATCH", f"/Users/{user_id}", patch_op({"op": "replace", "path": "title", "value": "y"}))
    assert patched.status == 200
    row = employee(gateway_env, employee_id)
    assert (row["first_name"], row["phone"], row["status"], row["designation"]) == \
        ("Edited", "+91 11 2222 2222", "disabled", "y")


@pytest.mark.gen_test
async def test_a_portal_edit_in_the_same_second_as_a_scim_write_changes_the_version(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The portal stamps ``updated_at`` with the current second; a SCIM write may have stamped the
    same second just before. The representation changed, so ``meta.version`` must change too
    (RFC 7644 §3.14), or an ``If-Match`` writer would overwrite the portal's edit."""
    user = await created(scim, {"schemas": [CORE], "userName": "same.second@contoso.com",
                                "name": {"givenName": "Before", "familyName": "Edit"}})
    employee_id = int(gateway_env.sql("SELECT id FROM employees WHERE email = 'same.second@contoso.com'")[0][0])
    stamp = employee(gateway_env, employee_id)["updated_at"]
    gateway_env.sql("UPDATE employees SET first_name = 'After', updated_at = ? WHERE id = ?", (stamp, employee_id))
    after = await scim_user(scim, user["id"])
    assert after["name"]["givenName"] == "After"
    assert after["meta"]["version"] != user["meta"]["version"]


@pytest.mark.gen_test
async def test_a_portal_removed_employee_is_invisible_to_scim(scim: Scim, gateway_env: GatewayEnv) -> None:
    removed = portal_insert(gateway_env, "gone@contoso.com", "Gone", "Person", status="removed")
    kept = portal_insert(gateway_env, "kept@contoso.com", "Kept", "Person")
    url = f"/Users/{removed}"
    assert (await scim("GET", url)).status == 404
    assert (await scim("PATCH", url, patch_op({"op": "replace", "path": "active", "value": True}))).status == 404
    assert (await scim("PUT", url, {"schemas": [CORE], "userName": "gone@contoso.com"})).status == 404
    assert (await scim("DELETE", url)).status == 404
    assert (await scim("GET", "/Users" + eq("userName", "gone@contoso.com"))).body["totalResults"] == 0
    assert (await scim("GET", "/Users" + eq("id", str(removed)))).body["totalResults"] == 0
    listing = (await scim("GET", "/Users")).body
    assert [r["id"] for r in listing["Resources"]] == [str(kept)] and listing["totalResults"] == 1
    assert employee(gateway_env, removed)["status"] == "removed"  # untouched by those requests
    # the same address may be provisioned again: it gets an id other than the removed one
    again = await created(scim, {"schemas": [CORE], "userName": "gone@contoso.com"})
    assert again["id"] != str(removed)
    assert (await scim("GET", url)).status == 404



@pytest.mark.gen_test
async def test_an_employee_the_portal_moves_to_another_location_is_found_there_by_external_id(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The portal moves employees with ``UPDATE employees SET location_id``; the gateway's own row keeps
    the old location, so looking it up must follow the employee's location (a lookup driven by the
    gateway row's location found nobody in the new one, and Entra, matching on externalId, then
    POSTed a create refused as a duplicate)."""
    user = await created(scim, {"schemas": [CORE], "userName": "mover@contoso.com", "externalId": "oid-mover"})
    gateway_env.sql("UPDATE employees SET location_id = 2 WHERE id = ?", (int(user["id"]),))
    by_external_id = "/Users" + eq("externalId", "oid-mover")
    moved = (await scim("GET", by_external_id, location=2)).body
    assert [r["id"] for r in moved["Resources"]] == [user["id"]] and moved["totalResults"] == 1
    assert (await scim("GET", by_external_id, location=1)).body["totalResults"] == 0
    assert (await scim("GET", f"/Users/{user['id']}", location=1)).status == 404

# --- the legacy schema and portal-only data stay untouched ----------------------------------------------


@pytest.mark.gen_test
async def test_legacy_table_definitions_are_identical_after_a_whole_sequence(
        scim: Scim, gateway_env: GatewayEnv, tmp_path: Path) -> None:
    pristine = tmp_path / "pristine" / "directory.db"
    create_directory(pristine)  # the portal's schema, never opened by a gateway
    before = legacy_definitions(gateway_env.directory)
    assert before == legacy_definitions(pristine)
    assert {name for kind, name, _, _ in before if kind == "table"} == set(LEGACY_TABLES)
    portal_id = portal_insert(gateway_env, "portal@contoso.com")
    body = {"schemas": [CORE, ENTERPRISE], "userName": "seq@contoso.com", "externalId": "seq",
            "name": {"givenName": "Seq", "familyName": "Uence"}, "emails": [{"type": "work", "value": "seq@x.com"}],
            "phoneNumbers": [{"type": "work", "value": "1"}], ENTERPRISE: {"department": "D", "manager": "9"}}
    user = await created(scim, copy.deepcopy(body))
    for operations in ([{"op": "Replace", "path": "active", "value": "False"}],
                       [{"op": "replace", "value": {"name.givenName": "S", "title": "T"}}],
                       [{"op": "Replace", "path": "active", "value": "True"}]):
        assert (await scim("PATCH", f"/Users/{user['id']}", patch_op(*operations))).status == 200
    assert (await scim("PUT", f"/Users/{user['id']}", copy.deepcopy(body))).status == 200
    assert (await scim("PATCH", f"/Users/{portal_id}", patch_op(
        {"op": "add", "path": "externalId", "value": "adopted"}))).status == 200
    for user_id in (user["id"], str(portal_id)):
        assert (await scim("DELETE", f"/Users/{user_id}")).status == 204
    assert (await created(scim, copy.deepcopy(body)))["id"] != user["id"]
    after = legacy_definitions(gateway_env.directory)
    assert after == before


@pytest.mark.gen_test
async def test_employee_roles_of_an_adopted_employee_are_untouched(scim: Scim, gateway_env: GatewayEnv) -> None:
    admin = portal_insert(gateway_env, "admin@contoso.com", "Loc", "Admin")
    desk = portal_insert(gateway_env, "desk@contoso.com", "Front", "Desk")
    gateway_env.sql("INSERT INTO employee_roles (employee_id, role) VALUES (?, 'location_admin'), "
                    "(?, 'receptionist'), (?, 'receptionist')", (admin, admin, desk))
    roles_before = sorted(tuple(r) for r in gateway_env.sql("SELECT * FROM employee_roles"))
    found = (await scim("GET", "/Users" + eq("userName", "ADMIN@contoso.com"))).body
    user_id = found["Resources"][0]["id"]
    assert "roles" not in found["Resources"][0]  # portal roles are not SCIM roles
    for operations in ([{"op": "Replace", "path": "externalId", "value": "adm"}],
                       [{"op": "Add", "path": "roles", "value": [{"value": "Vizmo.Admin"}]}],
                       [{"op": "Replace", "path": "active", "value": "False"}],
                       [{"op": "Replace", "path": "active", "value": "True"}]):
        assert (await scim("PATCH", f"/Users/{user_id}", patch_op(*operations))).status == 200
    assert (await scim("PUT", f"/Users/{user_id}", {"schemas": [CORE], "userName": "admin@contoso.com"})).status \
        == 200
    assert sorted(tuple(r) for r in gateway_env.sql("SELECT * FROM employee_roles")) == roles_before
    assert (await scim("DELETE", f"/Users/{user_id}")).status == 204
    assert sorted(tuple(r) for r in gateway_env.sql("SELECT * FROM employee_roles")) == roles_before
    assert employee(gateway_env, admin)["status"] == "removed"


@pytest.mark.gen_test
async def test_a_recreated_account_does_not_inherit_portal_roles(scim: Scim, gateway_env: GatewayEnv) -> None:
    """Re-creating a deleted userName revives the one row UNIQUE (location_id, email) allows;
    the removed account's portal roles must not pass to the new account."""
    first = (await scim("POST", "/Users", {"schemas": [CORE], "userName": "admin.once@contoso.com"})).body
    employee_id = int(first["id"])
    gateway_env.sql("INSERT INTO employee_roles (employee_id, role) VALUES (?, 'location_admin')", (employee_id,))
    assert (await scim("DELETE", f"/Users/{first['id']}")).status == 204
    assert gateway_env.sql("SELECT count(*) FROM employee_roles WHERE employee_id = ?", (employee_id,))[0][0] == 1
    again = await scim("POST", "/Users", {"schemas": [CORE], "userName": "admin.once@contoso.com"})
    assert again.status == 201 and again.body["id"] != first["id"]
    assert gateway_env.sql("SELECT count(*) FROM employee_roles WHERE employee_id = ?", (employee_id,))[0][0] == 0


@pytest.mark.gen_test
async def test_a_portal_employee_is_found_by_its_work_email_until_scim_writes_it(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """Entra ID may match on ``emails[type eq "work"].value`` (Microsoft Learn,
    "Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID", ``/Users``)."""
    employee_id = portal_insert(gateway_env, "Kiran.Das@Contoso.com")
    query = urlencode({"filter": 'emails[type eq "work"].value eq "kiran.das@contoso.com"'})
    found = (await scim("GET", f"/Users?{query}")).body
    assert [r["id"] for r in found["Resources"]] == [str(employee_id)]
    written = await scim("PATCH", f"/Users/{employee_id}", patch_op(
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "kiran@mail.contoso.com"}))
    assert written.status == 200
    assert (await scim("GET", f"/Users?{query}")).body["totalResults"] == 0
    moved = urlencode({"filter": 'emails[type eq "work"].value eq "KIRAN@mail.contoso.com"'})
    assert (await scim("GET", f"/Users?{moved}")).body["totalResults"] == 1


@pytest.mark.gen_test
async def test_the_portals_empty_strings_are_absent_and_a_remove_of_one_changes_nothing(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The portal's '' showed as ``"title": ""``: a ``remove`` answered 200 with it still there, a new
    version and an activity entry every time (a PATCH review)."""
    employee_id = portal_insert(gateway_env, "blank@contoso.com", display_name="", designation="", phone="",
                                mobile="", department="", employee_code="")
    shown = await scim("GET", f"/Users/{employee_id}")
    assert shown.status == 200
    for absent in ("displayName", "title", "phoneNumbers", ENTERPRISE):
        assert absent not in shown.body, shown.body
    for absent in ("phoneNumbers", "title", "displayName"):  # filters read it as GET shows it
        found = await scim("GET", f"/Users?filter={absent}+pr+and+userName+eq+%22blank@contoso.com%22")
        assert found.status == 200 and found.body["totalResults"] == 0, (absent, found.body)
    for _ in range(2):
        removed = await scim("PATCH", f"/Users/{employee_id}", patch_op({"op": "remove", "path": "title"}))
        assert removed.status == 200 and "title" not in removed.body
        assert removed.body["meta"]["version"] == shown.body["meta"]["version"]  # nothing changed



@pytest.mark.gen_test
async def test_a_second_work_or_mobile_number_is_kept_beside_the_portals_columns(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """Only the first number of each of those types is the portal's column; a second was answered
    2xx and dropped, and one stored by an earlier release was hidden and erased by the next PATCH
    (an advertised-versus-actual review, an upgrade review). The portal's edit reaches the first."""
    phones = [{"type": "work", "value": "+91 1"}, {"type": "work", "value": "+91 2"},
              {"type": "mobile", "value": "+91 3"}, {"type": "mobile", "value": "+91 4"}]
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "phones@contoso.com",
                                            "phoneNumbers": phones})
    assert created.status == 201 and created.body["phoneNumbers"] == phones
    user_id = created.body["id"]
    row = employee(gateway_env, int(user_id))
    assert (row["phone"], row["mobile"]) == ("+91 1", "+91 3")
    gateway_env.sql("UPDATE employees SET phone = '+91 9' WHERE id = ?", (int(user_id),))
    retitled = await scim("PATCH", f"/Users/{user_id}", patch_op({"op": "replace", "path": "title", "value": "T"}))
    edited = [{"type": "work", "value": "+91 9"}, *phones[1:]]
    assert retitled.status == 200 and retitled.body["phoneNumbers"] == edited
    for value in ("+91 2", "+91 4", "+91 9"):
        found = await scim("GET", "/Users" + eq("phoneNumbers.value", value))
        assert [r["id"] for r in found.body["Resources"]] == [user_id], value
    typed = await scim("GET", "/Users?" + urlencode({"filter": 'phoneNumbers[type eq "work" and value eq "+91 2"]'}))
    assert [r["id"] for r in typed.body["Resources"]] == [user_id]
    assert (await scim("GET", "/Users" + eq("phoneNumbers.value", "+91 1"))).body["totalResults"] == 0


@pytest.mark.gen_test
async def test_last_modified_never_goes_back_when_the_clock_does(scim: Scim, gateway_env: GatewayEnv) -> None:
    """A write stamped ``updated_at`` with the clock as it read: after the clock stepped back (NTP, a
    VM resumed) ``lastModified`` went back in time, before ``created`` even, and a ``lastModified
    ge`` filter lost the user (a time review). The row here was written while the clock ran ahead."""
    user = await created(scim, {"schemas": [CORE], "userName": "clock@contoso.com"})
    ahead = "2999-01-01T10:00:00Z"
    gateway_env.sql("UPDATE employees SET created_at = ?, updated_at = ? WHERE email = 'clock@contoso.com'",
                    (ahead, ahead))
    for method, body in (("PATCH", patch_op({"op": "replace", "path": "title", "value": "Host"})),
                         ("PUT", {"schemas": [CORE], "userName": "clock@contoso.com", "title": "Lead"})):
        written = await scim(method, f"/Users/{user['id']}", body)
        assert written.status == 200, written.body
        assert written.body["meta"]["lastModified"] == ahead == written.body["meta"]["created"]
        assert written.body["meta"]["version"] != user["meta"]["version"]
        found = await scim("GET", "/Users?" + urlencode({"filter": f'meta.lastModified ge "{ahead}"'}))
        assert [u["id"] for u in found.body["Resources"]] == [user["id"]]
    assert (await scim("DELETE", f"/Users/{user['id']}")).status == 204
    assert gateway_env.sql("SELECT updated_at FROM employees WHERE email = 'clock@contoso.com'")[0][0] == ahead


@pytest.mark.gen_test
async def test_portal_timestamps_in_any_iso_8601_form_are_shown_filtered_and_sorted_as_times(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The reference schema says only "ISO 8601, UTC": a portal stamp in another form than the
    gateway's (SQLite's ``datetime('now')``, milliseconds, an offset) was shown as stored (no ``T``,
    no zone: no xsd:dateTime) and filtered and sorted as text (a time review)."""
    stamps = {"zform": "2026-01-05T08:00:00Z", "space": "2026-01-05 08:00:00", "millis": "2026-01-05T08:00:01.500Z",
              "offset": "2026-01-05T13:30:02+05:30", "lower": "2026-01-05t08:00:03z", "minute": "2026-01-05 08:01",
              "rounded": "2026-01-05T13:31:59.9995+05:30"}
    not_times = {"now": "now", "dateonly": "2026-01-05", "far": "2026-01-05T08:00:00+15:00"}
    for name, stamp in {**stamps, **not_times}.items():
        portal_insert(gateway_env, f"{name}@contoso.com")
        gateway_env.sql("UPDATE employees SET updated_at = ? WHERE email = ?", (stamp, f"{name}@contoso.com"))

    async def names(query: dict[str, str]) -> list[str]:
        found = await scim("GET", "/Users?" + urlencode({**query, "count": "50"}))
        assert found.status == 200, found.body
        return [u["userName"].split("@")[0] for u in found.body["Resources"]
                if u["userName"].split("@")[0] in {**stamps, **not_times}]

    assert sorted(await names({"filter": 'meta.lastModified gt "2026-01-05T07:59:59Z"'})) == sorted(stamps)
    assert await names({"filter": 'meta.lastModified ge "2026-01-05T08:00:01Z"'}) == ["millis", "offset", "lower",
                                                                                     "minute", "rounded"]
    assert await names({"filter": 'meta.lastModified eq "2026-01-05T08:00:02Z"'}) == ["offset"]
    assert (await names({"sortBy": "meta.lastModified", "filter": 'meta.lastModified gt "2000-01-01T00:00:00Z"'}))[
        -5:] == ["millis", "offset", "lower", "minute", "rounded"]
    assert sorted(await names({"filter": 'meta.lastModified sw "2026-01-05T08:00:0"'})) == [
        "far", "lower", "millis", "offset", "space", "zform"]  # the text shown ("far": no time, as stored)
    assert await names({"filter": 'meta.lastModified co "now"'}) == ["now"]  # no time: shown and compared as stored
    shown = {name: (await scim("GET", "/Users?" + urlencode({"filter": f'userName eq "{name}@contoso.com"'})))
             .body["Resources"][0]["meta"]["lastModified"] for name in {**stamps, **not_times}}
    assert shown == {"zform": "2026-01-05T08:00:00Z", "space": "2026-01-05T08:00:00Z",
                     "millis": "2026-01-05T08:00:01Z", "offset": "2026-01-05T08:00:02Z",
                     "lower": "2026-01-05T08:00:03Z", "minute": "2026-01-05T08:01:00Z",
                     "rounded": "2026-01-05T08:02:00Z", **not_times}  # (SQLite rounds .9995 with an offset)
    for name in stamps:  # a client finds a user by the time it was shown (text that is no time: by none, above)
        assert name in await names({"filter": f'meta.lastModified eq "{shown[name]}"'}), name
