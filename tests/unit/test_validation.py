"""Request canonicalisation and validation (gateway/scim/validation/).

The Entra ID bodies are Microsoft's published examples; the labels name their sources:

- §3.1 (S1): the examples of Microsoft Learn's "Tutorial: Develop and plan provisioning for a SCIM
  endpoint in Microsoft Entra ID", sections "SCIM protocol requests and responses" and "Handling
  provisioning and deprovisioning of users" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
- §3.2 (S2): "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
  user provisioning service", without and with the ``aadOptscim062020`` flag
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
"""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.schema import Attribute, ResourceType, Schema, resource_types
from gateway.scim.errors import ProtocolError
from gateway.scim.validation.json_schemas import json_schema_for
from gateway.scim.validation import (
    canonicalise_resource,
    validate_patch_request,
    validate_resource,
    validate_search_request,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

# §3.1 "Create User — POST /Users"
ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{
        "primary": True,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
    }],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
}

# §3.1 "Handling provisioning ..." Example 2: nulls and the "2.0User" typo URN
ENTRA_CREATE_USER_WITH_NULLS: dict[str, Any] = {
    "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "jyoung@testuser.com",
    "active": True,
    "addresses": None,
    "displayName": "Joy Young",
    "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
    "meta": {"resourceType": "User"},
    "name": {"familyName": "Young", "givenName": "Joy"},
    "phoneNumbers": None,
    "preferredLanguage": None,
    "title": None,
    "department": None,
    "manager": None,
}


@pytest.fixture
def user() -> ResourceType:
    return resource_types()["User"]


@pytest.fixture
def group() -> ResourceType:
    return resource_types()["Group"]


def accepted(body: Any, rtype: ResourceType) -> dict[str, Any]:
    resource = canonicalise_resource(body, rtype)
    validate_resource(resource, rtype)
    return resource


def rejected(body: Any, rtype: ResourceType) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        validate_resource(canonicalise_resource(body, rtype), rtype)
    return info.value


# --- Entra ID create bodies ----------------------------------------------------------------


def test_entra_create_user(user: ResourceType) -> None:
    body = copy.deepcopy(ENTRA_CREATE_USER)
    assert accepted(body, user) == {
        "schemas": [USER],  # no enterprise attribute present, so the extension URN is not listed
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": ENTRA_CREATE_USER["emails"],
        "name": ENTRA_CREATE_USER["name"],
    }
    assert body == ENTRA_CREATE_USER  # the input is not modified


def test_entra_create_user_with_nulls_and_typo_urn(user: ResourceType) -> None:
    assert accepted(ENTRA_CREATE_USER_WITH_NULLS, user) == {
        "schemas": [USER],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "name": {"familyName": "Young", "givenName": "Joy"},
    }


def test_entra_create_group(group: ResourceType) -> None:
    body = {
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    assert accepted(body, group) == {
        "schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"}


def test_entra_user_with_enterprise_and_custom_extension(user: ResourceType) -> None:
    custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen",
        "id": "48af03ac28ad4fb88478",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "2611", "$ref": "../Users/2611", "displayName": "John Smith"},
        },
        custom: {"CustomAttribute": "701984"},
    }
    assert accepted(body, user) == {
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen",
        "name": body["name"],
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "2611", "$ref": "../Users/2611"},  # displayName is read-only
        },
        custom: {"CustomAttribute": "701984"},  # unknown extension kept as sent
    }


# --- canonicalisation rules ----------------------------------------------------------------


def test_odd_casings_take_the_schema_case(user: ResourceType) -> None:
    body = {
        "SCHEMAS": [USER],
        "USERNAME": "bjensen",
        "Name": {"GivenName": "Barbara", "FAMILYNAME": "Jensen"},
        "EMAILS": [{"VALUE": "b@example.com", "Primary": True, "TYPE": "work"}],
        ENTERPRISE.upper(): {"EmployeeNumber": "7", "MANAGER": {"VALUE": "9"}},
        "ExternalID": "e-1",
    }
    assert accepted(body, user) == {
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@example.com", "primary": True, "type": "work"}],
        "externalId": "e-1",
        ENTERPRISE: {"employeeNumber": "7", "manager": {"value": "9"}},
    }


