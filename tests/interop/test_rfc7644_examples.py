"""RFC 7644 examples, named by section, over real HTTP against the real app and directory.

Request bodies are the RFC's own examples (only ids and versions are the server's, since the
RFC's are made up). Where an example names a Group, it is left out: Vizmo serves Users only.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.support import PUBLIC_BASE_URL, GatewayEnv, Reply, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# RFC 7644 §3.3 "Creating Resources" — the example request body
RFC_3_3_CREATE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "bjensen",
    "externalId": "bjensen",
    "name": {
        "formatted": "Ms. Barbara J Jensen III",
        "familyName": "Jensen",
        "givenName": "Barbara"
    }
}

# RFC 7644 §3.5.1 "Replacing with PUT" — the example request body ("id" is set per test)
RFC_3_5_1_PUT: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "bjensen",
    "externalId": "bjensen",
    "name": {
        "formatted": "Ms. Barbara J Jensen III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane"
    },
    "roles": [],
    "emails": [
        {
            "value": "bjensen@example.com"
        },
        {
            "value": "babs@jensen.org"
        }
    ]
}

# RFC 7644 §3.5.2.1 "Add Operation" — the path-less example ("nickname" spelt as in the RFC)
RFC_3_5_2_1_ADD: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "add",
            "value": {
                "emails": [
                    {
                        "value": "babs@jensen.org",
                        "type": "home"
                    }
                ],
                "nickname": "Babs"
            }
        }
    ]
}

# RFC 7644 §3.5.2.2 "Remove Operation" — removing values of a complex multi-valued attribute
RFC_3_5_2_2_REMOVE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "remove",
        "path": "emails[type eq \"work\" and value ew \"example.com\"]"
    }]
}

# RFC 7644 §3.5.2.3 "Replace Operation" — the three examples that apply to a User
RFC_3_5_2_3_REPLACE_ADDRESS: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "path": "addresses[type eq \"work\"]",
        "value":
        {
            "type": "work",
            "streetAddress": "911 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
            "primary": True
        }
    }]
}
RFC_3_5_2_3_REPLACE_STREET: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "path": "addresses[type eq \"work\"].streetAddress",
        "value": "1010 Broadway Ave"
    }]
}
RFC_3_5_2_3_REPLACE_PATHLESS: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "emails": [
                {
                    "value": "bjensen@example.com",
                    "type": "work",
                    "primary": True
                },
                {
                    "value": "babs@jensen.org",
                    "type": "home"
                }
            ],
            "nickname": "Babs"
        }
    }]
}

# RFC 7644 §3.4.3 "Querying Resources Using HTTP POST" — the example request body
RFC_3_4_3_SEARCH: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
    "attributes": ["displayName", "userName"],
    "filter":
        "displayName sw \"smith\"",
    "startIndex": 1,
    "count": 10
}


# --- helpers ----------------------------------------------------------------------------------------------


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def filter_query(expression: str) -> str:
    return "?filter=" + quote(expression, safe="")


async def create(scim: Scim, body: dict[str, Any]) -> dict[str, Any]:
    reply = await scim("POST", "/Users", copy.deepcopy(body))
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def get_user(scim: Scim, user_id: str) -> dict[str, Any]:
    reply = await scim("GET", f"/Users/{user_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def assert_scim_error(reply: Reply, status: int, scim_type: str | None = None) -> None:
    """RFC 7644 §3.12: the Error schema, ``status`` as a string, ``scimType`` for 400s, a ``detail``."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/scim+json"
    assert reply.body["schemas"] == [ERROR]
    assert reply.body["status"] == str(status)
    assert isinstance(reply.body.get("detail"), str) and reply.body["detail"]
    if scim_type is not None:
        assert reply.body["scimType"] == scim_type


# --- §3.3 create -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_3_create_returns_201_with_location_etag_and_meta(scim: Scim, base_url: str) -> None:
    reply = await scim("POST", "/Users", copy.deepcopy(RFC_3_3_CREATE))
    assert reply.status == 201
    body = reply.body
    assert body["schemas"] == [CORE] and body["id"]
    for key in ("userName", "externalId", "name"):
        assert body[key] == RFC_3_3_CREATE[key]
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert TIMESTAMP.match(meta["created"]) and meta["lastModified"] == meta["created"]
    assert meta["location"] == f"{PUBLIC_BASE_URL}/scim/v2/locations/1/Users/{body['id']}"
    assert reply.headers["Location"] == meta["location"]
    assert reply.headers["ETag"] == meta["version"]
    # §3.3: a duplicate userName is 409 with scimType "uniqueness"
    assert_scim_error(await scim("POST", "/Users", copy.deepcopy(RFC_3_3_CREATE)), 409, "uniqueness")


