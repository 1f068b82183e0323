"""PATCH outcomes over real HTTP on the embedded SQLite directory that a plain reading of RFC 7644
§3.5.2 would get wrong for Entra ID: a leaver's disable sent with a refused rename, and a change of
a value's JSON type alone."""

from __future__ import annotations

import pytest

from tests.support import GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.gen_test
async def test_a_leavers_disable_sent_with_a_refused_rename_still_disables(scim: Scim, gateway_env: GatewayEnv) -> None:
    """Entra ID sends every differing attribute in one PATCH: a leaver's ``active=false`` with a
    rename onto an address a removed employee holds was refused with the rename, every cycle, and
    the leaver stayed active (an Entra review). The 409 stands; the disable is stored."""
    gone = await scim("POST", "/Users", {"schemas": [CORE], "userName": "reuse@contoso.com"})
    leaver = await scim("POST", "/Users", {"schemas": [CORE], "userName": "b@contoso.com", "active": True})
    assert (await scim("DELETE", f"/Users/{gone.body['id']}")).status == 204
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "userName", "value": "reuse@contoso.com"},
        {"op": "Replace", "path": "active", "value": "False"}]}
    for _ in range(2):  # the next cycle sends it again: the same 409, nothing more changes
        refused = await scim("PATCH", f"/Users/{leaver.body['id']}", patch)
        assert refused.status == 409 and refused.body["scimType"] == "uniqueness", refused.body
    now = await scim("GET", f"/Users/{leaver.body['id']}")
    assert now.body["active"] is False and now.body["userName"] == "b@contoso.com"
    assert gateway_env.sql("SELECT status FROM employees WHERE email = 'b@contoso.com'")[0]["status"] == "disabled"
    rename_only = {**patch, "Operations": patch["Operations"][:1]}
    other = await scim("POST", "/Users", {"schemas": [CORE], "userName": "c@contoso.com", "active": True})
    assert (await scim("PATCH", f"/Users/{other.body['id']}", rename_only)).status == 409
    assert (await scim("GET", f"/Users/{other.body['id']}")).body["active"] is True  # a rename alone changes nothing


@pytest.mark.gen_test
async def test_a_patch_that_changes_only_a_values_json_type_is_stored(scim: Scim) -> None:
    """``1 == True`` in Python: replacing an extension's ``1`` with ``true`` answered 200 and wrote
    nothing (a PATCH review)."""
    extension = "urn:example:params:scim:schemas:extension:probe:2.0:User"
    created = await scim("POST", "/Users", {"schemas": [CORE, extension], "userName": "typed@contoso.com",
                                            extension: {"n": 1}})
    assert created.status == 201, created.body
    patched = await scim("PATCH", f"/Users/{created.body['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": f"{extension}:n", "value": True}]})
    assert patched.status == 200 and patched.body[extension]["n"] is True, patched.body
    assert (await scim("GET", f"/Users/{created.body['id']}")).body[extension]["n"] is True
