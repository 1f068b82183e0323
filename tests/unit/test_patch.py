"""Tests of the PATCH engine (gateway/scim/patch/): RFC 7644 §3.5.2 and Entra ID's forms P1–P13.

Request bodies marked "verbatim" are copied from Microsoft's published examples; the labels name
their sources:

- §3.1 (S1): the examples of Microsoft Learn's "Tutorial: Develop and plan provisioning for a SCIM
  endpoint in Microsoft Entra ID", sections "SCIM protocol requests and responses" and "Handling
  provisioning and deprovisioning of users" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
- §3.2 (S2): "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
  user provisioning service", without and with the ``aadOptscim062020`` flag
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility);
- §3.4: payloads observed by other SCIM servers, each test naming the issue;
- P1–P13: the PATCH and filter forms Entra sends: P1 ``op`` in any case, P2 ``"True"``/``"False"``
  for booleans, P3 value paths (``emails[type eq "work"].value``), P4 path-less values with dotted and
  URN keys, P5 extension URN paths, P6 the manager's shapes, P7 ``add`` to an attribute that has a
  value, P8 ``remove`` with a list of values, P9 unknown attributes, P10 ``null`` values in a POST,
  P11 ``eq``/``and`` filters, P12 ``excludedAttributes`` and unknown query parameters, P13 ``schemas``
  taken leniently (the enterprise URN listed without its block, client-sent ``meta``, the
  ``...:enterprise:2.0User`` typo).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from adapters.schema import resource_types
from gateway.scim.errors import ProtocolError
from gateway.scim.patch import apply_patch

USER = resource_types()["User"]
GROUP = resource_types()["Group"]
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def user(**extra: Any) -> dict[str, Any]:
    """The §3.1 'Get User' resource (a canonical stored user)."""
    base: dict[str, Any] = {
        "schemas": [CORE],
        "id": "5d48a0a8e9f04aa38008",
        "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd",
        "meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z",
                 "lastModified": "2018-03-27T19:59:26.000Z"},
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": True,
        "emails": [{"value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
                    "type": "work", "primary": True}],
    }
    base.update(extra)
    return base


def group(*member_ids: str) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "927fa2c08dcb4a7fae9e",
            "displayName": "displayName", "members": [{"value": m} for m in member_ids]}


def body(text: str) -> list[dict[str, Any]]:
    """The ``Operations`` of a PatchOp request body given as JSON text."""
    operations: list[dict[str, Any]] = json.loads(text)["Operations"]
    return operations


def patch(resource: dict[str, Any], *operations: dict[str, Any], rtype: Any = USER) -> dict[str, Any]:
    return apply_patch(resource, list(operations), rtype)


def fails(scim_type: str, resource: dict[str, Any], *operations: Any, rtype: Any = USER) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        apply_patch(resource, list(operations), rtype)
    assert info.value.scim_type == scim_type, info.value.detail
    return info.value


# --- §3.1 request bodies (verbatim) ---------------------------------------------------------------


def test_s1_update_user_multi_valued_properties() -> None:
    ops = body("""{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}""")
    out = apply_patch(user(), ops, USER)
    assert out["emails"] == [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}]
    assert out["name"] == {"formatted": "givenName familyName", "familyName": "updatedFamilyName",
                           "givenName": "givenName"}
    assert out["userName"] == user()["userName"] and out["active"] is True


def test_s1_update_user_single_valued_property() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "userName",
                    "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}""")
    assert apply_patch(user(), ops, USER)["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"


def test_s1_disable_user() -> None:
    ops = body("""{"Operations": [{"op": "Replace", "path": "active", "value": false}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}""")
    assert apply_patch(user(), ops, USER)["active"] is False


def test_s1_update_manager_example_5() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op":"Add","path":"manager","value":[{
        "$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}""")
    out = apply_patch(user(), ops, USER)
    assert out[ENT] == {"manager": {"value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                                    "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}}
    assert out["schemas"] == [CORE, ENT]


def test_s1_group_update_display_name() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "displayName",
                    "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}""")
    out = apply_patch(group(), ops, GROUP)
    assert out["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_s1_group_add_members_with_null_ref() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Add", "path": "members",
                    "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]}""")
    out = apply_patch(group("a1"), ops, GROUP)
    assert out["members"] == [{"value": "a1"}, {"value": "f648f8d5ea4e4cd38e9c"}]
    assert apply_patch(out, ops, GROUP)["members"] == out["members"]  # adding again adds no duplicate


def test_s1_group_remove_members_with_value_array() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Remove", "path": "members",
                    "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]}""")
    out = apply_patch(group("a1", "f648f8d5ea4e4cd38e9c", "b2"), ops, GROUP)
    assert out["members"] == [{"value": "a1"}, {"value": "b2"}]