# --- §3.4.2.2 filtering ------------------------------------------------------------------------------------

FILTER_USERS: dict[str, dict[str, Any]] = {
    "bjensen": {"schemas": [CORE, ENTERPRISE], "userName": "bjensen", "userType": "Employee", "title": "Tour Guide",
                "name": {"familyName": "Jensen", "givenName": "Barbara"},
                "emails": [{"value": "bjensen@example.com", "type": "work"}],
                ENTERPRISE: {"department": "Tour Operations"}},
    "jomalley": {"schemas": [CORE], "userName": "jomalley", "userType": "Intern",
                 "name": {"familyName": "O'Malley", "givenName": "Jo"},
                 "emails": [{"value": "jo@example.org", "type": "home"}]},
    "Jake": {"schemas": [CORE], "userName": "Jake", "userType": "Contractor",
             "name": {"familyName": "Smith", "givenName": "Jake"},
             "emails": [{"value": "jake@else.net", "type": "work"}],
             "ims": [{"value": "jake@foo.com", "type": "xmpp"}]},
}
EVERYONE = set(FILTER_USERS)

#: Every filter example of RFC 7644 §3.4.2.2 (all name User attributes) and the users it selects.
RFC_3_4_2_2_FILTERS: list[tuple[str, set[str]]] = [
    ('userName eq "bjensen"', {"bjensen"}),
    ('name.familyName co "O\'Malley"', {"jomalley"}),
    ('userName sw "J"', {"jomalley", "Jake"}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', {"jomalley", "Jake"}),
    ("title pr", {"bjensen"}),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', EVERYONE),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', EVERYONE),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', set()),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', set()),
    ('title pr and userType eq "Employee"', {"bjensen"}),
    ('title pr or userType eq "Intern"', {"bjensen", "jomalley"}),
    ('schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"', {"bjensen"}),
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', {"bjensen"}),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', {"Jake"}),
    ('userType eq "Employee" and (emails.type eq "work")', {"bjensen"}),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', {"bjensen"}),
    ('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
     {"bjensen", "Jake"}),
    # §3.4.2.2: "Attribute names and attribute operators used in filters are case insensitive"
    ('userName Eq "bjensen"', {"bjensen"}),
    ('Username eq "bjensen"', {"bjensen"}),
]

#: ``schemas`` is a common attribute (RFC 7643 §3), not one of the User schema's; a server may
#: refuse to filter on it, but then with 400 invalidFilter.
MAY_BE_INVALID_FILTER = {'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"'}


async def _seed_filter_users(scim: Scim) -> None:
    for body in FILTER_USERS.values():
        await create(scim, body)


@pytest.mark.gen_test
@pytest.mark.parametrize("transport", ["GET", ".search"])
@pytest.mark.parametrize("expression,expected", RFC_3_4_2_2_FILTERS, ids=[f for f, _ in RFC_3_4_2_2_FILTERS])
async def test_3_4_2_2_filter_examples(scim: Scim, expression: str, expected: set[str], transport: str) -> None:
    await _seed_filter_users(scim)
    if transport == "GET":
        reply = await scim("GET", "/Users" + filter_query(expression))
    else:
        reply = await scim("POST", "/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": expression})
    if reply.status == 400 and expression in MAY_BE_INVALID_FILTER:
        assert_scim_error(reply, 400, "invalidFilter")
        return
    assert reply.status == 200, reply.body
    assert reply.body["schemas"] == [LIST_RESPONSE]
    assert {r["userName"] for r in reply.body["Resources"]} == expected
    assert reply.body["totalResults"] == len(expected)


@pytest.mark.gen_test
@pytest.mark.parametrize("expression", ['employeeClass eq "x"', 'name.nickname eq "x"', "members pr",
                                        'emails[kind eq "work"]'])
