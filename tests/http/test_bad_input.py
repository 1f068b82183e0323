"""Every bad input gets its SCIM 4xx and writes nothing (issue 12 §5; README's limits table).

Each case is sent over real HTTP to a gateway on a real directory file; after each refusal the
directory rows are compared with what they were before, so "nothing written" is checked, not assumed.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any
from urllib.parse import quote, urlparse

import pytest

from tests.support import GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: An extension the gateway does not serve (its attributes are kept as sent).
CUSTOM = "urn:example:params:scim:schemas:extension:custom:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def snapshot(env: GatewayEnv) -> list[tuple[Any, ...]]:
    """Every row the gateway could have written (employees and its own scim_users)."""
    rows = env.sql("SELECT * FROM employees ORDER BY id")
    rows += env.sql("SELECT * FROM scim_users ORDER BY employee_id")
    return [tuple(row) for row in rows]


async def create(scim: Scim, name: str = "ana@contoso.com") -> dict[str, Any]:
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": name,
                                            "name": {"givenName": "Ana", "familyName": "Silva"}})
    assert created.status == 201, created.body
    return created.body


def assert_scim_error(reply: Any, status: int, scim_type: str | None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/scim+json")
    assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert reply.body["status"] == str(status) and reply.body["detail"]
    assert reply.body.get("scimType") == scim_type


# -- lone surrogates ------------------------------------------------------------------------

LONE = '"ana\\ud800@contoso.com"'


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_a_lone_surrogate_is_400_invalid_value_for_every_write(scim: Scim, gateway_env: GatewayEnv,
                                                                     method: str) -> None:
    existing = await create(scim)
    before = snapshot(gateway_env)
    if method == "POST":
        path, raw = "/Users", f'{{"schemas": ["{CORE}"], "userName": {LONE}}}'
    elif method == "PUT":
        path, raw = f"/Users/{existing['id']}", f'{{"schemas": ["{CORE}"], "userName": {LONE}}}'
    else:
        path = f"/Users/{existing['id']}"
        raw = (f'{{"schemas": ["{PATCH_OP}"], "Operations": [{{"op": "replace", "path": "displayName", '
               f'"value": {LONE}}}]}}')
    reply = await scim(method, path, raw=raw.encode())
    assert_scim_error(reply, 400, "invalidValue")
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_a_lone_surrogate_in_a_key_or_a_search_is_400(scim: Scim, gateway_env: GatewayEnv) -> None:
    before = snapshot(gateway_env)
    reply = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}"], "userName": "a@b.c", "\\udc00": 1}}'.encode())
    assert_scim_error(reply, 400, "invalidValue")
    search = await scim("POST", "/Users/.search", raw=b'{"filter": "userName eq \\"\\ud800\\""}')
    assert search.status == 400
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_a_surrogate_pair_is_one_character_and_accepted(scim: Scim) -> None:
    reply = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}"], "userName": "smile\\ud83d\\ude00@x.io"}}'
                       .encode())
    assert reply.status == 201 and reply.body["userName"] == "smile\U0001F600@x.io"


@pytest.mark.gen_test
@pytest.mark.parametrize("method, where", [("POST", "userName"), ("POST", "key"), ("PUT", "userName"),
                                           ("PATCH", "displayName")])
async def test_nul_in_a_string_or_a_name_is_400_for_every_adapter_alike(scim: Scim, gateway_env: GatewayEnv,
                                                                          method: str, where: str) -> None:
    """PostgreSQL refuses U+0000 and SQLite stored it (found by fuzzing): the gateway refuses it
    before any adapter sees it."""
    existing = await create(scim)
    before = snapshot(gateway_env)
    user = '"userName": "nul\\u0000@x.io"' if where == "userName" else '"userName": "a@b.c", "nick\\u0000": 1'
    if method == "PATCH":
        path, raw = f"/Users/{existing['id']}", (f'{{"schemas": ["{PATCH_OP}"], "Operations": [{{"op": "replace", '
                                                 f'"path": "displayName", "value": "A\\u0000"}}]}}')
    else:
        path = "/Users" if method == "POST" else f"/Users/{existing['id']}"
        raw = f'{{"schemas": ["{CORE}"], {user}}}'
    reply = await scim(method, path, raw=raw.encode())
    assert_scim_error(reply, 400, "invalidValue")
    assert "NUL" in reply.body["detail"]
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_an_escaped_backslash_before_u0000_is_text_and_accepted(scim: Scim) -> None:
    reply = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}"], "userName": "a@b.c", '
                       f'"displayName": "C:\\\\u0000"}}'.encode())
    assert reply.status == 201 and reply.body["displayName"] == "C:\\u0000", reply.body


# -- oversized requests ---------------------------------------------------------------------

def raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send ``request`` on a new connection and read the whole answer (the server closes)."""
    url = urlparse(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.gen_test
async def test_a_url_longer_than_the_limit_gets_a_scim_414(scim: Scim) -> None:
    long_filter = quote(f'userName eq "{"a" * 100_000}"')
    reply = await scim("GET", f"/Users?filter={long_filter}")
    assert_scim_error(reply, 414, None)
    assert "/.search" in reply.body["detail"]


@pytest.mark.gen_test
async def test_a_filter_longer_than_its_maximum_is_400_invalid_filter(scim: Scim) -> None:
    body = {"filter": f'userName eq "{"a" * 5000}"'}
    assert_scim_error(await scim("POST", "/Users/.search", body), 400, "invalidFilter")
    query = await scim("GET", "/Users?filter=" + quote(f'userName eq "{"a" * 4200}"'))
    assert_scim_error(query, 400, "invalidFilter")


@pytest.mark.gen_test
async def test_a_header_section_over_the_limit_gets_a_scim_431(scim: Scim) -> None:
    reply = await scim("GET", "/Users", headers={"X-Padding": "p" * 70_000})
    assert_scim_error(reply, 431, None)


@pytest.mark.gen_test
async def test_oversized_requests_are_answered_not_dropped(http_server: Any, base_url: str,
                                                           gateway_env: GatewayEnv, io_loop: Any) -> None:
    token = gateway_env.tokens[1]
    target = "/scim/v2/locations/1/Users?filter=" + quote(f'userName eq "{"b" * 500_000}"')
    request = (f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Connection: close\r\n\r\n").encode()
    answer = await io_loop.run_in_executor(None, raw_exchange, base_url, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 "), head[:200]
    assert json.loads(body)["status"] == "414"


# -- filters --------------------------------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("text", ['userName eq tru', "userName eq jyoung", "externalId eq 54D382A4-2050",
                                  "userName eq 0123", "title eq NaN"])
async def test_an_unquoted_word_is_400_invalid_filter(scim: Scim, text: str) -> None:
    assert_scim_error(await scim("GET", "/Users?filter=" + quote(text)), 400, "invalidFilter")
    assert_scim_error(await scim("POST", "/Users/.search", {"filter": text}), 400, "invalidFilter")


@pytest.mark.gen_test
@pytest.mark.parametrize("text", ["active eq true", "active eq False", "title eq null", "title pr",
                                  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984"])
async def test_json_literals_and_numbers_stay_valid_filter_values(scim: Scim, text: str) -> None:
    reply = await scim("GET", "/Users?filter=" + quote(text))
    assert reply.status == 200, reply.body


# -- schemas --------------------------------------------------------------------------------

BAD_SCHEMAS = [
    pytest.param(None, "invalidSyntax", id="missing"),
    pytest.param(CORE, "invalidSyntax", id="a-string"),
    pytest.param([CORE, 7], "invalidSyntax", id="not-strings"),
    pytest.param([], "invalidSyntax", id="empty"),
    pytest.param([ENTERPRISE], "invalidSyntax", id="without-the-core-urn"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("schemas, scim_type", BAD_SCHEMAS)
async def test_schemas_is_required_and_checked(scim: Scim, gateway_env: GatewayEnv, method: str,
                                               schemas: Any, scim_type: str) -> None:
    existing = await create(scim)
    before = snapshot(gateway_env)
    body: dict[str, Any] = {"userName": "new@contoso.com", "title": "Host"}
    if schemas is not None:
        body["schemas"] = schemas
    path = "/Users" if method == "POST" else f"/Users/{existing['id']}"
    reply = await scim(method, path, body)
    assert_scim_error(reply, 400, scim_type)
    assert "schemas" in reply.body["detail"]
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_entras_published_enterprise_urn_typo_and_an_unused_extension_are_accepted(scim: Scim) -> None:
    # Note: Entra ID's reference-code example lists "...:enterprise:2.0User" (no colon); P13.
    typo = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
    reply = await scim("POST", "/Users", {"schemas": [CORE, typo], "userName": "joy@contoso.com"})
    assert reply.status == 201 and reply.body["schemas"] == [CORE]
    unused = await scim("POST", "/Users", {"schemas": [CORE, ENTERPRISE], "userName": "kim@contoso.com"})
    assert unused.status == 201
    unknown = "urn:example:params:scim:schemas:extension:unknown:1.0:User"
    listed = await scim("POST", "/Users", {"schemas": [CORE, unknown], "userName": "lee@contoso.com"})
    assert listed.status == 201 and listed.body["schemas"] == [CORE], listed.body


@pytest.mark.gen_test
async def test_a_put_listing_a_custom_extension_without_its_values_clears_them(scim: Scim) -> None:
    """A GET's representation with the custom extension's values taken out (its URN left in
    ``schemas``) is the user without them: it was a 400 for naming a schema with no attributes."""
    created = await scim("POST", "/Users", {"schemas": [CORE, CUSTOM], "userName": "ext@contoso.com",
                                            CUSTOM: {"costCode": "A-7"}})
    assert created.status == 201 and CUSTOM in created.body["schemas"], created.body
    cleared = {key: value for key, value in created.body.items() if key not in ("meta", "id", CUSTOM)}
    assert CUSTOM in cleared["schemas"]
    replaced = await scim("PUT", f"/Users/{created.body['id']}", cleared)
    assert replaced.status == 200, replaced.body
    assert CUSTOM not in replaced.body and replaced.body["schemas"] == [CORE], replaced.body
    fetched = await scim("GET", f"/Users/{created.body['id']}")
    assert CUSTOM not in fetched.body and fetched.body["schemas"] == [CORE], fetched.body
    emptied = await scim("PUT", f"/Users/{created.body['id']}", {**cleared, CUSTOM: {}})  # Okta's cleared block
    assert emptied.status == 200 and CUSTOM not in emptied.body and emptied.body["schemas"] == [CORE], emptied.body
    refilled = await scim("PUT", f"/Users/{created.body['id']}", {**cleared, CUSTOM: {"costCode": "B"}})
    assert refilled.body[CUSTOM] == {"costCode": "B"}
    again = await scim("PUT", f"/Users/{created.body['id']}", {**cleared, CUSTOM: {}})
    assert CUSTOM not in again.body and CUSTOM not in (await scim("GET", f"/Users/{created.body['id']}")).body


@pytest.mark.gen_test
async def test_a_user_with_an_unknown_extension_goes_back_unchanged_in_a_put(scim: Scim) -> None:
    """The answer lists an unknown extension's URN beside its attributes; a PUT of that very
    representation was refused for naming a schema the gateway does not serve (found by fuzzing)."""
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "ext@contoso.com",
                                            CUSTOM: {"costCode": "A-7", "tags": ["x", "y"]}})
    assert created.status == 201 and CUSTOM in created.body["schemas"], created.body
    representation = {key: value for key, value in created.body.items() if key not in ("meta", "id")}
    replaced = await scim("PUT", f"/Users/{created.body['id']}", representation)
    assert replaced.status == 200, replaced.body
    assert replaced.body[CUSTOM] == {"costCode": "A-7", "tags": ["x", "y"]}
    assert {k: v for k, v in replaced.body.items() if k != "meta"} == \
        {k: v for k, v in created.body.items() if k != "meta"}


# -- wrong types ----------------------------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("value, name", [(None, "null"), (5, "a number"), (True, "a boolean"), ("x", "a string"),
                                         ([], "an array")])
async def test_a_wrong_type_is_named_as_json_names_it(scim: Scim, value: Any, name: str) -> None:
    """Details name JSON's types, never Python's (``NoneType``, ``int``, ``list``: found by fuzzing)."""
    user = await create(scim)
    patch = await scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP],
                                                         "Operations": [{"op": "add", "value": value}]})
    assert patch.status == 400, patch.body
    assert f"not {name}" in patch.body["detail"], patch.body
    for python_name in ("NoneType", "int", "bool", "str", "list"):
        assert not re.search(rf"\bnot {python_name}\b", patch.body["detail"]), patch.body