def test_urn_qualified_and_dotted_top_level_keys(user: ResourceType) -> None:
    body = {
        f"{USER}:userName": "bjensen",
        "Name.GivenName": "Barbara",
        "name": {"familyName": "Jensen"},
        f"{ENTERPRISE}:department": "Tour Operations",
        f"{ENTERPRISE.upper()}:MANAGER": "271",
    }
    assert accepted(body, user) == {
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "271"}},
    }


def test_bare_enterprise_names_move_into_the_extension(user: ResourceType) -> None:
    # Note: Entra ID's older request shape sends department/manager without the URN
    resource = accepted({"userName": "u", "department": "Sales", "manager": "m-1"}, user)
    assert resource[ENTERPRISE] == {"department": "Sales", "manager": {"value": "m-1"}}
    assert "department" not in resource and "manager" not in resource


@pytest.mark.parametrize(
    "manager, expected",
    [
        ("271", {"value": "271"}),
        ({"value": "271"}, {"value": "271"}),
        ([{"$ref": "http://x/scim/Users/271", "value": "271"}], {"$ref": "http://x/scim/Users/271", "value": "271"}),
    ],
)
def test_manager_shapes_sent_by_entra(user: ResourceType, manager: Any, expected: dict[str, str]) -> None:
    resource = accepted({"userName": "u", ENTERPRISE: {"manager": manager}}, user)
    assert resource[ENTERPRISE] == {"manager": expected}


@pytest.mark.parametrize("manager", ["", [], None, {"value": None}, {"displayName": "read-only only"}])
def test_empty_manager_is_unassigned(user: ResourceType, manager: Any) -> None:
    resource = accepted({"userName": "u", ENTERPRISE: {"manager": manager}}, user)
    assert resource == {"schemas": [USER], "userName": "u"}


def test_entra_app_role_shapes_become_plain_roles(user: ResourceType) -> None:
    """Entra ID's AppRoleAssignmentsComplex POST labels a role ``displayName`` (RFC 7643:
    ``display``); its SingleAppRoleAssignment value is JSON text. Text that is no assignment
    object stays as sent."""
    roles = [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "displayName": "Admin", "value": "Admin"},
             {"value": json.dumps({"id": "06b07648", "value": "25", "displayName": "Role1234"})},
             {"value": "{not json", "display": "kept"}, {"value": '{"id": "no value"}'},
             {"value": '{"value": "x", "displayName": "ignored"}', "display": "sent"}]
    resource = accepted({"userName": "u", "roles": roles}, user)
    assert resource["roles"] == [
        {"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"},
        {"value": "25", "display": "Role1234"}, {"value": "{not json", "display": "kept"},
        {"value": '{"id": "no value"}'}, {"value": "x", "display": "sent"}]
    other = accepted({"userName": "u", "emails": [{"value": '{"value": "a@b.c"}', "displayName": "x"}]}, user)
    assert other["emails"] == [{"value": '{"value": "a@b.c"}'}]  # only roles: other attributes as sent


@pytest.mark.parametrize("text, value", [("True", True), ("False", False), ("TRUE", True), ("false", False),
                                         ("True ", True), (" false", False)])  # as a PATCH value reads them
def test_string_booleans_are_coerced(user: ResourceType, text: str, value: bool) -> None:
    resource = accepted({"userName": "u", "active": text, "emails": [{"value": "a", "primary": text}]}, user)
    assert resource["active"] is value
    assert resource["emails"][0]["primary"] is value


@pytest.mark.parametrize("active", ["yes", "1", 1, 0, "", "True!"])
def test_other_boolean_values_are_rejected(user: ResourceType, active: Any) -> None:
    error = rejected({"userName": "u", "active": active}, user)
    assert (error.scim_type, error.detail) == ("invalidValue", "active must be a boolean")


def test_read_only_unknown_and_null_attributes_are_dropped(user: ResourceType) -> None:
    body = {
        "userName": "u",
        "id": "client-chosen",
        "meta": {"resourceType": "User", "location": "x"},
        "groups": [{"value": "g1"}],
        "favouriteColour": "blue",
        "name": {"givenName": "A", "nickname": "unknown sub-attribute", "familyName": None},
        "emails": [None, {"value": "a@example.com", "color": "red"}],
        "phoneNumbers": [],
        "addresses": [{"type": None}],
        "title": None,
    }
    assert accepted(body, user) == {
        "schemas": [USER],
        "userName": "u",
        "name": {"givenName": "A"},
        "emails": [{"value": "a@example.com"}],
    }