async def test_3_4_2_2_filter_on_an_unknown_attribute_is_invalid_filter(scim: Scim, expression: str) -> None:
    await _seed_filter_users(scim)
    assert_scim_error(await scim("GET", "/Users" + filter_query(expression)), 400, "invalidFilter")


# --- §3.4.2.4 pagination ----------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_4_2_4_pagination(scim: Scim) -> None:
    for i in range(25):
        await create(scim, {"schemas": [CORE], "userName": f"page{i:02d}@example.com"})
    seen: list[str] = []
    for start, size in ((1, 10), (11, 10), (21, 5)):
        page = (await scim("GET", f"/Users?startIndex={start}&count=10")).body
        assert page["schemas"] == [LIST_RESPONSE]
        assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (25, start, size)
        assert len(page["Resources"]) == size
        seen += [r["id"] for r in page["Resources"]]
    assert len(seen) == len(set(seen)) == 25
    beyond = (await scim("GET", "/Users?startIndex=26&count=10")).body
    assert beyond["totalResults"] == 25 and beyond["Resources"] == [] and beyond["itemsPerPage"] == 0
    # §3.4.2.4 "count": 0 → no resources, but totalResults
    only_total = (await scim("GET", "/Users?count=0")).body
    assert only_total["totalResults"] == 25 and only_total["Resources"] == []
    # "startIndex" defaults to 1; the page is the same one GET and .search give
    by_post = (await scim("POST", "/Users/.search", {"schemas": [SEARCH_REQUEST], "startIndex": 11,
                                                      "count": 10})).body
    assert [r["id"] for r in by_post["Resources"]] == seen[10:20]


# --- §3.4.3 POST .search -----------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_4_3_search_with_post(scim: Scim) -> None:
    names = {"jsmith": "Smith, John", "smithers": "smithers", "asmith": "SMITH Ann", "jsmith2": "John Smith"}
    for user_name, display in names.items():
        await create(scim, {"schemas": [CORE], "userName": user_name, "displayName": display, "title": "T"})
    reply = await scim("POST", "/Users/.search", copy.deepcopy(RFC_3_4_3_SEARCH))
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["schemas"] == [LIST_RESPONSE]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 1, 3)
    assert {r["userName"] for r in body["Resources"]} == {"jsmith", "smithers", "asmith"}
    for resource in body["Resources"]:
        assert set(resource) == {"schemas", "id", "userName", "displayName"}
        assert resource["displayName"] == names[resource["userName"]]


# --- §3.5.1 PUT ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_5_1_replace_with_put(scim: Scim, gateway_env: GatewayEnv) -> None:
    created = await create(scim, RFC_3_3_CREATE)
    body = {**copy.deepcopy(RFC_3_5_1_PUT), "id": created["id"]}
    reply = await scim("PUT", f"/Users/{created['id']}", body, headers={"If-Match": created["meta"]["version"]})
    assert reply.status == 200, reply.body
    replaced = reply.body
    assert replaced["id"] == created["id"]
    assert replaced["name"] == RFC_3_5_1_PUT["name"] and replaced["emails"] == RFC_3_5_1_PUT["emails"]
    assert "roles" not in replaced
    assert replaced["meta"]["created"] == created["meta"]["created"]
    assert replaced["meta"]["version"] != created["meta"]["version"]
    assert reply.headers["ETag"] == replaced["meta"]["version"]
    assert await get_user(scim, created["id"]) == replaced
    row = gateway_env.sql("SELECT first_name, last_name FROM employees WHERE email = 'bjensen'")[0]
    assert tuple(row) == ("Barbara", "Jensen")


# --- §3.5.2.1–3 PATCH ------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_5_2_1_add_without_path(scim: Scim) -> None:
    created = await create(scim, {**RFC_3_3_CREATE, "emails": [{"value": "bjensen@example.com", "type": "work"}]})
    reply = await scim("PATCH", f"/Users/{created['id']}", copy.deepcopy(RFC_3_5_2_1_ADD))
    assert reply.status == 200, reply.body
    assert reply.body["emails"] == [{"value": "bjensen@example.com", "type": "work"},
                                    {"value": "babs@jensen.org", "type": "home"}]
    assert reply.body["nickName"] == "Babs"
    assert await get_user(scim, created["id"]) == reply.body
    # §3.5.2.1: "If the target location already contains the value specified, no changes SHOULD be made"
    again = await scim("PATCH", f"/Users/{created['id']}", copy.deepcopy(RFC_3_5_2_1_ADD))
    assert again.status == 200 and again.body == reply.body