WRONG_TYPES = [
    pytest.param({"op": "replace", "path": "userName", "value": 123}, id="userName-number"),
    pytest.param({"op": "replace", "path": "name.givenName", "value": 5}, id="givenName-number"),
    pytest.param({"op": "replace", "path": "emails", "value": 42}, id="emails-number"),
    pytest.param({"op": "add", "path": "emails", "value": [{"value": 5}]}, id="email-value-number"),
    pytest.param({"op": "replace", "path": f"{ENTERPRISE}:department", "value": 5}, id="department-number"),
    pytest.param({"op": "replace", "value": {"displayName": ["a"]}}, id="pathless-displayName-array"),
    pytest.param({"op": "replace", "path": "active", "value": "yes"}, id="active-word"),
    pytest.param({"op": "replace", "path": "name", "value": "Ana"}, id="name-string"),
    pytest.param({"op": "add", "path": 'emails[type eq "work"].value', "value": True}, id="value-path-bool"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("operation", WRONG_TYPES)
async def test_a_patch_value_of_the_wrong_type_is_400_invalid_value(scim: Scim, gateway_env: GatewayEnv,
                                                                    operation: dict[str, Any]) -> None:
    existing = await create(scim)
    before = snapshot(gateway_env)
    reply = await scim("PATCH", f"/Users/{existing['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})
    assert_scim_error(reply, 400, "invalidValue")
    assert snapshot(gateway_env) == before
    assert (await scim("GET", f"/Users/{existing['id']}")).body == existing


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [
    pytest.param({"userName": 123}, id="userName-number"),
    pytest.param({"userName": "a@b.c", "name": {"givenName": 5}}, id="givenName-number"),
    pytest.param({"userName": "a@b.c", "emails": 42}, id="emails-number"),
    pytest.param({"userName": "a@b.c", "emails": [{"value": 5}]}, id="email-value-number"),
    pytest.param({"userName": "a@b.c", ENTERPRISE: {"department": 5}}, id="department-number"),
])
async def test_post_and_put_refuse_the_same_wrong_types(scim: Scim, gateway_env: GatewayEnv,
                                                        body: dict[str, Any]) -> None:
    existing = await create(scim)
    before = snapshot(gateway_env)
    full = {"schemas": [CORE, ENTERPRISE] if ENTERPRISE in body else [CORE], **body}
    assert_scim_error(await scim("POST", "/Users", full), 400, "invalidValue")
    assert_scim_error(await scim("PUT", f"/Users/{existing['id']}", full), 400, "invalidValue")
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_entra_forms_stay_accepted(scim: Scim) -> None:
    existing = await create(scim)
    reply = await scim("PATCH", f"/Users/{existing['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "value": {"name.familyName": "Souza", f"{ENTERPRISE}:department": "Ops"}},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "42"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+91 11 5555"},
    ]})
    assert reply.status == 200, reply.body
    assert reply.body["active"] is False and reply.body["name"]["familyName"] == "Souza"
    assert reply.body[ENTERPRISE] == {"department": "Ops", "manager": {"value": "42"}}


