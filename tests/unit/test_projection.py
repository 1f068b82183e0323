"""Tests of attribute projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 ``returned``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType, Schema, UnknownAttribute, resource_types
from gateway.scim.errors import FilterSyntaxError
from gateway.scim.projection import parse_attribute_list, project

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER = resource_types()["User"]
GROUP = resource_types()["Group"]

RESOURCE: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE],
    "id": "2819c223",
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "password": "t1meMa$heen",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
        {"type": "other"},
    ],
    "roles": [],
    "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915", "displayName": "John Smith"}},
}


def attrs(text: str, rtype: ResourceType = USER) -> list[AttrPath] | None:
    return parse_attribute_list(text, rtype)


def test_default_drops_never_and_keeps_the_rest() -> None:
    out = project(RESOURCE, USER)
    expected = copy.deepcopy(RESOURCE)
    del expected["password"]
    assert out == expected
    assert list(out) == [k for k in RESOURCE if k != "password"]


def test_input_is_not_modified_and_output_does_not_alias_it() -> None:
    before = copy.deepcopy(RESOURCE)
    out = project(RESOURCE, USER)
    out["emails"][0]["value"] = "changed"
    out["name"]["givenName"] = "changed"
    out[ENTERPRISE]["manager"]["value"] = "changed"
    out["schemas"].append("x")
    assert RESOURCE == before
    project(RESOURCE, USER, attributes=attrs("emails.value"), excluded=attrs("name"))
    assert RESOURCE == before


def test_attributes_keep_only_named_plus_always() -> None:
    assert project(RESOURCE, USER, attributes=attrs("userName")) == {
        "schemas": [CORE],
        "id": "2819c223",
        "userName": "bjensen@example.com",
    }


def test_attributes_id_only_as_entra_asks_for_the_manager_check() -> None:
    assert project(RESOURCE, USER, attributes=attrs("id")) == {"schemas": [CORE], "id": "2819c223"}


def test_attributes_sub_attribute_of_a_complex_attribute() -> None:
    out = project(RESOURCE, USER, attributes=attrs("name.givenName,meta.lastModified"))
    assert out == {
        "schemas": [CORE],
        "id": "2819c223",
        "name": {"givenName": "Barbara"},
        "meta": {"lastModified": "2011-05-13T04:42:34Z"},
    }


def test_attributes_sub_attribute_of_a_multi_valued_attribute() -> None:
    out = project(RESOURCE, USER, attributes=attrs("emails.value"))
    # the element without a value is left out rather than returned as {}
    assert out["emails"] == [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]
    out = project(RESOURCE, USER, attributes=attrs("emails.value, emails.type"))
    assert out["emails"] == [
        {"value": "bjensen@example.com", "type": "work"},
        {"value": "babs@jensen.org", "type": "home"},
        {"type": "other"},
    ]


def test_attributes_whole_and_sub_attribute_together_keep_the_whole() -> None:
    out = project(RESOURCE, USER, attributes=attrs("name.givenName,name"))
    assert out["name"] == RESOURCE["name"]


def test_attributes_sub_attribute_with_nothing_left_drops_the_attribute() -> None:
    out = project(RESOURCE, USER, attributes=attrs("name.middleName,emails.display"))
    assert out == {"schemas": [CORE], "id": "2819c223"}


def test_attributes_extension_attribute() -> None:
    out = project(RESOURCE, USER, attributes=attrs(f"{ENTERPRISE}:employeeNumber"))
    assert out == {"schemas": [CORE, ENTERPRISE], "id": "2819c223", ENTERPRISE: {"employeeNumber": "701984"}}


def test_attributes_extension_sub_attribute() -> None:
    out = project(RESOURCE, USER, attributes=attrs(f"{ENTERPRISE}:manager.value"))
    assert out[ENTERPRISE] == {"manager": {"value": "26118915"}}


def test_attributes_bare_extension_attribute_name_is_canonicalised() -> None:
    # Note: Entra ID names enterprise attributes without their URN; resolve finds them.
    out = project(RESOURCE, USER, attributes=attrs("employeeNumber"))
    assert out[ENTERPRISE] == {"employeeNumber": "701984"}


def test_attributes_extension_urn_alone_keeps_the_whole_block() -> None:
    out = project(RESOURCE, USER, attributes=attrs(ENTERPRISE.upper()))
    assert out == {"schemas": [CORE, ENTERPRISE], "id": "2819c223", ENTERPRISE: RESOURCE[ENTERPRISE]}


def test_attributes_without_extension_drop_its_block_and_urn() -> None:
    out = project(RESOURCE, USER, attributes=attrs("userName"))
    assert ENTERPRISE not in out
    assert out["schemas"] == [CORE]


def test_attributes_core_urn_alone_keeps_core_attributes() -> None:
    out = project(RESOURCE, USER, attributes=attrs(CORE))
    assert out["userName"] == RESOURCE["userName"]
    assert "password" not in out
    assert ENTERPRISE not in out


def test_excluded_attributes() -> None:
    out = project(RESOURCE, USER, excluded=attrs("emails,name.familyName,meta"))
    assert "emails" not in out and "meta" not in out
    assert out["name"] == {"givenName": "Barbara"}
    assert out["userName"] == RESOURCE["userName"]
    assert out[ENTERPRISE] == RESOURCE[ENTERPRISE]


def test_excluded_never_removes_always_attributes() -> None:
    out = project(RESOURCE, USER, excluded=attrs("id,userName"))
    assert out["id"] == "2819c223"
    assert "userName" not in out
    assert out["schemas"] == [CORE, ENTERPRISE]


def test_excluded_sub_attribute_of_multi_valued() -> None:
    out = project(RESOURCE, USER, excluded=attrs("emails.primary,emails.type"))
    assert out["emails"] == [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]


def test_excluded_extension_attributes_until_the_block_is_empty() -> None:
    out = project(RESOURCE, USER, excluded=attrs(f"{ENTERPRISE}:employeeNumber"))
    assert out[ENTERPRISE] == {"manager": RESOURCE[ENTERPRISE]["manager"]}
    out = project(RESOURCE, USER, excluded=attrs(f"{ENTERPRISE}:employeeNumber,{ENTERPRISE}:manager"))
    assert ENTERPRISE not in out
    assert out["schemas"] == [CORE]


def test_excluded_extension_urn_drops_the_block() -> None:
    out = project(RESOURCE, USER, excluded=attrs(ENTERPRISE))
    assert ENTERPRISE not in out
    assert out["schemas"] == [CORE]
    assert out["userName"] == RESOURCE["userName"]


def test_empty_extension_block_is_dropped_with_its_urn() -> None:
    resource = {"schemas": [CORE, ENTERPRISE], "id": "1", "userName": "u", ENTERPRISE: {}}
    assert project(resource, USER) == {"schemas": [CORE], "id": "1", "userName": "u"}
    # Note: Entra ID lists the enterprise URN even when it sends no enterprise attribute.
    resource = {"schemas": [CORE, ENTERPRISE], "id": "1", "userName": "u"}
    assert project(resource, USER)["schemas"] == [CORE]


def test_unknown_schema_urns_are_left_in_schemas() -> None:
    resource = {"schemas": [CORE, "urn:example:other"], "id": "1"}
    assert project(resource, USER)["schemas"] == [CORE, "urn:example:other"]


def test_group_excluded_members_as_entra_asks() -> None:
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223", "display": "Babs Jensen"}],
    }
    out = project(group, GROUP, excluded=attrs("members", GROUP))
    assert out == {"schemas": group["schemas"], "id": "g1", "displayName": "Tour Guides"}


def test_names_in_the_resource_are_matched_case_insensitively() -> None:
    resource = {
        "schemas": [CORE], "ID": "1", "UserName": "u", "PASSWORD": "p", "Name": {"GivenName": "g", "familyName": "f"}
    }
    out = project(resource, USER, attributes=attrs("name.givenName"))
    assert out == {"schemas": [CORE], "ID": "1", "Name": {"GivenName": "g"}}


def test_unknown_attributes_are_kept_by_default_and_dropped_when_not_named() -> None:
    resource = {"schemas": [CORE], "id": "1", "legacyFlag": "x"}
    assert project(resource, USER) == resource
    assert project(resource, USER, attributes=attrs("userName")) == {"schemas": [CORE], "id": "1"}


# --- returned: request / never / always on a synthetic schema --------------------------------

SYNTHETIC_URN = "urn:example:schemas:Thing"
THING = ResourceType(
    name="Thing",
    endpoint="/Things",
    description="",
    core=Schema(
        id=SYNTHETIC_URN,
        name="Thing",
        description="",
        attributes=(
            Attribute("id", "string", returned="always"),
            Attribute("label", "string"),
            Attribute("secret", "string", returned="never"),
            Attribute("audit", "string", returned="request"),
            Attribute(
                "detail",
                "complex",
                sub_attributes=(
                    Attribute("a", "string"),
                    Attribute("pin", "string", returned="never"),
                    Attribute("key", "string", returned="always"),
                    Attribute("trace", "string", returned="request"),
                ),
            ),
        ),
    ),
)
THING_RESOURCE = {
    "schemas": [SYNTHETIC_URN],
    "id": "t1",
    "label": "L",
    "secret": "S",
    "audit": "A",
    "detail": {"a": "1", "pin": "0000", "key": "k", "trace": "tr"},
}


def test_request_attributes_only_when_named() -> None:
    assert project(THING_RESOURCE, THING) == {
        "schemas": [SYNTHETIC_URN],
        "id": "t1",
        "label": "L",
        "detail": {"a": "1", "key": "k"},
    }
    assert project(THING_RESOURCE, THING, attributes=attrs("audit", THING)) == {
        "schemas": [SYNTHETIC_URN],
        "id": "t1",
        "audit": "A",
    }
    assert "audit" not in project(THING_RESOURCE, THING, excluded=attrs("label", THING))


def test_never_attributes_even_when_named() -> None:
    out = project(THING_RESOURCE, THING, attributes=attrs("secret,detail.pin", THING))
    # the parent is returned for the named sub-attribute, but only its returned:always part remains
    assert out == {"schemas": [SYNTHETIC_URN], "id": "t1", "detail": {"key": "k"}}
    out = project(THING_RESOURCE, THING, attributes=attrs("secret", THING))
    assert out == {"schemas": [SYNTHETIC_URN], "id": "t1"}


def test_sub_attribute_returned_characteristics() -> None:
    assert project(THING_RESOURCE, THING, attributes=attrs("detail", THING))["detail"] == {
        "a": "1",
        "key": "k",
        "trace": "tr",
    }
    assert project(THING_RESOURCE, THING, attributes=attrs("detail.a", THING))["detail"] == {"a": "1", "key": "k"}
    assert project(THING_RESOURCE, THING, attributes=attrs("detail.trace", THING))["detail"] == {
        "key": "k",
        "trace": "tr",
    }
    assert project(THING_RESOURCE, THING, excluded=attrs("detail.key,detail.a", THING))["detail"] == {"key": "k"}


# --- parse_attribute_list ---------------------------------------------------------------------


def test_parse_attribute_list_none_and_empty() -> None:
    assert parse_attribute_list(None, USER) is None
    assert parse_attribute_list("", USER) is None
    assert parse_attribute_list(" , ", USER) is None


def test_parse_attribute_list_canonicalises() -> None:
    assert attrs("USERNAME, name.GIVENNAME,emails,Meta.LastModified") == [
        AttrPath("userName"),
        AttrPath("name", "givenName"),
        AttrPath("emails"),
        AttrPath("meta", "lastModified"),
    ]
    assert attrs(f"{CORE}:userName") == [AttrPath("userName")]
    assert attrs(f"{ENTERPRISE.lower()}:MANAGER.value") == [AttrPath("manager", "value", ENTERPRISE)]
    assert attrs("department") == [AttrPath("department", urn=ENTERPRISE)]


def test_parse_attribute_list_schema_urns_and_schemas() -> None:
    assert attrs(f"{ENTERPRISE.upper()},schemas,id") == [AttrPath(ENTERPRISE), AttrPath("id")]


def test_parse_attribute_list_removes_duplicates() -> None:
    assert attrs("userName,username,USERNAME") == [AttrPath("userName")]


@pytest.mark.parametrize("text", ["name.", 'emails[type eq "work"]', "a.b.c", "user name", "userName,,a b"])
def test_parse_attribute_list_syntax_errors(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        attrs(text)


@pytest.mark.parametrize("text", ["nosuch", "name.nosuch", "urn:example:nosuch:attr", "userName.value", "members"])
def test_parse_attribute_list_unknown_attributes(text: str) -> None:
    with pytest.raises(UnknownAttribute):
        attrs(text)