def test_schemas_is_rebuilt_not_trusted(user: ResourceType) -> None:
    resource = accepted({"schemas": ["urn:bogus"], "userName": "u", ENTERPRISE: {"division": "d"}}, user)
    assert resource["schemas"] == [USER, ENTERPRISE]
    assert accepted({"schemas": "not even a list", "userName": "u"}, user)["schemas"] == [USER]


@pytest.mark.parametrize("body", [[], "text", 3, None, [{"userName": "u"}]])
def test_body_must_be_an_object(user: ResourceType, body: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        canonicalise_resource(body, user)
    assert (info.value.scim_type, info.value.detail) == ("invalidSyntax", "The request body must be a JSON object")


def test_extension_block_must_be_an_object(user: ResourceType) -> None:
    with pytest.raises(ProtocolError, match=f"{ENTERPRISE} must be an object"):
        canonicalise_resource({"userName": "u", ENTERPRISE.lower(): "x"}, user)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, detail",
    [
        ({}, "userName is required"),
        ({"displayName": "x"}, "userName is required"),
        ({"userName": ""}, "userName is required"),
        ({"userName": " \t "}, "userName must be a non-empty string"),
        ({"userName": 42}, "userName must be a non-empty string"),
        ({"userName": "u", "name": "Barbara"}, "name must be an object"),
        ({"userName": "u", "name": {"givenName": 1}}, "name.givenName must be a string"),
        ({"userName": "u", "emails": "a@example.com"}, "emails must be an array"),
        ({"userName": "u", "emails": ["a@example.com"]}, "emails[0] must be an object"),
        ({"userName": "u", "emails": [{"value": "a"}, {"primary": "yes"}]}, "emails[1].primary must be a boolean"),
        ({"userName": "u", "phoneNumbers": [{"value": 5551234}]}, "phoneNumbers[0].value must be a string"),
        ({"userName": "u", "addresses": [{"postalCode": 12345}]}, "addresses[0].postalCode must be a string"),
        ({"userName": "u", "displayName": ["x"]}, "displayName must be a string"),
        ({"userName": "u", "externalId": 7}, "externalId must be a string"),
        ({"userName": "u", ENTERPRISE: {"department": 3}}, f"{ENTERPRISE}:department must be a string"),
        ({"userName": "u", ENTERPRISE: {"manager": 5}}, f"{ENTERPRISE}:manager must be an object"),
        ({"userName": "u", ENTERPRISE: {"manager": {"value": 5}}}, f"{ENTERPRISE}:manager.value must be a string"),
        ({"userName": "u", ENTERPRISE: {"manager": ["a", "b"]}}, f"{ENTERPRISE}:manager must be an object"),
    ],
)
def test_invalid_users_name_the_attribute(user: ResourceType, body: dict[str, Any], detail: str) -> None:
    error = rejected(body, user)
    assert (error.scim_type, error.detail) == ("invalidValue", detail)
    assert str(error) == detail


@pytest.mark.parametrize("attribute", ["emails", "phoneNumbers", "addresses", "roles"])
def test_at_most_one_primary_value(user: ResourceType, attribute: str) -> None:
    one = [{"type": "work", "primary": True}, {"type": "home", "primary": False}, {"type": "other"}]
    accepted({"userName": "u", attribute: one}, user)
    two = [{"type": "work", "primary": True}, {"type": "home", "primary": "True"}]
    error = rejected({"userName": "u", attribute: two}, user)
    assert error.detail == f'{attribute} must not have more than one value with "primary": true'


