"""/Users over real HTTP on a real directory file: CRUD, listing, errors (RFC 7644 §3)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from typing import Any

import pytest

from tests.support import PUBLIC_BASE_URL, GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "userName": name, "active": True,
            "name": {"givenName": name.split("@")[0], "familyName": "Test"}, **extra}


@pytest.mark.gen_test
async def test_create_get_and_location_header(scim: Scim, base_url: str) -> None:
    created = await scim("POST", "/Users", user("ana@contoso.com", externalId="ext-1"))
    assert created.status == 201
    body = created.body
    assert body["id"] and body["userName"] == "ana@contoso.com" and body["externalId"] == "ext-1"
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"] == f"{PUBLIC_BASE_URL}/scim/v2/locations/1/Users/{body['id']}"
    assert created.headers["Location"] == body["meta"]["location"]
    assert created.headers["ETag"] == body["meta"]["version"]
    fetched = await scim("GET", f"/Users/{body['id']}")
    assert fetched.status == 200 and fetched.body == body


@pytest.mark.gen_test
async def test_duplicate_username_is_409_uniqueness_whatever_the_case(scim: Scim) -> None:
    assert (await scim("POST", "/Users", user("Bob@Contoso.com"))).status == 201
    dup = await scim("POST", "/Users", user("bob@contoso.COM"))
    assert dup.status == 409 and dup.body["scimType"] == "uniqueness" and dup.body["detail"]
    found = await scim("GET", '/Users?filter=userName eq "BOB@contoso.com"'.replace(" ", "%20").replace('"', "%22"))
    assert found.body["totalResults"] == 1


@pytest.mark.gen_test
async def test_users_are_isolated_between_locations(scim: Scim) -> None:
    a = (await scim("POST", "/Users", user("same@contoso.com"), location=1)).body
    b = await scim("POST", "/Users", user("same@contoso.com"), location=2)
    assert b.status == 201 and b.body["id"] != a["id"]
    assert (await scim("GET", f"/Users/{a['id']}", location=2)).status == 404
    assert (await scim("DELETE", f"/Users/{a['id']}", location=2)).status == 404
    listing = (await scim("GET", "/Users", location=2)).body
    assert [r["id"] for r in listing["Resources"]] == [b.body["id"]]


@pytest.mark.gen_test
async def test_put_replaces_and_clears_absent_attributes(scim: Scim) -> None:
    created = (await scim("POST", "/Users", user("cy@contoso.com", title="Boss", nickName="C"))).body
    replaced = await scim("PUT", f"/Users/{created['id']}", {"schemas": [CORE], "userName": "cy@contoso.com",
                                                              "displayName": "Cy", "id": "ignored"})
    assert replaced.status == 200
    assert replaced.body["displayName"] == "Cy" and replaced.body["id"] == created["id"]
    assert "title" not in replaced.body and "nickName" not in replaced.body and "name" not in replaced.body


@pytest.mark.gen_test
async def test_a_put_that_changes_nothing_writes_nothing(scim: Scim, gateway_env: GatewayEnv) -> None:
    """Okta re-sends the whole user with PUT on every profile push: an unchanged one kept moving
    ``meta.version`` and ``lastModified`` (and wrote the row), as a PATCH that changes nothing does
    not. A stale ``If-Match`` is still a 412, and a real change is still written."""
    body = user("okta@contoso.com", title="Eng", emails=[{"value": "okta@contoso.com", "type": "work",
                                                          "primary": True}])
    created = (await scim("POST", "/Users", body)).body
    gateway_env.sql("UPDATE employees SET updated_at = '2020-01-02T03:04:05Z' WHERE email = ?", ("okta@contoso.com",))
    before = (await scim("GET", f"/Users/{created['id']}")).body
    assert before["meta"]["lastModified"] == "2020-01-02T03:04:05Z"
    again = await scim("PUT", f"/Users/{created['id']}", {**body, "id": created["id"]})
    assert again.status == 200 and again.body == before and again.headers["ETag"] == before["meta"]["version"]
    assert gateway_env.sql("SELECT updated_at FROM employees WHERE email = ?",
                           ("okta@contoso.com",))[0][0] == "2020-01-02T03:04:05Z"
    changed = await scim("PUT", f"/Users/{created['id']}", {**body, "title": "Lead"},
                         headers={"If-Match": before["meta"]["version"]})
    assert changed.status == 200 and changed.body["title"] == "Lead"
    assert changed.body["meta"]["version"] != before["meta"]["version"]
    stale = await scim("PUT", f"/Users/{created['id']}", {**body, "title": "Lead"},
                       headers={"If-Match": before["meta"]["version"]})
    assert stale.status == 412


@pytest.mark.gen_test
async def test_a_put_that_changes_nothing_of_a_user_with_custom_attributes_writes_nothing(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """Okta's custom attributes travel under an extension the gateway does not serve: the stored
    user lists its URN in ``schemas``, the canonical request did not, so each unchanged PUT wrote."""
    custom = "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"
    body = {**user("badge@contoso.com"), "schemas": [CORE, custom], custom: {"badgeId": "B-1"}}
    created = (await scim("POST", "/Users", body)).body
    assert created["schemas"] == [CORE, custom] and created[custom] == {"badgeId": "B-1"}
    gateway_env.sql("UPDATE employees SET updated_at = '2020-01-02T03:04:05Z' WHERE email = ?", ("badge@contoso.com",))
    before = (await scim("GET", f"/Users/{created['id']}")).body
    again = await scim("PUT", f"/Users/{created['id']}", {**body, "id": created["id"], "meta": before["meta"]})
    assert again.status == 200 and again.body == before
    changed = await scim("PUT", f"/Users/{created['id']}", {**body, custom: {"badgeId": "B-2"}})
    assert changed.status == 200 and changed.body[custom] == {"badgeId": "B-2"}
    assert changed.body["meta"]["version"] != before["meta"]["version"]


@pytest.mark.gen_test
async def test_a_put_without_active_unassigns_it_in_scim_and_keeps_the_portal_status(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    created = (await scim("POST", "/Users", user("di@contoso.com"))).body
    disable = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert (await scim("PATCH", f"/Users/{created['id']}", disable)).body["active"] is False
    replaced = await scim("PUT", f"/Users/{created['id']}", {"schemas": [CORE], "userName": "di@contoso.com",
                                                              "title": "Host"})
    assert replaced.status == 200 and "active" not in replaced.body and replaced.body["title"] == "Host"
    read = await scim("GET", f"/Users/{created['id']}")
    assert read.body == replaced.body and read.headers["ETag"] == replaced.headers["ETag"]
    status = gateway_env.sql("SELECT status FROM employees WHERE email = 'di@contoso.com'")[0]["status"]
    assert status == "disabled"  # the portal's status is kept; SCIM shows no value (RFC 7643 §2.5)
    for text, hits in (("active eq false", 0), ("active eq true", 0), ("active pr", 0), ("not (active pr)", 1)):
        found = await scim("GET", "/Users?filter=" + text.replace(" ", "%20"))
        assert found.body["totalResults"] == hits, text


@pytest.mark.gen_test
async def test_a_patch_remove_of_active_unassigns_it_until_a_write_sets_it(scim: Scim) -> None:
    created = (await scim("POST", "/Users", user("ed@contoso.com"))).body
    ops = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "remove", "path": "active"}]}
    removed = await scim("PATCH", f"/Users/{created['id']}", ops)
    assert removed.status == 200 and "active" not in removed.body
    assert "active" not in (await scim("GET", f"/Users/{created['id']}")).body
    ops["Operations"] = [{"op": "add", "path": "active", "value": "False"}]
    assert (await scim("PATCH", f"/Users/{created['id']}", ops)).body["active"] is False


@pytest.mark.gen_test
async def test_delete_then_404_then_recreate_gets_a_new_id(scim: Scim, gateway_env: GatewayEnv) -> None:
    first = (await scim("POST", "/Users", user("dee@contoso.com"))).body
    assert (await scim("DELETE", f"/Users/{first['id']}")).status == 204
    assert (await scim("GET", f"/Users/{first['id']}")).status == 404
    assert (await scim("DELETE", f"/Users/{first['id']}")).status == 404
    probe = await scim("GET", "/Users?filter=userName%20eq%20%22dee@contoso.com%22")
    assert probe.body["totalResults"] == 0
    again = await scim("POST", "/Users", user("dee@contoso.com"))
    assert again.status == 201 and again.body["id"] != first["id"]
    assert (await scim("GET", f"/Users/{first['id']}")).status == 404
    assert gateway_env.sql("SELECT status FROM employees WHERE email = 'dee@contoso.com'")[0][0] == "active"


@pytest.mark.gen_test
async def test_a_rename_onto_a_removed_employees_email_is_a_409_saying_so(scim: Scim) -> None:
    """A look-up of the address finds no user, so a bare "already taken" left the admin nowhere
    to look (Entra retries the 409 every cycle): the detail says a removed employee holds it."""
    gone = (await scim("POST", "/Users", user("gone@contoso.com"))).body
    assert (await scim("DELETE", f"/Users/{gone['id']}")).status == 204
    other = (await scim("POST", "/Users", user("other@contoso.com"))).body
    renamed = await scim("PATCH", f"/Users/{other['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "Gone@contoso.com"}]})
    assert renamed.status == 409 and renamed.body["scimType"] == "uniqueness"
    assert "removed from this location" in renamed.body["detail"] and "POST" in renamed.body["detail"]
    live = await scim("PUT", f"/Users/{other['id']}", user("dee2@contoso.com"))
    assert live.status == 200
    clash = await scim("POST", "/Users", user("DEE2@contoso.com"))
    assert clash.status == 409 and clash.body["detail"].endswith("is already taken in this location")


@pytest.mark.gen_test
async def test_list_paging_and_total_results(scim: Scim) -> None:
    for i in range(7):
        await scim("POST", "/Users", user(f"p{i}@contoso.com"))
    page = (await scim("GET", "/Users?startIndex=3&count=2&sortBy=userName")).body
    assert page["totalResults"] == 7 and page["startIndex"] == 3 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["p2@contoso.com", "p3@contoso.com"]
    beyond = (await scim("GET", "/Users?startIndex=50&count=5")).body
    assert beyond["totalResults"] == 7 and beyond["Resources"] == []
    only_total = (await scim("GET", "/Users?count=0")).body
    assert only_total["totalResults"] == 7 and only_total["Resources"] == []
    desc = (await scim("GET", "/Users?sortBy=userName&sortOrder=descending&count=1")).body
    assert desc["Resources"][0]["userName"] == "p6@contoso.com"


@pytest.mark.gen_test
async def test_attributes_and_excluded_attributes(scim: Scim) -> None:
    created = (await scim("POST", "/Users", user("ed@contoso.com", title="T"))).body
    only = (await scim("GET", f"/Users/{created['id']}?attributes=userName,name.givenName")).body
    assert set(only) == {"schemas", "id", "userName", "name"} and only["name"] == {"givenName": "ed"}
    less = (await scim("GET", "/Users?excludedAttributes=title,name")).body["Resources"][0]
    assert "title" not in less and "name" not in less and less["userName"] == "ed@contoso.com"


@pytest.mark.gen_test
async def test_writes_answer_the_attributes_asked_for(scim: Scim) -> None:
    """RFC 7644 §3.9: attributes and excludedAttributes apply "on any operation that returns a
    resource"; a PATCH answered the whole user whatever they said (a PATCH review)."""
    created = await scim("POST", "/Users?attributes=userName", user("pj@contoso.com", title="T"))
    assert created.status == 201 and set(created.body) == {"schemas", "id", "userName"}, created.body
    assert created.headers["Location"].endswith(f"/Users/{created.body['id']}") and created.headers["ETag"]
    path = f"/Users/{created.body['id']}"
    patched = await scim("PATCH", path + "?excludedAttributes=name,emails", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]})
    assert patched.status == 200 and patched.body["title"] == "Lead" and "name" not in patched.body, patched.body
    replaced = await scim("PUT", path + "?attributes=title", user("pj@contoso.com", title="Chief"))
    assert replaced.status == 200 and set(replaced.body) == {"schemas", "id", "title"}, replaced.body
    refused = await scim("PATCH", path + "?attributes=bogus", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Never"}]})
    assert refused.status == 400 and refused.body["scimType"] == "invalidValue", refused.body
    assert (await scim("GET", path)).body["title"] == "Chief"  # refused before it wrote


@pytest.mark.gen_test
async def test_search_endpoint(scim: Scim) -> None:
    await scim("POST", "/Users", user("fa@contoso.com"))
    await scim("POST", "/Users", user("fb@contoso.com"))
    reply = await scim("POST", "/Users/.search", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "fa"', "attributes": ["userName"], "startIndex": 1, "count": 10})
    assert reply.status == 200
    assert [r["userName"] for r in reply.body["Resources"]] == ["fa@contoso.com"]


@pytest.mark.gen_test
async def test_if_match_guards_put_patch_delete(scim: Scim) -> None:
    created = (await scim("POST", "/Users", user("gi@contoso.com"))).body
    old = created["meta"]["version"]
    patched = await scim("PATCH", f"/Users/{created['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "New"}]}, headers={"If-Match": old})
    assert patched.status == 200 and patched.body["meta"]["version"] != old
    stale = await scim("PUT", f"/Users/{created['id']}", user("gi@contoso.com"), headers={"If-Match": old})
    assert stale.status == 412
    assert (await scim("DELETE", f"/Users/{created['id']}", headers={"If-Match": old})).status == 412
    current = patched.body["meta"]["version"]
    assert (await scim("DELETE", f"/Users/{created['id']}", headers={"If-Match": current})).status == 204


@pytest.mark.gen_test
async def test_concurrent_posts_of_one_username_give_exactly_one_201(scim: Scim) -> None:
    replies = await asyncio.gather(*[scim("POST", "/Users", user("race@contoso.com")) for _ in range(12)])
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] + [409] * 11


@pytest.mark.gen_test
async def test_concurrent_patches_lose_no_update(scim: Scim) -> None:
    created = (await scim("POST", "/Users", user("lu@contoso.com"))).body
    ops = [{"op": "add", "path": "emails", "value": [{"type": f"t{i}", "value": f"v{i}@x.com"}]} for i in range(8)]
    replies = await asyncio.gather(*[
        scim("PATCH", f"/Users/{created['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                                   "Operations": [op]}) for op in ops])
    assert all(r.status == 200 for r in replies)
    final = (await scim("GET", f"/Users/{created['id']}")).body
    assert sorted(e["value"] for e in final["emails"]) == sorted(f"v{i}@x.com" for i in range(8))


BAD_REQUESTS = [
    ("POST", "/Users", b"{not json", 400, "invalidSyntax"),
    ("POST", "/Users", b"[1, 2]", 400, "invalidSyntax"),
    ("POST", "/Users", b"", 400, "invalidSyntax"),
    ("POST", "/Users", json.dumps({"schemas": [CORE]}).encode(), 400, "invalidValue"),
    ("POST", "/Users", json.dumps({"userName": "x@y"}).encode(), 400, "invalidSyntax"),
    ("POST", "/Users", json.dumps({"schemas": [CORE], "userName": 42}).encode(), 400, "invalidValue"),
    ("POST", "/Users", json.dumps({"schemas": [CORE], "userName": "x@y", "active": "maybe"}).encode(), 400,
     "invalidValue"),
    ("POST", "/Users", json.dumps({"schemas": [CORE], "userName": "x@y", "emails": "x@y"}).encode(), 400,
     "invalidValue"),
    ("POST", "/Users", b'{"userName": "x@y", "n": NaN}', 400, "invalidSyntax"),
    ("POST", "/Users", b"[" * 100000 + b"]" * 100000, 400, "invalidSyntax"),
    ("GET", "/Users?count=abc", None, 400, "invalidValue"),
    ("GET", "/Users?count=--1", None, 400, "invalidValue"),  # two signs: int() refused it, a 500 (fuzzing)
    ("GET", "/Users?startIndex=%2B-1", None, 400, "invalidValue"),
    ("POST", "/Users", b'{"userName": "x@y", "n": ' + b"9" * 5000 + b"}", 400, "invalidValue"),  # no Python advice
    ("GET", "/Users?startIndex=-5", None, 400, "invalidValue"),
    ("GET", "/Users?filter=userName%20xx%20%22a%22", None, 400, "invalidFilter"),
    ("GET", "/Users?filter=foo%20eq%20%22a%22", None, 400, "invalidFilter"),
    ("GET", "/Users?filter=" + "(" * 200 + "userName%20pr" + ")" * 200, None, 400, "invalidFilter"),
    ("GET", "/Users?filter=active%20eq%20%22yes%22", None, 400, "invalidFilter"),
    ("GET", "/Users?sortBy=nosuch", None, 400, "invalidValue"),
    ("GET", "/Users?sortBy=meta.version", None, 400, "invalidValue"),  # known, but not sortable in SQL
    ("GET", "/Users?sortBy=userName&sortOrder=sideways", None, 400, "invalidValue"),
    ("GET", "/Users?sortOrder=sideways", None, 400, "invalidValue"),  # without sortBy too, as in .search
    ("POST", "/Users/.search", json.dumps({"sortOrder": "sideways"}).encode(), 400, "invalidValue"),  # as GET
    ("GET", "/Users?attributes=bogus", None, 400, "invalidValue"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("method,path,raw,status,scim_type", BAD_REQUESTS)
async def test_bad_input_gets_a_scim_4xx(scim: Scim, method: str, path: str, raw: bytes | None, status: int,
                                         scim_type: str) -> None:
    reply = await scim(method, path, raw=raw)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/scim+json"
    assert reply.body["scimType"] == scim_type and reply.body["detail"]
    assert "Traceback" not in reply.body["detail"] and "sys." not in reply.body["detail"]


@pytest.mark.gen_test
async def test_oversized_body_is_413(scim: Scim) -> None:
    big = json.dumps({"userName": "big@x.com", "nickName": "n" * (1024 * 1024)}).encode()
    reply = await scim("POST", "/Users", raw=big)
    assert reply.status == 413 and reply.body["status"] == "413"


@pytest.mark.gen_test
async def test_content_types(scim: Scim) -> None:
    for i, ctype in enumerate(["application/scim+json; charset=utf-8", "application/json", "APPLICATION/SCIM+JSON"]):
        reply = await scim("POST", "/Users", user(f"ct{i}@x.com"), headers={"Content-Type": ctype})
        assert reply.status == 201, ctype
    reply = await scim("POST", "/Users", raw=b"userName=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415 and reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@pytest.mark.gen_test
async def test_unknown_paths_and_methods_are_scim_errors(scim: Scim) -> None:
    assert (await scim("GET", "/Nope")).status == 404
    reply = await scim("POST", "/Users/123", user("m@x.com"))
    assert reply.status == 405 and reply.body["status"] == "405"
    assert (await scim("GET", "/Users/does-not-exist")).status == 404


@pytest.mark.gen_test
@pytest.mark.parametrize("breakage", [
    "ALTER TABLE employees RENAME TO employees_moved",  # the point read (read_now)
    "ALTER TABLE scim_integrations RENAME TO moved",  # the token check, on the same connection
])
async def test_a_failing_read_is_a_scim_503_not_a_500(scim: Scim, gateway_env: GatewayEnv, breakage: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    created = await scim("POST", "/Users", user("read@contoso.com"))
    assert created.status == 201
    gateway_env.sql(breakage)
    with caplog.at_level(logging.WARNING):
        reply = await scim("GET", f"/Users/{created.body['id']}")
    assert reply.status == 503 and reply.headers["Retry-After"] == "5"
    assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "employees" not in reply.body["detail"] and "scim_integrations" not in reply.body["detail"]
    # the client is told to retry; the operator's log says why
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("request ")]
    assert line.endswith("503 (Unavailable: directory read failed: no such table: " +
                         ("employees)" if "employees" in breakage else "scim_integrations)")), line


@pytest.mark.gen_test
async def test_a_write_failing_part_way_leaves_the_directory_as_it_was(scim: Scim, gateway_env: GatewayEnv) -> None:
    """The employee row is inserted before the scim_users row; when the second insert fails the
    whole request is rolled back (one transaction per request)."""
    gateway_env.sql("CREATE TRIGGER fail_scim BEFORE INSERT ON scim_users "
                    "WHEN NEW.external_id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    before = gateway_env.sql("SELECT count(*) FROM employees")[0][0]
    reply = await scim("POST", "/Users", user("half@contoso.com", externalId="boom"))
    # a trigger refusing a write is the directory's own rule: a 400 quoting it (ce62cf9), not a 5xx
    assert reply.status == 400 and reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert reply.body["detail"] == "the directory refused the change: injected failure"
    assert gateway_env.sql("SELECT count(*) FROM employees")[0][0] == before
    ok = await scim("POST", "/Users", user("half@contoso.com", externalId="fine"))
    assert ok.status == 201
    patched = await scim("PATCH", f"/Users/{ok.body['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Lost?"}]})
    assert patched.status == 200
    gateway_env.sql("CREATE TRIGGER fail_update BEFORE UPDATE ON scim_users "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    failed = await scim("PATCH", f"/Users/{ok.body['id']}", {  # employees first, then scim_users (an extra)
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Never stored"},
                       {"op": "replace", "path": "name.formatted", "value": "Never stored"}]})
    assert failed.status == 400
    row = gateway_env.sql("SELECT designation FROM employees WHERE email = 'half@contoso.com'")[0]
    assert row["designation"] == "Lost?"


@pytest.mark.gen_test
async def test_writes_wait_for_another_writers_lock_then_give_503(scim: Scim, gateway_env: GatewayEnv) -> None:
    """Another writer (the portal, the CLI, a second worker) holding SQLite's write lock delays a
    SCIM write without blocking the gateway; past the wait limit the answer is 503 Retry-After."""
    import sqlite3

    portal = sqlite3.connect(gateway_env.directory, isolation_level=None)
    portal.execute("BEGIN IMMEDIATE")
    release = asyncio.get_running_loop().call_later(0.3, portal.execute, "COMMIT")
    try:
        waiting = asyncio.ensure_future(scim("POST", "/Users", user("waits@contoso.com")))
        probe = await scim("GET", "/Users?filter=userName%20eq%20%22nobody%40x%22")
        assert probe.status == 200 and not waiting.done()  # reads go on while the write waits
        assert (await waiting).status == 201
        gateway_env.adapter.write_lock_wait = 0.2
        portal.execute("BEGIN IMMEDIATE")
        blocked = await scim("POST", "/Users", user("blocked@contoso.com"))
        assert blocked.status == 503 and blocked.headers["Retry-After"] == "5"
    finally:
        release.cancel()
        if portal.in_transaction:
            portal.execute("ROLLBACK")
        portal.close()
    assert (await scim("POST", "/Users", user("blocked@contoso.com"))).status == 201


@pytest.mark.gen_test
@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_directory_file_deleted_or_replaced_while_open_refuses_writes_and_readiness(
        scim: Scim, gateway_env: GatewayEnv, http_client: Any, base_url: str, how: str) -> None:
    """The open connections would go on writing to the old file, which nobody reads again: every
    acknowledged write lost (an operator's ``rm -rf`` of the data directory, a restore copied
    over the file). Writes answer 503 instead, and ``/readyz`` says why, until a restart."""
    assert (await scim("POST", "/Users", user("before@contoso.com"))).status == 201
    if how == "deleted":
        for path in gateway_env.directory.parent.glob(gateway_env.directory.name + "*"):
            path.unlink()
    else:
        copy = gateway_env.directory.with_name("restored.db")
        shutil.copyfile(gateway_env.directory, copy)
        os.replace(copy, gateway_env.directory)
    refused = await scim("POST", "/Users", user("after@contoso.com"))
    assert refused.status == 503 and refused.headers["Retry-After"] == "5"
    ready = await http_client.fetch(base_url + "/readyz", raise_error=False)
    assert ready.code == 503 and json.loads(ready.body)["reason"] == "the directory is unreachable"
    if how == "replaced":  # the file at the path never got the refused write
        assert gateway_env.sql("SELECT COUNT(*) AS n FROM employees WHERE email = 'after@contoso.com'")[0]["n"] == 0


@pytest.mark.gen_test
async def test_a_boolean_sent_as_text_is_read_alike_in_post_patch_and_filters(scim: Scim) -> None:
    """Entra ID sends ``"True"``/``"False"`` (reference P2); three copies of that rule disagreed:
    a PATCH took ``" True "`` and a POST refused it (gateway/scim/boolean_text.py)."""
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "bool@contoso.com", "active": " True "})
    assert created.status == 201 and created.body["active"] is True, created.body
    patched = await scim("PATCH", f"/Users/{created.body['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": " FALSE "}]})
    assert patched.status == 200 and patched.body["active"] is False, patched.body
    found = await scim("GET", "/Users?filter=active+eq+%22+false+%22")
    assert found.status == 200 and [r["id"] for r in found.body["Resources"]] == [created.body["id"]], found.body