@pytest.mark.gen_test
async def test_3_5_2_2_remove(scim: Scim) -> None:
    emails = [{"value": "bjensen@example.com", "type": "work"}, {"value": "barbara@example.org", "type": "work"},
              {"value": "babs@jensen.org", "type": "home"}]
    created = await create(scim, {**RFC_3_3_CREATE, "emails": emails, "title": "Tour Guide"})
    reply = await scim("PATCH", f"/Users/{created['id']}", copy.deepcopy(RFC_3_5_2_2_REMOVE))
    assert reply.status == 200, reply.body
    assert reply.body["emails"] == emails[1:]
    assert await get_user(scim, created["id"]) == reply.body
    # no match: success, nothing changes
    unchanged = await scim("PATCH", f"/Users/{created['id']}", copy.deepcopy(RFC_3_5_2_2_REMOVE))
    assert unchanged.status == 200 and unchanged.body == reply.body
    # §3.5.2.2: no "path" → 400 noTarget; a required or read-only attribute → 400 mutability
    url = f"/Users/{created['id']}"
    assert_scim_error(await scim("PATCH", url, patch_op({"op": "remove"})), 400, "noTarget")
    assert_scim_error(await scim("PATCH", url, patch_op({"op": "remove", "path": "userName"})), 400, "mutability")
    assert_scim_error(await scim("PATCH", url, patch_op({"op": "remove", "path": "id"})), 400, "mutability")
    assert await get_user(scim, created["id"]) == reply.body


@pytest.mark.gen_test
async def test_3_5_2_3_replace(scim: Scim) -> None:
    home = {"type": "home", "streetAddress": "5 Home St", "locality": "Burbank"}
    old_work = {"type": "work", "streetAddress": "100 Old Rd", "locality": "Burbank", "region": "CA",
                "postalCode": "91501", "country": "US", "formatted": "100 Old Rd", "primary": False}
    created = await create(scim, {**RFC_3_3_CREATE, "addresses": [old_work, home],
                                  "emails": [{"value": "old@example.com", "type": "work"}]})
    url = f"/Users/{created['id']}"
    reply = await scim("PATCH", url, copy.deepcopy(RFC_3_5_2_3_REPLACE_ADDRESS))
    assert reply.status == 200, reply.body
    new_work = RFC_3_5_2_3_REPLACE_ADDRESS["Operations"][0]["value"]
    assert reply.body["addresses"] == [new_work, home]
    reply = await scim("PATCH", url, copy.deepcopy(RFC_3_5_2_3_REPLACE_STREET))
    assert reply.status == 200, reply.body
    assert reply.body["addresses"] == [{**new_work, "streetAddress": "1010 Broadway Ave"}, home]
    reply = await scim("PATCH", url, copy.deepcopy(RFC_3_5_2_3_REPLACE_PATHLESS))
    assert reply.status == 200, reply.body
    assert reply.body["emails"] == RFC_3_5_2_3_REPLACE_PATHLESS["Operations"][0]["value"]["emails"]
    assert reply.body["nickName"] == "Babs"
    assert reply.body["addresses"][1] == home
    assert await get_user(scim, created["id"]) == reply.body
    # §3.5.2.3: a value filter that matches nothing (and cannot build an entry) → 400 noTarget
    no_match = patch_op({"op": "replace", "path": 'addresses[type sw "oth"].locality', "value": "X"})
    assert_scim_error(await scim("PATCH", url, no_match), 400, "noTarget")


# --- §3.6 DELETE ------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_6_delete(scim: Scim) -> None:
    created = await create(scim, RFC_3_3_CREATE)
    other = await create(scim, {"schemas": [CORE], "userName": "someone.else"})
    url = f"/Users/{created['id']}"
    reply = await scim("DELETE", url)
    assert reply.status == 204 and reply.body is None
    # "MUST return a 404 (Not Found) error code for all operations associated with the previously
    # deleted resource" and "MUST omit the resource from future query results"
    assert_scim_error(await scim("GET", url), 404)
    assert_scim_error(await scim("PUT", url, copy.deepcopy(RFC_3_3_CREATE)), 404)
    assert_scim_error(await scim("PATCH", url, patch_op({"op": "replace", "path": "title", "value": "x"})), 404)
    assert_scim_error(await scim("DELETE", url), 404)
    listing = (await scim("GET", "/Users")).body
    assert [r["id"] for r in listing["Resources"]] == [other["id"]] and listing["totalResults"] == 1
    assert (await scim("GET", "/Users" + filter_query('userName eq "bjensen"'))).body["totalResults"] == 0