def test_validate_accepts_a_full_user(user: ResourceType) -> None:
    body = {
        "userName": "bjensen", "externalId": "e", "displayName": "Babs", "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen", "title": "Tour Guide", "userType": "Employee",
        "preferredLanguage": "en-US", "locale": "en-US", "timezone": "America/Los_Angeles", "active": True,
        "password": "t1meMa$heen",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "emails": [{"value": "b@example.com", "display": "b", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "tel:+1-201-555-0123", "type": "work"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "US", "formatted": "x", "primary": True}],
        "entitlements": [{"value": "e1"}], "roles": [{"value": "r1", "primary": True}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                     "division": "Theme Park", "department": "Tour Operations",
                     "manager": {"value": "26118915", "$ref": "../Users/26118915"}},
    }
    resource = accepted(body, user)
    kept = {k: v for k, v in body.items() if k != "password"}  # accepted, never kept (RFC 7643 §4.1.1)
    assert {k: v for k, v in resource.items() if k != "schemas"} == kept


def test_validate_rejects_a_non_canonical_resource(user: ResourceType) -> None:
    # validate_resource expects canonical input: a mis-cased sub-attribute is caught, not ignored
    with pytest.raises(ProtocolError, match=r"name.GivenName is not a known attribute"):
        validate_resource({"schemas": [USER], "userName": "u", "name": {"GivenName": "A"}}, user)
    with pytest.raises(ProtocolError, match="schemas is required"):
        validate_resource({"userName": "u"}, user)
    with pytest.raises(ProtocolError, match=f'schemas must contain "{USER}"'):
        validate_resource({"schemas": [GROUP], "userName": "u"}, user)


def test_group_validation_is_derived_from_the_model(group: ResourceType) -> None:
    accepted({"displayName": "Staff", "members": [{"value": "u1", "$ref": "../Users/u1", "type": "User"}]}, group)
    assert rejected({"members": [{"value": "u1"}]}, group).detail == "displayName is required"
    assert rejected({"displayName": 5}, group).detail == "displayName must be a string"
    error = rejected({"displayName": "g", "members": [{"value": "u1", "display": 3}]}, group)
    assert error.detail == "members[0].display must be a string"


def test_required_extensions_and_sub_attributes_are_enforced(user: ResourceType) -> None:
    badge = Schema("urn:example:badge:2.0:User", "Badge", "Badge", (
        Attribute("badge", "complex", sub_attributes=(
            Attribute("number", "integer", required=True), Attribute("colour", "string"))),
        Attribute("level", "decimal"),
    ))
    rtype = ResourceType("Staff", "/Staff", "Staff", user.core, ((badge, True),))
    assert rejected({"userName": "u"}, rtype).detail == "urn:example:badge:2.0:User is required"
    error = rejected({"userName": "u", "urn:example:badge:2.0:user": {"Badge": {"colour": "red"}}}, rtype)
    assert error.detail == "urn:example:badge:2.0:User:badge.number is required"
    error = rejected({"userName": "u", "urn:example:badge:2.0:User": {"badge": {"number": "12"}}}, rtype)
    assert error.detail == "urn:example:badge:2.0:User:badge.number must be an integer"
    error = rejected({"userName": "u", "urn:example:badge:2.0:User": {"level": "high"}}, rtype)
    assert error.detail == "urn:example:badge:2.0:User:level must be a number"
    resource = accepted({"userName": "u", "urn:example:badge:2.0:User": {"badge": {"number": 12}, "level": 1.5}}, rtype)
    assert resource["schemas"] == [USER, "urn:example:badge:2.0:User"]


def test_user_request_schema_covers_the_model(user: ResourceType) -> None:
    """The hand-written User.schema.json types every attribute of the model like the derived one."""
    root = json.loads(files("schemas").joinpath("request").joinpath("User.schema.json").read_text("utf-8"))

    def deref(schema: dict[str, Any]) -> dict[str, Any]:
        """Merge local ``$ref`` targets into ``schema`` (enough for this schema's shallow refs)."""
        while "$ref" in schema:
            target = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
            schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        return schema

    def check(written: dict[str, Any], generated: dict[str, Any], where: str) -> None:
        written = deref(written)
        assert written.get("type") == generated["type"], where
        assert ("not" in written) == ("not" in generated), f"{where}: at most one primary"
        if generated["type"] == "array":
            check(written["items"], generated["items"], f"{where}[]")
        if "properties" in generated:
            assert set(written["properties"]) == set(generated["properties"]), where
            for name, sub in generated["properties"].items():
                check(written["properties"][name], sub, f"{where}.{name}")

    for name, generated in json_schema_for(user)["properties"].items():
        check(root["properties"][name], generated, name)


