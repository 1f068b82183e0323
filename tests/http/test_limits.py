"""The work one request may ask for is bounded, and a request past a bound writes nothing
(issue 13 §1, §2; README's limits table).

Reproductions of the review's findings over real HTTP on a real directory file: 12,000 PATCH
operations, one operation adding 8,000 emails, users of 10,000 emails each. Each is now refused
before the work that grows with it, and the directory rows are unchanged afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.scim.errors import OverLimit
from gateway.scim.limits import (MAX_PATCH_OPERATIONS, MAX_PATCH_VALUES, MAX_RESOURCE_BYTES, MAX_VALUES,
                                 OVER_LIMIT_CAP, OVER_LIMIT_GROWTH, Limits)
from tests.http.test_bad_input import assert_scim_error, create, snapshot
from tests.support import GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CUSTOM = "urn:example:params:scim:schemas:extension:custom:2.0:User"


def patch_of(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def emails(count: int, start: int = 0) -> list[dict[str, str]]:
    return [{"value": f"a{i}@x.io", "type": "other"} for i in range(start, start + count)]


@pytest.mark.gen_test(timeout=30)
async def test_twelve_thousand_patch_operations_are_a_413_and_write_nothing(scim: Scim,
                                                                          gateway_env: GatewayEnv) -> None:
    user = await create(scim)
    before = snapshot(gateway_env)
    ops = [{"op": "add", "path": "emails", "value": [{"value": f"a{i}"}]} for i in range(12_000)]
    reply = await scim("PATCH", f"/Users/{user['id']}", patch_of(*ops))
    assert_scim_error(reply, 413, None)
    assert str(MAX_PATCH_OPERATIONS) in reply.body["detail"]
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test(timeout=30)
async def test_the_largest_patch_allowed_is_applied(scim: Scim) -> None:
    user = await create(scim)
    ops = [{"op": "replace", "path": "displayName", "value": f"Name {i}"} for i in range(MAX_PATCH_OPERATIONS)]
    reply = await scim("PATCH", f"/Users/{user['id']}", patch_of(*ops))
    assert reply.status == 200 and reply.body["displayName"] == f"Name {MAX_PATCH_OPERATIONS - 1}"


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("operations", [
    pytest.param([{"op": "add", "path": "emails", "value": emails(8000)}], id="one-op-8000-emails"),
    pytest.param([{"op": "add", "value": {"emails": emails(MAX_VALUES + 1)}}], id="pathless-101-emails"),
    pytest.param([{"op": "add", "path": "emails", "value": emails(1, i)} for i in range(MAX_VALUES + 1)],
                 id="101-ops-of-one-email"),
    pytest.param([{"op": "add", "path": "emails", "value": emails(60, 0)},
                  {"op": "add", "path": "emails", "value": emails(60, 60)}], id="two-ops-of-60"),
    pytest.param([{"op": "add", "path": f"{CUSTOM}:tags", "value": [f"t{i}" for i in range(MAX_VALUES + 1)]}],
                 id="unknown-extension-list"),
    pytest.param([{"op": "replace", "path": "nickName", "value": "n" * MAX_RESOURCE_BYTES}], id="user-too-large"),
])
async def test_a_patch_past_a_value_or_size_limit_is_400_and_writes_nothing(
        scim: Scim, gateway_env: GatewayEnv, operations: list[dict[str, Any]]) -> None:
    user = await create(scim)
    before = snapshot(gateway_env)
    reply = await scim("PATCH", f"/Users/{user['id']}", patch_of(*operations))
    assert_scim_error(reply, 400, "invalidValue")
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test
async def test_a_portal_column_past_the_size_limit_blocks_no_patch_that_does_not_grow_the_user(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The portal stored a department past 16 KiB: Entra's PATCH of ``active`` was refused with
    400, and the leaver stayed enabled (found by a portal-concurrency review). A PATCH that
    grows such a user is still refused."""
    user = await create(scim)
    gateway_env.sql("UPDATE employees SET department = ? WHERE email = ?", ("d" * MAX_RESOURCE_BYTES, user["userName"]))
    disabled = await scim("PATCH", f"/Users/{user['id']}", patch_of({"op": "replace", "path": "active", "value": False}))
    assert disabled.status == 200 and disabled.body["active"] is False
    assert gateway_env.sql("SELECT status FROM employees WHERE email = ?", (user["userName"],))[0][0] == "disabled"
    grown = await scim("PATCH", f"/Users/{user['id']}", patch_of({"op": "replace", "path": "nickName", "value": "n" * 200}))
    assert_scim_error(grown, 400, "invalidValue")