# -- list parameters: the same bounds for GET and .search -----------------------------------

OUT_OF_RANGE = [("startIndex", 0), ("startIndex", -1), ("startIndex", 2**31), ("startIndex", 10**19),
                ("startIndex", -(10**19)), ("count", -1), ("count", 2**31), ("count", 10**19)]
WRONG_TYPES_OF_PARAMETERS = [("startIndex", "abc"), ("startIndex", 1.5), ("startIndex", True), ("count", "x"),
                             ("count", 2.5), ("count", [1])]


@pytest.mark.gen_test
@pytest.mark.parametrize("name, value", OUT_OF_RANGE)
async def test_list_bounds_are_the_same_400_for_get_and_search(scim: Scim, name: str, value: int) -> None:
    assert_scim_error(await scim("POST", "/Users/.search", {name: value}), 400, "invalidValue")
    assert_scim_error(await scim("POST", "/.search", {name: value}), 400, "invalidValue")
    assert_scim_error(await scim("GET", f"/Users?{name}={value}"), 400, "invalidValue")


@pytest.mark.gen_test
@pytest.mark.parametrize("name, value", WRONG_TYPES_OF_PARAMETERS)
async def test_list_parameters_of_the_wrong_type_are_400(scim: Scim, name: str, value: Any) -> None:
    assert_scim_error(await scim("POST", "/Users/.search", {name: value}), 400, "invalidSyntax")
    assert_scim_error(await scim("GET", f"/Users?{name}={quote(json.dumps(value))}"), 400, "invalidValue")