# --- §3.2 with and without aadOptscim062020 (verbatim) ------------------------------------------


def test_s2_disable_without_flag_string_boolean() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}""")
    assert apply_patch(user(), ops, USER)["active"] is False


def test_s2_disable_with_flag() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": false}]}""")
    assert apply_patch(user(), ops, USER)["active"] is False


@pytest.mark.parametrize("op", ["Add", "add"])
def test_s2_add_single_value_string_attribute(op: str) -> None:
    ops = body('{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
               f'"Operations": [{{"op": "{op}", "path": "nickName", "value": "Babs"}}]}}')
    assert apply_patch(user(), ops, USER)["nickName"] == "Babs"


def test_s2_replace_multiple_attributes_without_flag() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "emails[type eq \\"work\\"].value", "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
         "value": "Eqpj"}]}""")
    out = apply_patch(user(), ops, USER)
    assert out["displayName"] == "Pvlo"
    assert out["emails"] == [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": True}]
    assert out["name"]["givenName"] == "Gtfd" and out["name"]["familyName"] == "Pkqf"
    assert out["externalId"] == "Eqpj"
    assert out[ENT] == {"employeeNumber": "Eqpj"}
    assert out["schemas"] == [CORE, ENT]


def test_s2_replace_multiple_attributes_with_flag_pathless() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "replace", "path": "emails[type eq \\"work\\"].value", "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}}]}""")
    out = apply_patch(user(), ops, USER)
    assert out["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"
    assert out["displayName"] == "Bjfe"
    assert out["name"] == {"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}
    assert out[ENT] == {"employeeNumber": "Aklq"}
    assert "name.givenName" not in out
    assert out == {**user(), "emails": out["emails"], "displayName": "Bjfe", "name": out["name"], ENT: out[ENT],
                   "schemas": [CORE, ENT]}  # nothing else was written


def test_s2_remove_member_without_flag() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}]}""")
    out = apply_patch(group("u1090", "u1091", "u1092"), ops, GROUP)
    assert out["members"] == [{"value": "u1090"}, {"value": "u1092"}]


def test_s2_remove_member_with_flag() -> None:
    ops = body("""{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "remove", "path": "members[value eq \\"7f4bc1a3-285e-48ae-8202-5accb43efb0e\\"]"}]}""")
    out = apply_patch(group("u1", "7f4bc1a3-285e-48ae-8202-5accb43efb0e"), ops, GROUP)
    assert out["members"] == [{"value": "u1"}]


def test_remove_last_member_leaves_group_without_members() -> None:
    out = patch(group("u1"), {"op": "remove", "path": 'members[value eq "u1"]'}, rtype=GROUP)
    assert "members" not in out


# --- §3.4 observed payloads ---------------------------------------------------------------------


def test_scim_sdk_541_manager_as_bare_string() -> None:
    ops = body("""{"Operations": [{"op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "271"}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}""")
    out = apply_patch(user(), ops, USER)
    assert out[ENT] == {"manager": {"value": "271"}}


def test_scim_sdk_680_several_ops_build_one_typed_address() -> None:
    # verbatim, minus the trailing comma of the post
    ops = body("""{"Operations": [
    {"op": "add", "path": "addresses[type eq \\"work\\"].formatted", "value": "USZLTUSJXBYV"},
    {"op": "add", "path": "addresses[type eq \\"work\\"].locality", "value": "OSGODHEVDCVD"},
    {"op": "add", "path": "addresses[type eq \\"work\\"].region", "value": "YMVMOEMXAYGD"}
    ], "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}""")
    home = {"type": "home", "locality": "Springfield"}
    out = apply_patch(user(addresses=[home]), ops, USER)
    assert out["addresses"] == [home, {"type": "work", "formatted": "USZLTUSJXBYV",
                                       "locality": "OSGODHEVDCVD", "region": "YMVMOEMXAYGD"}]


def test_scimitar_123_pathless_add_with_dotted_keys() -> None:
    ops = body('{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add",'
               '"value":{"displayName":"Foo Bar","title":"Bar Foo","name.givenName":"Foo",'
               '"name.familyName":"Bar","name.formatted":"Foo Bar"}}]}')
    out = apply_patch(user(), ops, USER)
    assert out["displayName"] == "Foo Bar" and out["title"] == "Bar Foo"
    assert out["name"] == {"givenName": "Foo", "familyName": "Bar", "formatted": "Foo Bar"}
    assert not any("." in key for key in out)


# --- P1–P13 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["Add", "Replace", "add", "replace", "REPLACE", "rEpLaCe"])
def test_p1_op_is_case_insensitive(op: str) -> None:
    assert patch(user(), {"op": op, "path": "title", "value": "Boss"})["title"] == "Boss"


@pytest.mark.parametrize("op", ["Remove", "remove", "REMOVE"])
def test_p1_remove_is_case_insensitive(op: str) -> None:
    assert "title" not in patch(user(title="Boss"), {"op": op, "path": "title"})


@pytest.mark.parametrize(("given", "stored"), [("True", True), ("true", True), ("TRUE", True),
                                               ("False", False), ("false", False), ("fAlSe", False),
                                               (True, True), (False, False)])
def test_p2_boolean_strings_are_coerced(given: Any, stored: bool) -> None:
    start = user(active=not stored)
    assert patch(start, {"op": "Replace", "path": "active", "value": given})["active"] is stored


def test_p2_other_strings_for_booleans_are_rejected() -> None:
    error = fails("invalidValue", user(), {"op": "Replace", "path": "active", "value": "maybe"})
    assert "active" in error.detail and "true or false" in error.detail


def test_p2_boolean_sub_attribute_is_coerced() -> None:
    out = patch(user(), {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "False"})
    assert out["emails"][0]["primary"] is False


def test_p3_typed_entry_is_created_when_missing() -> None:
    out = patch(user(), {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"})
    assert out["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]


def test_p3_replace_keeps_the_other_entries() -> None:
    phones = [{"type": "work", "value": "+1 111"}, {"type": "mobile", "value": "+1 222"}]
    out = patch(user(phoneNumbers=phones),
                {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 333"})
    assert out["phoneNumbers"] == [{"type": "work", "value": "+1 111"}, {"type": "mobile", "value": "+1 333"}]


def test_p3_add_on_typed_path_when_user_has_no_emails() -> None:
    start = user()
    del start["emails"]
    out = patch(start, {"op": "add", "path": 'emails[type eq "work"].value', "value": "a@example.com"})
    assert out["emails"] == [{"type": "work", "value": "a@example.com"}]


def test_p3_filter_comparison_is_case_insensitive_for_type() -> None:
    out = patch(user(), {"op": "replace", "path": 'emails[type eq "WORK"].value', "value": "x@example.com"})
    assert [e["value"] for e in out["emails"]] == ["x@example.com"]


def test_p3_filter_with_and_of_eq_seeds_all_values() -> None:
    out = patch(user(addresses=[]), {"op": "add", "path": 'addresses[type eq "work" and primary eq true].country',
                                     "value": "ML"})
    assert out["addresses"] == [{"type": "work", "primary": True, "country": "ML"}]


def test_p3_filter_that_cannot_seed_an_entry_is_no_target() -> None:
    fails("noTarget", user(), {"op": "replace", "path": 'emails[value co "nomatch"].type', "value": "home"})


def test_p4_pathless_with_urn_key_extension_object_and_active() -> None:
    out = patch(user(), {"op": "replace", "value": {
        "active": "False",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
        ENT: {"costCenter": "4130", "manager": "m-1"},
        "emails[type eq \"work\"].value": "new@example.com",
    }})
    assert out["active"] is False
    assert out[ENT] == {"department": "Sales", "costCenter": "4130", "manager": {"value": "m-1"}}
    assert out["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]
    assert ENT in out["schemas"]


def test_p4_pathless_complex_value_merges() -> None:
    out = patch(user(), {"op": "add", "value": {"name": {"givenName": "Babs"}}})
    assert out["name"] == {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "Babs"}


def test_p4_pathless_keys_are_canonicalised() -> None:
    out = patch(user(), {"op": "Replace", "value": {"DisplayName": "X", "NAME.GIVENNAME": "Y", "Active": "false"}})
    assert out["displayName"] == "X" and out["name"]["givenName"] == "Y" and out["active"] is False


def test_p5_urn_path_maps_to_the_extension() -> None:
    out = patch(user(), {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                         "value": "Tour Operations"})
    assert out[ENT] == {"department": "Tour Operations"} and "department" not in out


def test_p5_extension_attribute_without_urn_and_in_other_case() -> None:
    out = patch(user(), {"op": "Replace", "path": "Department", "value": "Ops"},
                {"op": "Replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:employeeNumber",
                 "value": "7"})
    assert out[ENT] == {"department": "Ops", "employeeNumber": "7"}


@pytest.mark.parametrize("value", [
    "m-1",
    {"value": "m-1"},
    [{"value": "m-1"}],
    [{"$ref": None, "value": "m-1"}],
])
@pytest.mark.parametrize("path", ["manager", f"{ENT}:manager"])
def test_p6_manager_forms(path: str, value: Any) -> None:
    out = patch(user(), {"op": "Add", "path": path, "value": value})
    assert out[ENT] == {"manager": {"value": "m-1"}}


def test_p6_manager_keeps_ref_and_ignores_the_read_only_display_name() -> None:
    """displayName is readOnly (RFC 7643 §4.3): ignored, as a POST ignores it."""
    out = patch(user(), {"op": "replace", "path": "manager",
                         "value": [{"$ref": "../Users/m-1", "value": "m-1", "displayName": "John Smith"}]})
    assert out[ENT]["manager"] == {"$ref": "../Users/m-1", "value": "m-1"}


def test_p6_new_manager_replaces_stale_ref_and_display_name() -> None:
    start = user(**{ENT: {"manager": {"value": "m-1", "$ref": "../Users/m-1", "displayName": "Old"}}})
    out = patch(start, {"op": "Replace", "path": "manager", "value": "m-2"})
    assert out[ENT]["manager"] == {"value": "m-2"}


def test_scim_update_manager_add_replace_then_replace_empty() -> None:
    """Microsoft's SCIM_Update_Manager: set = Add, change = Replace, remove = Replace with empty."""
    path = f"{ENT}:manager"
    one = patch(user(), {"op": "Add", "path": path, "value": "m-1"})
    two = patch(one, {"op": "Replace", "path": path, "value": "m-2"})
    assert two[ENT]["manager"] == {"value": "m-2"}
    for empty in ("", None, [], {"value": ""}, [{"value": ""}], {"value": None}):
        three = patch(two, {"op": "Replace", "path": path, "value": empty})
        assert ENT not in three and ENT not in three["schemas"], empty


def test_remove_manager_keeps_other_enterprise_attributes() -> None:
    start = user(schemas=[CORE, ENT], **{ENT: {"department": "Ops", "manager": {"value": "m-1"}}})
    out = patch(start, {"op": "Remove", "path": "manager"})
    assert out[ENT] == {"department": "Ops"} and out["schemas"] == [CORE, ENT]


def test_p7_add_on_single_valued_attribute_replaces() -> None:
    out = patch(user(title="Old"), {"op": "Add", "path": "title", "value": "New"})
    assert out["title"] == "New"


def test_p8_remove_with_value_array_removes_only_listed_values() -> None:
    emails = [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}, {"value": "c@x", "type": "other"}]
    out = patch(user(emails=emails), {"op": "Remove", "path": "emails", "value": [{"value": "b@x"}]})
    assert out["emails"] == [emails[0], emails[2]]


def test_p8_remove_with_value_that_matches_nothing_removes_nothing() -> None:
    out = patch(group("u1", "u2"), {"op": "Remove", "path": "members", "value": [{"value": "zz"}]}, rtype=GROUP)
    assert out["members"] == [{"value": "u1"}, {"value": "u2"}]


def test_p9_unknown_attribute_is_ignored_and_does_not_block_disable() -> None:
    out = apply_patch(user(), [
        {"op": "Replace", "path": "favoriteColor", "value": "blue"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "roles", "value": []},
        {"op": "Replace", "path": "name.nickname", "value": "Babs"},
        {"op": "Add", "path": f"{ENT}:shoeSize", "value": "44"},
    ], USER)
    assert out["active"] is False
    assert "favoriteColor" not in out and "roles" not in out
    assert ENT not in out
    assert out == {**user(), "active": False}  # the unknown paths were skipped, nothing else changed


def test_p9_pathless_unknown_keys_are_skipped() -> None:
    out = apply_patch(user(), [{"op": "add", "value": {"favoriteColor": "blue", "title": "T",
                                                       "name": {"nickname": "B", "givenName": "G"}}}], USER)
    assert out["title"] == "T" and out["name"]["givenName"] == "G"
    assert "nickname" not in out["name"]
    assert out == {**user(), "title": "T", "name": {**user()["name"], "givenName": "G"}}


def test_p9_custom_extension_attributes_are_stored_under_their_urn() -> None:
    out = patch(user(), {"op": "Add", "path": f"{CUSTOM}:CustomAttribute", "value": "701984"},
                {"op": "Replace", "value": {f"{CUSTOM}:Other": "x"}})
    assert out[CUSTOM] == {"CustomAttribute": "701984", "Other": "x"}
    out = patch(out, {"op": "Remove", "path": f"{CUSTOM}:customattribute"})
    assert out[CUSTOM] == {"Other": "x"}
    out = patch(out, {"op": "Replace", "path": f"{CUSTOM}:Other", "value": ""})
    assert CUSTOM not in out


def test_p9_custom_extension_block_in_pathless_value() -> None:
    out = patch(user(), {"op": "add", "value": {CUSTOM: {"CustomAttribute": "701984"}}})
    assert out[CUSTOM] == {"CustomAttribute": "701984"}


def test_p13_enterprise_urn_listed_without_block_is_dropped() -> None:
    out = patch(user(schemas=[CORE, ENT]), {"op": "replace", "path": "title", "value": "T"})
    assert out["schemas"] == [CORE]


def test_p13_emptied_extension_block_is_dropped_with_its_urn() -> None:
    start = user(schemas=[CORE, ENT], **{ENT: {"department": "Ops"}})
    out = patch(start, {"op": "remove", "path": f"{ENT}:department"})
    assert ENT not in out and out["schemas"] == [CORE]


def test_extension_block_as_path() -> None:
    out = patch(user(), {"op": "add", "path": ENT, "value": {"department": "Ops", "division": "Theme Park"}})
    assert out[ENT] == {"department": "Ops", "division": "Theme Park"}
    assert ENT not in patch(out, {"op": "remove", "path": ENT})


# --- null updates (Microsoft SCIM_Null_Update) ------------------------------------------------------


@pytest.mark.parametrize("empty", ["", None])
def test_null_update_clears_simple_attribute(empty: Any) -> None:
    assert "displayName" not in patch(user(displayName="D"), {"op": "Replace", "path": "displayName", "value": empty})


def test_null_update_sequence_empty_string_then_null() -> None:
    one = patch(user(title="T"), {"op": "Replace", "path": "title", "value": ""})
    two = patch(one, {"op": "Replace", "path": "title", "value": None})
    assert "title" not in one and "title" not in two


def test_null_update_clears_sub_attribute_and_empty_complex() -> None:
    out = patch(user(name={"givenName": "G"}), {"op": "Replace", "path": "name.givenName", "value": ""})
    assert "name" not in out


def test_null_update_of_typed_email_value_drops_the_entry() -> None:
    emails = [{"value": "w@x", "type": "work", "primary": True}, {"value": "h@x", "type": "home"}]
    out = patch(user(emails=emails), {"op": "Replace", "path": 'emails[type eq "work"].value', "value": ""})
    assert out["emails"] == [{"value": "h@x", "type": "home"}]


def test_null_update_of_enterprise_attribute() -> None:
    out = patch(user(**{ENT: {"department": "Ops"}}), {"op": "Replace", "path": "department", "value": ""})
    assert ENT not in out


# --- RFC 7644 §3.5.2 examples ---------------------------------------------------------------------


def test_rfc_3_5_2_1_add_member() -> None:
    out = patch(group("u0"), {"op": "add", "path": "members", "value": [{
        "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
        "value": "2819c223-7f76-453a-919d-413861904646"}]}, rtype=GROUP)
    assert out["members"][1]["value"] == "2819c223-7f76-453a-919d-413861904646"
    assert out["members"][1]["display"] == "Babs Jensen"


def test_rfc_3_5_2_1_pathless_add_appends_emails_and_sets_nickname() -> None:
    out = patch(user(), {"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}],
                                                "nickName": "Babs"}})
    assert out["emails"] == user()["emails"] + [{"value": "babs@jensen.org", "type": "home"}]
    assert out["nickName"] == "Babs"


def test_rfc_3_5_2_1_add_existing_value_changes_nothing() -> None:
    start = user()
    out = patch(start, {"op": "add", "path": "emails", "value": [copy.deepcopy(start["emails"][0])]})
    assert out["emails"] == start["emails"]


def test_rfc_3_5_2_2_remove_all_members() -> None:
    assert "members" not in patch(group("u1", "u2"), {"op": "remove", "path": "members"}, rtype=GROUP)


def test_rfc_3_5_2_2_remove_with_complex_filter() -> None:
    emails = [{"value": "a@example.com", "type": "work"}, {"value": "b@other.org", "type": "work"},
              {"value": "c@example.com", "type": "home"}]
    out = patch(user(emails=emails),
                {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'})
    assert out["emails"] == emails[1:]


def test_rfc_3_5_2_2_remove_then_add_members() -> None:
    out = patch(group("u1", "u2"), {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]}, rtype=GROUP)
    assert out["members"] == [{"value": "u3"}, {"value": "u4"}]


def test_remove_with_filter_that_matches_nothing_is_a_noop() -> None:
    out = patch(user(), {"op": "remove", "path": 'emails[type eq "home"]'},
                {"op": "remove", "path": 'phoneNumbers[type eq "fax"].value'})
    assert out == user()


def test_remove_sub_attribute_of_matching_elements_only() -> None:
    addresses = [{"type": "work", "locality": "A", "region": "R"}, {"type": "home", "locality": "B"}]
    out = patch(user(addresses=addresses), {"op": "remove", "path": 'addresses[type eq "work"].locality'})
    assert out["addresses"] == [{"type": "work", "region": "R"}, {"type": "home", "locality": "B"}]


def test_rfc_3_5_2_3_replace_all_members() -> None:
    out = patch(group("u1", "u2"), {"op": "replace", "path": "members", "value": [
        {"display": "Babs Jensen", "value": "2819c223"}, {"display": "James Smith", "value": "08e1d05d"}]},
        rtype=GROUP)
    assert out["members"] == [{"display": "Babs Jensen", "value": "2819c223"},
                              {"display": "James Smith", "value": "08e1d05d"}]


def test_rfc_3_5_2_3_replace_work_address_object() -> None:
    home = {"type": "home", "locality": "Springfield"}
    start = user(addresses=[{"type": "work", "streetAddress": "old", "country": "US"}, home])
    new = {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA",
           "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
           "primary": True}
    out = patch(start, {"op": "replace", "path": 'addresses[type eq "work"]', "value": new})
    assert out["addresses"] == [new, home]


def test_rfc_3_5_2_3_replace_street_address_of_work_address() -> None:
    start = user(addresses=[{"type": "work", "streetAddress": "old", "country": "US"}])
    out = patch(start, {"op": "replace", "path": 'addresses[type eq "work"].streetAddress',
                        "value": "1010 Broadway Ave"})
    assert out["addresses"] == [{"type": "work", "streetAddress": "1010 Broadway Ave", "country": "US"}]


def test_rfc_3_5_2_3_pathless_replace_replaces_whole_list() -> None:
    emails = [{"value": "bjensen@example.com", "type": "work", "primary": True},
              {"value": "babs@jensen.org", "type": "home"}]
    out = patch(user(), {"op": "replace", "value": {"emails": emails, "nickName": "Babs"}})
    assert out["emails"] == emails and out["nickName"] == "Babs"


def test_rfc_3_5_2_3_replace_complex_keeps_unspecified_sub_attributes() -> None:
    out = patch(user(), {"op": "replace", "path": "name", "value": {"familyName": "Jensen"}})
    assert out["name"] == {"formatted": "givenName familyName", "familyName": "Jensen", "givenName": "givenName"}


def test_primary_true_moves_to_the_new_value() -> None:
    out = patch(user(), {"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "home", "primary": True}]})
    assert [e["primary"] for e in out["emails"]] == [False, True]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["update", "", None, 1, "copy"])
def test_unknown_op_is_invalid_syntax(op: Any) -> None:
    error = fails("invalidSyntax", user(), {"op": op, "path": "title", "value": "x"})
    assert "Operations[0]" in error.detail


def test_operation_that_is_not_an_object_is_invalid_syntax() -> None:
    fails("invalidSyntax", user(), "replace")


def test_operations_not_a_list_is_invalid_syntax() -> None:
    with pytest.raises(ProtocolError) as info:
        apply_patch(user(), "add", USER)  # type: ignore[arg-type]
    assert info.value.scim_type == "invalidSyntax"


def test_remove_without_path_is_no_target() -> None:
    fails("noTarget", user(), {"op": "remove"})
    fails("noTarget", user(), {"op": "Remove", "path": "  ", "value": [{"value": "x"}]})


def test_add_without_value_is_invalid_syntax() -> None:
    fails("invalidSyntax", user(), {"op": "add", "path": "title"})


@pytest.mark.parametrize("path", ['emails[type eq "work"', "emails[type eq]", "name..givenName", "9lives",
                                  'emails[type eq "work"]value'])
def test_bad_path_syntax_is_invalid_path(path: str) -> None:
    error = fails("invalidPath", user(), {"op": "replace", "path": path, "value": "x"})
    assert path in error.detail


def test_value_filter_on_single_valued_attribute_is_invalid_path() -> None:
    fails("invalidPath", user(), {"op": "replace", "path": 'name[givenName eq "x"].familyName', "value": "y"})


@pytest.mark.parametrize("value", ["text", ["a"], 5, None])
def test_pathless_value_of_wrong_shape_is_invalid_value(value: Any) -> None:
    error = fails("invalidValue", user(), {"op": "replace", "value": value})
    assert "object" in error.detail


def test_complex_attribute_given_a_string_is_invalid_value() -> None:
    fails("invalidValue", user(), {"op": "replace", "path": "name", "value": "Babs"})


def test_manager_with_two_values_is_invalid_value() -> None:
    fails("invalidValue", user(), {"op": "add", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]})


def test_string_attribute_given_an_object_is_invalid_value() -> None:
    fails("invalidValue", user(), {"op": "replace", "path": "title", "value": {"x": 1}})


@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": "userName"},
    {"op": "replace", "path": "userName", "value": ""},
    {"op": "Replace", "path": "userName", "value": None},
    {"op": "replace", "value": {"userName": ""}},
])
def test_unassigning_user_name_is_mutability(operation: dict[str, Any]) -> None:
    fails("mutability", user(), operation)


@pytest.mark.parametrize("path", ["id", "meta", "meta.lastModified", "groups", "manager.displayName"])
def test_read_only_path_is_mutability(path: str) -> None:
    fails("mutability", user(), {"op": "replace", "path": path, "value": "x"})


def test_read_only_keys_in_pathless_value_are_ignored() -> None:
    out = apply_patch(user(), [{"op": "replace", "value": {
        "id": "other", "meta": {"resourceType": "User"}, "schemas": [CORE], "title": "T"}}], USER)
    assert out["id"] == user()["id"] and out["meta"] == user()["meta"]
    assert out["title"] == "T"
    assert out == {**user(), "title": "T"}


def test_immutable_sub_attribute_cannot_change() -> None:
    fails("mutability", group("u1"), {"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"},
          rtype=GROUP)


def test_immutable_sub_attribute_can_get_a_first_value() -> None:
    out = patch(group("u1"), {"op": "add", "path": 'members[value eq "u1"].display', "value": "U One"},
                rtype=GROUP)
    assert out["members"] == [{"value": "u1", "display": "U One"}]


def test_error_detail_names_the_failing_operation() -> None:
    error = fails("invalidValue", user(), {"op": "replace", "path": "title", "value": "x"},
                  {"op": "Replace", "path": "active", "value": "maybe"})
    assert error.detail.startswith("Operations[1] (replace active)")


def test_a_failing_operation_discards_the_whole_patch() -> None:
    start = user()
    fails("mutability", start, {"op": "replace", "path": "title", "value": "x"}, {"op": "remove", "path": "userName"})
    assert "title" not in start


# --- purity -------------------------------------------------------------------------------------


def test_input_resource_and_operations_are_not_mutated() -> None:
    start = user(schemas=[CORE, ENT], addresses=[{"type": "home", "locality": "B"}],
                 **{ENT: {"manager": {"value": "m-1"}, "department": "Ops"}})
    operations: list[dict[str, Any]] = [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x"},
        {"op": "add", "path": 'addresses[type eq "home"].region', "value": "R"},
        {"op": "remove", "path": "manager"},
        {"op": "replace", "value": {"name.givenName": "G", ENT: {"department": "Sales"}}},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]},
    ]
    before, ops_before = copy.deepcopy(start), copy.deepcopy(operations)
    out = apply_patch(start, operations, USER)
    assert start == before and operations == ops_before
    assert out is not start and out["emails"] is not start["emails"]
    out["phoneNumbers"][0]["value"] = "changed"
    assert operations == ops_before


# --- more edges -----------------------------------------------------------------------------------


def test_operation_member_names_are_case_insensitive() -> None:
    assert patch(user(), {"Op": "Replace", "Path": "title", "Value": "T"})["title"] == "T"


def test_unknown_sub_attribute_in_value_filter_is_ignored() -> None:
    out = apply_patch(user(), [{"op": "replace", "path": 'emails[kind eq "work"].value', "value": "x"},
                               {"op": "replace", "path": "active", "value": False}], USER)
    assert out["emails"] == user()["emails"] and out["active"] is False
    assert out == {**user(), "active": False}


def test_remove_typed_value_drops_the_entry() -> None:
    phones = [{"type": "work", "value": "1"}, {"type": "mobile", "value": "2"}]
    out = patch(user(phoneNumbers=phones), {"op": "remove", "path": 'phoneNumbers[type eq "work"].value'})
    assert out["phoneNumbers"] == [{"type": "mobile", "value": "2"}]


def test_add_same_value_and_type_merges_instead_of_duplicating() -> None:
    out = patch(user(), {"op": "add", "path": "emails", "value": {
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", "type": "work", "display": "W"}})
    assert len(out["emails"]) == 1 and out["emails"][0]["display"] == "W" and out["emails"][0]["primary"] is True


def test_replace_filtered_element_given_as_one_element_array() -> None:
    out = patch(user(), {"op": "replace", "path": 'emails[type eq "work"]', "value": [{"value": "a@b"}]})
    assert out["emails"] == [{"value": "a@b", "type": "work", "primary": True}]


def test_custom_extension_block_as_path() -> None:
    out = patch(user(), {"op": "add", "path": CUSTOM, "value": {"CustomAttribute": "1"}})
    assert out[CUSTOM] == {"CustomAttribute": "1"}
    assert CUSTOM not in patch(out, {"op": "remove", "path": CUSTOM})


def test_a_number_for_a_string_attribute_is_invalid_value() -> None:
    with pytest.raises(ProtocolError, match="employeeNumber must be a string, not a number") as caught:
        patch(user(), {"op": "replace", "path": f"{ENT}:employeeNumber", "value": 701984})
    assert caught.value.scim_type == "invalidValue"
    assert patch(user(), {"op": "replace", "path": f"{ENT}:employeeNumber", "value": "701984"})[ENT] == {
        "employeeNumber": "701984"}


def test_p2_quoted_boolean_in_a_value_path_matches_the_boolean() -> None:
    """Entra's app-role and SCIM Validator PATCHes target ``[primary eq "True"]``:
    the element whose ``primary`` is true is replaced in place, not a new one appended."""
    out = patch(user(), {"op": "replace", "path": 'emails[primary eq "True"].value', "value": "new@example.com"})
    assert out["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]
    roles = [{"value": "Admin", "display": "Admin", "type": "WindowsAzureActiveDirectoryRole", "primary": True}]
    out = patch(user(roles=roles), *[{"op": "Replace", "path": f'roles[primary eq "True"].{sub}', "value": value}
                                      for sub, value in (("value", "Host"), ("display", "Host"), ("type", "app"))])
    assert out["roles"] == [{"value": "Host", "display": "Host", "type": "app", "primary": True}]


def test_entra_app_role_assignment_adds_are_plain_roles_keyed_on_their_value() -> None:
    """Entra ID's AppRoleAssignmentsComplex PATCH: an ``Add`` of roles as JSON text (``id``,
    ``value``, ``displayName``). A role the user has changes nothing (RFC 7644 §3.5.2.1); a new
    one is added as a plain role, found by ``roles[value eq ...]``."""
    roles = [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}]
    assignments = [{"value": json.dumps({"id": f"id-{name}", "value": name, "displayName": name})}
                   for name in ("Admin", "User")]
    out = patch(user(roles=roles), {"op": "Add", "path": "roles", "value": assignments})
    assert out["roles"] == [*roles, {"value": "User", "display": "User"}]
    assert patch(out, {"op": "Add", "path": "roles", "value": assignments}) == out  # Entra sends it again
    out = patch(out, {"op": "remove", "path": 'roles[value eq "User"]'})
    assert out["roles"] == roles



def test_a_read_only_sub_attribute_inside_a_value_is_ignored_as_in_a_post() -> None:
    """RFC 7643 §2.2 readOnly: manager.displayName is the service provider's; through a path it
    is refused (mutability), inside a manager value it was stored (a PATCH review)."""
    manager = {"value": "26118915", "$ref": "../Users/26118915"}
    start = user(**{ENT: {"manager": manager}})
    for operation in ({"op": "replace", "path": f"{ENT}:manager", "value": {"value": "26118915",
                                                                            "displayName": "Mallory"}},
                      {"op": "replace", "path": ENT, "value": {"manager": {"value": "26118915",
                                                                           "displayName": "Mallory"}}},
                      {"op": "replace", "value": {ENT: {"manager": {"value": "26118915", "displayName": "Mallory"}}}}):
        assert "displayName" not in patch(start, operation)[ENT]["manager"], operation
    fails("mutability", start, {"op": "replace", "path": f"{ENT}:manager.displayName", "value": "Mallory"})


def test_another_manager_value_drops_the_old_managers_reference() -> None:
    """Through manager.value as through manager: the new id does not keep the old $ref."""
    start = user(**{ENT: {"manager": {"value": "26118915", "$ref": "../Users/26118915"}}})
    by_sub = patch(start, {"op": "replace", "path": f"{ENT}:manager.value", "value": "m-new"})
    by_attr = patch(start, {"op": "replace", "path": f"{ENT}:manager", "value": {"value": "m-new"}})
    assert by_sub[ENT]["manager"] == by_attr[ENT]["manager"] == {"value": "m-new"}
    same = patch(start, {"op": "replace", "path": f"{ENT}:manager.value", "value": "26118915"})
    assert same[ENT]["manager"] == {"value": "26118915", "$ref": "../Users/26118915"}  # the same manager: kept


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "emails", "value": {"a": 1}},
    {"op": "replace", "path": "emails", "value": {}},
    {"op": "add", "path": "emails", "value": [{"a": 1}]},
    {"op": "replace", "path": "phoneNumbers", "value": {"a": 1}},
    {"op": "replace", "path": "name", "value": []},
    {"op": "add", "path": "name", "value": [{"givenName": "x"}]},
    {"op": "replace", "path": "active", "value": ""},
])
def test_a_value_a_post_refuses_is_refused_not_taken_for_unassign(operation: dict[str, Any]) -> None:
    """Such values unassigned what they were written to (a user's emails gone; an add that
    removed the name): a fuzzing review. A POST refuses them: so does a PATCH."""
    fails("invalidValue", user(), operation)


def test_entra_forms_that_unassign_still_do() -> None:
    start = user(**{ENT: {"manager": {"value": "m-1"}}})
    assert "manager" not in patch(start, {"op": "replace", "path": f"{ENT}:manager", "value": []}).get(ENT, {})
    assert "emails" not in patch(user(), {"op": "replace", "path": "emails", "value": [{"value": ""}]})
    assert patch(user(), {"op": "replace", "path": "title", "value": ""}) == user()