# --- §3.12 errors ------------------------------------------------------------------------------------------

ERROR_CASES = [
    ("GET", "/Users/2819c223-7f76-453a-919d-413861904646", None, 404, None),
    ("GET", "/Users" + filter_query('userName eq'), None, 400, "invalidFilter"),
    ("GET", "/Users" + filter_query('userName zz "x"'), None, 400, "invalidFilter"),
    ("POST", "/Users", b'{"schemas": [', 400, "invalidSyntax"),
    ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}', 400, "invalidValue"),
    ("POST", "/Users/.search", b'{"schemas": ["x"], "count": "many"}', 400, "invalidSyntax"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("method,path,raw,status,scim_type", ERROR_CASES)
async def test_3_12_error_responses(scim: Scim, method: str, path: str, raw: bytes | None, status: int,
                                    scim_type: str | None) -> None:
    assert_scim_error(await scim(method, path, raw=raw), status, scim_type)


@pytest.mark.gen_test
async def test_3_12_conflict_and_precondition_errors(scim: Scim) -> None:
    created = await create(scim, RFC_3_3_CREATE)
    assert_scim_error(await scim("POST", "/Users", copy.deepcopy(RFC_3_3_CREATE)), 409, "uniqueness")
    stale = 'W/"e180ee84f0671b1"'  # the RFC's example version
    assert_scim_error(await scim("PUT", f"/Users/{created['id']}", copy.deepcopy(RFC_3_3_CREATE),
                                 headers={"If-Match": stale}), 412)


# --- §3.14 versioning --------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_3_14_etag_header_and_if_match(scim: Scim) -> None:
    created = await create(scim, RFC_3_3_CREATE)
    url = f"/Users/{created['id']}"
    fetched = await scim("GET", url)
    v1 = fetched.body["meta"]["version"]
    assert fetched.headers["ETag"] == v1 and re.fullmatch(r'(W/)?"[^"]+"', v1)
    patched = await scim("PATCH", url, patch_op({"op": "replace", "path": "displayName", "value": "Babs"}),
                         headers={"If-Match": v1})
    assert patched.status == 200
    v2 = patched.body["meta"]["version"]
    assert v2 != v1 and patched.headers["ETag"] == v2
    title = patch_op({"op": "replace", "path": "title", "value": "x"})
    assert_scim_error(await scim("PATCH", url, title, headers={"If-Match": v1}), 412)
    assert_scim_error(await scim("PUT", url, copy.deepcopy(RFC_3_3_CREATE), headers={"If-Match": v1}), 412)
    assert_scim_error(await scim("DELETE", url, headers={"If-Match": v1}), 412)
    assert (await get_user(scim, created["id"]))["meta"]["version"] == v2
    assert (await scim("PATCH", url, title, headers={"If-Match": "*"})).status == 200
    listed = (await scim("GET", "/Users")).body["Resources"][0]
    assert listed["meta"]["version"] == (await get_user(scim, created["id"]))["meta"]["version"]


@pytest.mark.gen_test
async def test_3_14_if_none_match_on_get(scim: Scim) -> None:
    # §3.14: "If the resource has not changed, the service provider simply returns an empty body
    # with a 304 (Not Modified) response code." (the ServiceProviderConfig says etag is supported)
    created = await create(scim, RFC_3_3_CREATE)
    url = f"/Users/{created['id']}"
    version = created["meta"]["version"]
    same = await scim("GET", url, headers={"If-None-Match": version})
    assert same.status == 304 and same.body is None
    changed = await scim("GET", url, headers={"If-None-Match": 'W/"e180ee84f0671b1"'})
    assert changed.status == 200 and changed.body["meta"]["version"] == version


# --- §4 discovery ------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_4_service_provider_config(scim: Scim, base_url: str) -> None:
    reply = await scim("GET", "/ServiceProviderConfig")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/scim+json"
    spc = reply.body
    assert spc["schemas"] == [SPC]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert isinstance(spc[feature]["supported"], bool), feature
    assert spc["patch"]["supported"] is True and spc["bulk"]["supported"] is False
    assert spc["filter"]["supported"] is True and isinstance(spc["filter"]["maxResults"], int)
    assert spc["sort"]["supported"] is True and spc["etag"]["supported"] is True
    schemes = spc["authenticationSchemes"]
    assert schemes and all({"type", "name", "description"} <= set(s) for s in schemes)
    assert schemes[0]["type"] == "oauthbearertoken"
    assert spc["meta"] == {"resourceType": "ServiceProviderConfig",
                           "location": f"{PUBLIC_BASE_URL}/scim/v2/locations/1/ServiceProviderConfig"}


@pytest.mark.gen_test
async def test_4_resource_types(scim: Scim, base_url: str) -> None:
    tenant = f"{PUBLIC_BASE_URL}/scim/v2/locations/1"
    listing = await scim("GET", "/ResourceTypes")
    assert listing.status == 200
    assert listing.body["schemas"] == [LIST_RESPONSE]
    resources = listing.body["Resources"]
    assert listing.body["totalResults"] == len(resources) >= 1
    user = next(r for r in resources if r["name"] == "User")
    assert user["schemas"] == [RESOURCE_TYPE]
    assert (user["id"], user["endpoint"], user["schema"]) == ("User", "/Users", CORE)
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert user["meta"] == {"resourceType": "ResourceType", "location": f"{tenant}/ResourceTypes/User"}
    for resource in resources:
        assert resource["meta"]["location"] == f"{tenant}/ResourceTypes/{resource['name']}"
        single = await scim("GET", f"/ResourceTypes/{resource['name']}")
        assert single.status == 200 and single.body == resource
    assert_scim_error(await scim("GET", "/ResourceTypes/Nope"), 404)


@pytest.mark.gen_test
async def test_4_schemas(scim: Scim, base_url: str) -> None:
    tenant = f"{PUBLIC_BASE_URL}/scim/v2/locations/1"
    listing = await scim("GET", "/Schemas")
    assert listing.status == 200 and listing.body["schemas"] == [LIST_RESPONSE]
    schemas = {s["id"]: s for s in listing.body["Resources"]}
    assert listing.body["totalResults"] == len(schemas)
    assert {CORE, ENTERPRISE} <= set(schemas)
    for schema_id, schema in schemas.items():
        assert schema["schemas"] == [SCHEMA]
        assert schema["meta"] == {"resourceType": "Schema", "location": f"{tenant}/Schemas/{schema_id}"}
        for attribute in schema["attributes"]:
            assert {"name", "type", "multiValued", "required", "mutability", "returned"} <= set(attribute)
        single = await scim("GET", f"/Schemas/{schema_id}")
        assert single.status == 200 and single.body == schema
    user = (await scim("GET", f"/Schemas/{CORE}")).body
    assert user["name"] == "User"
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert (user_name["type"], user_name["required"], user_name["caseExact"], user_name["uniqueness"]) == \
        ("string", True, False, "server")
    emails = next(a for a in user["attributes"] if a["name"] == "emails")
    assert emails["multiValued"] is True
    assert {"value", "type", "primary"} <= {sub["name"] for sub in emails["subAttributes"]}
    # every schema a resource type names is served
    for resource_type in (await scim("GET", "/ResourceTypes")).body["Resources"]:
        for urn in [resource_type["schema"], *(e["schema"] for e in resource_type.get("schemaExtensions", []))]:
            assert (await scim("GET", f"/Schemas/{urn}")).status == 200, urn
    assert_scim_error(await scim("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope"), 404)


@pytest.mark.gen_test
@pytest.mark.parametrize("endpoint", ["/Schemas", "/ResourceTypes"])
async def test_4_discovery_never_answers_a_filter_misleadingly(scim: Scim, endpoint: str) -> None:
    # §4: query parameters "SHALL be ignored. If a "filter" is provided, the service provider SHOULD
    # respond with HTTP status code 403 (Forbidden)" — never a 200 that looks filtered.
    full = (await scim("GET", endpoint)).body
    reply = await scim("GET", endpoint + filter_query('id eq "nothing-matches-this"') + "&count=1&startIndex=2")
    if reply.status == 403:
        assert_scim_error(reply, 403)
    else:
        assert reply.status == 200 and reply.body == full
