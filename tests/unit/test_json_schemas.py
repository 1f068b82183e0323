"""The request JSON Schemas, compiled once (gateway/scim/validation/json_schemas.py), and the one
sentence a client gets for a body they reject (gateway/scim/validation/schema_errors.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.schema import ResourceType, resource_types
from gateway.scim.validation.json_schemas import request_schema, resource_schema
from gateway.scim.errors import ProtocolError
from gateway.scim.validation import validate_patch_request, validate_resource

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def user() -> ResourceType:
    return resource_types()["User"]


def detail_for(resource: dict[str, Any], rtype: ResourceType) -> str:
    with pytest.raises(ProtocolError) as info:
        validate_resource({"schemas": [CORE], **resource}, rtype)
    assert info.value.scim_type == "invalidValue"
    return info.value.detail


def test_each_schema_is_compiled_once(user: ResourceType) -> None:
    validate_resource({"schemas": [CORE], "userName": "u"}, user)
    assert resource_schema(user) is resource_schema(user)
    assert request_schema("PatchOp") is request_schema("PatchOp")
    assert request_schema("SearchRequest") is request_schema("SearchRequest")
    assert resource_schema(resource_types()["Group"]) is resource_schema(resource_types()["Group"])


# --- which error a body with several is told about --------------------------------------------


@pytest.mark.parametrize(
    "resource, detail",
    [
        # the shallowest error in the body
        ({"userName": "u", "title": 5, "emails": [{"primary": 1}]}, "title must be a string"),
        ({"name": {"zz": 1, "aa": 2}}, "userName is required"),
        # siblings at one depth: the greatest path (as jsonschema's best_match picked)
        ({"userName": "u", "active": "yes", "title": 5}, "title must be a string"),
        ({"schemas": ["x"], "userName": "u", "active": [1, 1]}, f'schemas must contain "{CORE}"'),
        ({"userName": "u", "phoneNumbers": [{"value": 1}, {"value": 2}, {"value": 3}]},
         "phoneNumbers[2].value must be a string"),
        ({"userName": "u", "addresses": [-1], "groups": [[1]]}, "groups[0] must be an object"),
        ({"userName": "u", "addresses": [{"op": "x"}], ENTERPRISE: {"manager": {"schemas": 1}}},
         f"{ENTERPRISE}:manager.schemas is not a known attribute"),
        # two errors at one path: the type, first in the schema (not the at-most-one-primary rule)
        ({"userName": "u", "emails": 5}, "emails must be an array"),
        ({"userName": 5, "x": 1}, "userName must be a non-empty string"),
    ],
)
def test_the_most_relevant_error_is_reported(user: ResourceType, resource: dict[str, Any], detail: str) -> None:
    assert detail_for(resource, user) == detail


@pytest.mark.parametrize(
    "body, detail",
    [
        ({}, "schemas is required"),  # the first missing member, in the schema's order
        ({"Operations": [{"path": 1}]}, "schemas is required"),
        ({"schemas": [PATCH_OP], "Operations": [{"path": 3, "op": "move"}]}, "Operations[0].path must be a string"),
    ],
)
def test_the_most_relevant_patch_error_is_reported(body: dict[str, Any], detail: str) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_patch_request(body)
    assert (info.value.scim_type, info.value.detail) == ("invalidSyntax", detail)


# --- patterns -------------------------------------------------------------------------------


def test_user_name_needs_a_character_that_is_not_whitespace(user: ResourceType) -> None:
    """The whitespace is Python's (``str.isspace``), as it always was; ECMA-262's ``\\s`` differs."""
    spaces = [chr(c) for c in range(0x3100) if re.fullmatch(r"\s", chr(c))]
    assert len(spaces) == 29 and "\x1c" in spaces and "\x85" in spaces and "\ufeff" not in spaces
    for space in spaces:
        assert detail_for({"userName": space * 2}, user) == "userName must be a non-empty string", hex(ord(space))
    for name in ("\ufeff", "\u200b", " a ", "\x1ca"):
        validate_resource({"schemas": [CORE], "userName": name}, user)


@pytest.mark.parametrize("op", ["add\n", " add", "Add ", "ADDD", ""])
def test_op_must_be_exactly_add_replace_or_remove(op: str) -> None:
    """``$`` ends the string (ECMA-262), so a trailing newline is no longer taken for ``add``."""
    with pytest.raises(ProtocolError, match=r"^Operations\[0\]\.op must be one of add, replace, remove$"):
        validate_patch_request({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "title", "value": "x"}]})