@pytest.mark.gen_test
async def test_list_bounds_at_their_edges_are_accepted(scim: Scim) -> None:
    await create(scim)
    for body in ({"startIndex": 2**31 - 1}, {"count": 2**31 - 1}, {"startIndex": 1.0, "count": 0}):
        reply = await scim("POST", "/Users/.search", body)
        assert reply.status == 200, (body, reply.body)
    assert (await scim("GET", f"/Users?startIndex={2**31 - 1}&count={2**31 - 1}")).status == 200


@pytest.mark.gen_test
async def test_a_number_too_large_for_a_double_is_400(scim: Scim, gateway_env: GatewayEnv) -> None:
    before = snapshot(gateway_env)
    reply = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}"], "userName": "a@b.c", '
                       f'"{ENTERPRISE}": {{"costCenter": 1e400}}}}'.encode())
    assert_scim_error(reply, 400, "invalidSyntax")
    assert_scim_error(await scim("POST", "/Users/.search", raw=b'{"startIndex": 1e400}'), 400, "invalidSyntax")
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_an_integer_outside_64_bits_is_400_and_one_inside_comes_back_exactly(scim: Scim,
                                                                                   gateway_env: GatewayEnv) -> None:
    """A wider integer was stored and came back as a float (orjson reads one past 64 bits so):
    refused; the widest ones kept are returned digit for digit."""
    before = snapshot(gateway_env)
    for number in (2 ** 64, 2 ** 63, -(2 ** 63) - 1, 10 ** 30):
        reply = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}"], "userName": "a@b.c", '
                           f'"{CUSTOM}": {{"n": {number}}}}}'.encode())
        assert_scim_error(reply, 400, "invalidValue")
        assert "64-bit" in reply.body["detail"]
    assert snapshot(gateway_env) == before
    for number in (2 ** 63 - 1, -(2 ** 63)):
        created = await scim("POST", "/Users", raw=f'{{"schemas": ["{CORE}", "{CUSTOM}"], '
                             f'"userName": "n{number}@b.c", "{CUSTOM}": {{"n": {number}}}}}'.encode())
        assert created.status == 201, created.body
        fetched = await scim("GET", f"/Users/{created.body['id']}")
        assert fetched.body[CUSTOM]["n"] == number and isinstance(fetched.body[CUSTOM]["n"], int)


# -- what a refusal repeats of the input -------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("operation, kept_out", [
    ({"op": "replace", "path": "Z" * 20_000 + '<b>"\u202e', "value": "x"}, "\u202e"),
    ({"op": "replace", "path": "active", "value": "Z" * 20_000}, "Z" * 100),
    ({"op": "replace", "path": "active", "value": {"x": {}, "password": "PwOnlySecret"}}, "PwOnlySecret"),
])
async def test_a_patch_refusal_repeats_a_bounded_piece_of_the_input(scim: Scim, operation: dict[str, Any],
                                                                    kept_out: str) -> None:
    """A PATCH path or value was repeated whole in the 400's detail (a 20,000-character path twice,
    a right-to-left override as is), and an object as a Python dict, a password key and all (a
    security review): Entra and Okta keep these details in their provisioning logs."""
    user = await create(scim)
    reply = await scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})
    assert reply.status == 400, reply.body
    assert len(reply.body["detail"]) < 400 and kept_out not in reply.body["detail"], reply.body["detail"][:500]