@pytest.mark.gen_test(timeout=30)
async def test_re_adding_the_same_values_many_times_is_fine(scim: Scim) -> None:
    user = await create(scim)
    ops = [{"op": "add", "path": "emails", "value": emails(MAX_VALUES)}
           for _ in range(MAX_PATCH_VALUES // MAX_VALUES)]
    reply = await scim("PATCH", f"/Users/{user['id']}", patch_of(*ops))
    assert reply.status == 200 and len(reply.body["emails"]) == MAX_VALUES


@pytest.mark.gen_test(timeout=30)
async def test_more_values_in_one_patch_than_the_limit_is_a_413(scim: Scim, gateway_env: GatewayEnv) -> None:
    user = await create(scim)
    before = snapshot(gateway_env)
    ops = [{"op": "add", "path": "emails", "value": emails(MAX_VALUES)}
           for _ in range(MAX_PATCH_VALUES // MAX_VALUES + 1)]
    reply = await scim("PATCH", f"/Users/{user['id']}", patch_of(*ops))
    assert_scim_error(reply, 413, None)
    assert str(MAX_PATCH_VALUES) in reply.body["detail"]
    assert snapshot(gateway_env) == before


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_post_or_put_past_a_limit_is_400_and_writes_nothing(scim: Scim, gateway_env: GatewayEnv,
                                                                    method: str) -> None:
    user = await create(scim)
    before = snapshot(gateway_env)
    path = "/Users" if method == "POST" else f"/Users/{user['id']}"
    base = {"schemas": [CORE], "userName": "big@contoso.com"}
    for body in ({**base, "emails": emails(10_000)}, {**base, "emails": emails(MAX_VALUES + 1)},
                 {**base, "nickName": "n" * MAX_RESOURCE_BYTES},
                 {**base, CUSTOM: {"tags": list(range(MAX_VALUES + 1))}},
                 {**base, CUSTOM: {"rows": [list(range(MAX_VALUES + 1))]}},  # arrays in arrays were not counted
                 {**base, CUSTOM: {"teams": [{"members": list(range(MAX_VALUES + 1))}]}}):
        assert_scim_error(await scim(method, path, body), 400, "invalidValue")
    assert snapshot(gateway_env) == before
    at_limit = await scim(method, path, {**base, "emails": emails(MAX_VALUES)})
    assert at_limit.status in (200, 201) and len(at_limit.body["emails"]) == MAX_VALUES


@pytest.mark.gen_test(timeout=30)
async def test_every_write_measures_the_size_without_id_and_meta(scim: Scim) -> None:
    """A PATCH measured the user with its ``id`` and ``meta`` (about 200 bytes), a POST or PUT
    without: a user 150 bytes under the limit was refused a 100-byte PATCH that a PUT of the same
    result stored."""
    base = {"schemas": [CORE], "userName": "sized@contoso.com", "nickName": ""}
    padding = MAX_RESOURCE_BYTES - 150 - len(json.dumps(base, separators=(",", ":")))
    created = await scim("POST", "/Users", {**base, "nickName": "n" * padding})
    assert created.status == 201, created.body
    grown = await scim("PATCH", f"/Users/{created.body['id']}",
                       patch_of({"op": "replace", "path": "title", "value": "t" * 100}))
    assert grown.status == 200 and grown.body["title"] == "t" * 100, grown.body
    again = await scim("PUT", f"/Users/{created.body['id']}", {**base, "nickName": "n" * padding, "title": "u" * 100})
    assert again.status == 200, again.body
    past = await scim("PATCH", f"/Users/{created.body['id']}",
                      patch_of({"op": "replace", "path": "displayName", "value": "d" * 200}))
    assert_scim_error(past, 400, "invalidValue")


def test_the_limits_are_settings(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("[limits]\nmax_patch_operations = 10\nmax_patch_values = 20\nmax_values = 5\n"
                    "max_resource_bytes = 4096\n")
    assert load_config(file, env={}).limits == Limits(max_patch_operations=10, max_patch_values=20, max_values=5,
                                                      max_resource_bytes=4096)
    file.write_text("[limits]\nmax_values = 0\n")
    with pytest.raises(ValueError, match="max_values"):
        load_config(file, env={})


@pytest.mark.gen_test
async def test_a_deeply_nested_value_is_a_400_not_a_500(scim: Scim) -> None:
    user = await create(scim)
    deep: Any = "x"
    for _ in range(600):
        deep = [deep]
    reply = await scim("PATCH", f"/Users/{user['id']}", raw=json.dumps(patch_of(
        {"op": "add", "path": f"{CUSTOM}:deep", "value": deep})).encode())
    assert reply.status == 400, reply.body


def _nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.gen_test
@pytest.mark.parametrize("where", ["search-filter", "patch-operations", "post-emails"])
async def test_a_value_nested_past_the_schema_validators_reach_is_400_invalid_syntax(
        scim: Scim, gateway_env: GatewayEnv, where: str) -> None:
    """300 levels: within what the JSON parser reads, past the 255 that jsonschema-rs converts
    (it raised a ValueError there: a 500, found by fuzzing); nothing is stored."""
    user = await create(scim)
    deep = _nested(300)
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    method, path, body = {
        "search-filter": ("POST", "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                     "filter": deep}),
        "patch-operations": ("PATCH", f"/Users/{user['id']}", {**patch_of(), "Operations": deep}),
        "post-emails": ("POST", "/Users", {"schemas": [core], "userName": "deep@example.com", "emails": deep}),
    }[where]
    before = snapshot(gateway_env)
    reply = await scim(method, path, body)
    assert_scim_error(reply, 400, "invalidSyntax")
    assert "nested too deeply" in reply.body["detail"]
    assert snapshot(gateway_env) == before


def test_a_resource_over_the_size_grows_by_a_little_and_up_to_four_times_at_most() -> None:
    """:meth:`Limits.check_resource` with the stored resource: the rule above, without HTTP."""
    limits = Limits(max_resource_bytes=1000)
    before = {"userName": "a@example.com", "department": "d" * 2000}  # the portal's, past the limit
    limits.check_resource({**before, "active": False}, before=before)
    limits.check_resource({**before, "title": "t" * (OVER_LIMIT_GROWTH - 20)}, before=before)
    with pytest.raises(OverLimit):
        limits.check_resource({**before, "title": "t" * OVER_LIMIT_GROWTH}, before=before)
    with pytest.raises(OverLimit):  # a client's own write is held to the limit
        limits.check_resource({**before, "active": False})
    huge = {"userName": "a@example.com", "department": "d" * (OVER_LIMIT_CAP * 1000)}
    with pytest.raises(OverLimit):
        limits.check_resource({**huge, "active": False}, before=huge)