# --- PATCH and .search envelopes -----------------------------------------------------------


def test_entra_patch_requests() -> None:
    # §3.2, without and with aadOptscim062020
    without_flag = {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Remove", "path": "members", "value": [{"value": "u1091"}]},
    ]}
    assert validate_patch_request(without_flag) == [
        {"op": "replace", "path": "active", "value": "False"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "remove", "path": "members", "value": [{"value": "u1091"}]},
    ]
    with_flag = {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom"}},
        {"op": "remove", "path": 'members[value eq "7f4bc1a3"]'},
        {"op": "add", "path": "nickName", "value": None},
    ]}
    assert validate_patch_request(with_flag) == with_flag["Operations"]


def test_patch_member_names_are_case_insensitive() -> None:
    body = {"SCHEMAS": [PATCH_OP], "operations": [{"OP": "ADD", "Path": "title", "VALUE": "x", "extra": 1}]}
    assert validate_patch_request(body) == [{"op": "add", "path": "title", "value": "x"}]


@pytest.mark.parametrize(
    "body, detail",
    [
        ([], "The request body must be a JSON object"),
        ({"schemas": [PATCH_OP]}, "Operations is required"),
        ({"Operations": [{"op": "add", "value": {}}]}, "schemas is required"),
        ({"schemas": [], "Operations": [{"op": "add", "value": {}}]}, f'schemas must contain "{PATCH_OP}"'),
        ({"schemas": [PATCH_OP], "Operations": []}, "Operations must contain at least one operation"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "Operations must be an array"),
        ({"schemas": [PATCH_OP], "Operations": ["add"]}, "Operations[0] must be an object"),
        ({"schemas": [PATCH_OP], "Operations": [{"path": "x"}]}, "Operations[0].op is required"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "x"}]},
         "Operations[0].op must be one of add, replace, remove"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "adds", "path": "x"}]},
         "Operations[0].op must be one of add, replace, remove"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": 3}]}, "Operations[0].path must be a string"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "x"}, {"op": "Replace", "path": "y"}]},
         "Operations[1].value is required"),
    ],
)
def test_invalid_patch_requests(body: Any, detail: str) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_patch_request(body)
    assert (info.value.scim_type, info.value.detail) == ("invalidSyntax", detail)


def test_search_request() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "Filter": 'displayName sw "smith"',
        "startIndex": 1,
        "COUNT": 10.0,
        "sortBy": "userName",
        "sortOrder": "Descending",
        "unknown": True,
    }
    assert validate_search_request(body) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "filter": 'displayName sw "smith"',
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10,
    }
    assert isinstance(validate_search_request(body)["count"], int)
    assert validate_search_request({}) == {}
    assert validate_search_request({"count": -5, "startIndex": 0}) == {"count": -5, "startIndex": 0}


@pytest.mark.parametrize(
    "body, detail",
    [
        ("filter=x", "The request body must be a JSON object"),
        ({"attributes": "userName,displayName"}, "attributes must be an array"),
        ({"excludedAttributes": [1]}, "excludedAttributes[0] must be a string"),
        ({"filter": {"op": "eq"}}, "filter must be a string"),
        ({"sortOrder": 1}, "sortOrder must be a string"),
        ({"startIndex": "1"}, "startIndex must be an integer"),
        ({"count": 2.5}, "count must be an integer"),
        ({"count": True}, "count must be an integer"),
    ],
)
def test_invalid_search_requests(body: Any, detail: str) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_search_request(body)
    assert (info.value.scim_type, info.value.detail) == ("invalidSyntax", detail)


def test_empty_strings_are_unassigned_like_null() -> None:
    """An empty string and null are both "no value", so filters and GET agree on presence."""
    from adapters.schema import resource_types

    user = resource_types()["User"]
    out = canonicalise_resource({"userName": "a@x", "nickName": "", "name": {"givenName": "", "familyName": "F"},
                                 "emails": [{"value": "", "type": "work"}]}, user)
    assert "nickName" not in out and out["name"] == {"familyName": "F"}
    assert out["emails"] == [{"type": "work"}]
    with pytest.raises(ProtocolError, match="userName is required"):
        validate_resource(canonicalise_resource({"userName": ""}, user), user)
