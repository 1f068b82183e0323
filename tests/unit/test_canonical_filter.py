"""Filter paths canonicalised against the schema (gateway/scim/canonical_filter.py; RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.query import And, AttrPath, Compare, Not, Or, Present, ValuePath
from adapters.schema import ResourceType, UnknownAttribute, resource_types
from gateway.scim.canonical_filter import canonical_filter
from gateway.scim.filter import parse_filter

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def user() -> ResourceType:
    return resource_types()["User"]


def test_canonical_filter_rewrites_every_path(user: ResourceType) -> None:
    node = Or(
        And(
            Compare(AttrPath("USERNAME"), "eq", "bjensen"),
            ValuePath(AttrPath("Emails"), And(Compare(AttrPath("TYPE"), "eq", "work"), Present(AttrPath("Value")))),
        ),
        Not(Present(AttrPath("manager", "VALUE", urn=ENTERPRISE.upper()))),
    )
    assert canonical_filter(node, user) == Or(
        And(
            Compare(AttrPath("userName"), "eq", "bjensen"),
            ValuePath(AttrPath("emails"), And(Compare(AttrPath("type"), "eq", "work"), Present(AttrPath("value")))),
        ),
        Not(Present(AttrPath("manager", "value", urn=ENTERPRISE))),
    )


def test_canonical_filter_entra_manager_lookup(user: ResourceType) -> None:
    # Note: Entra ID's old docs filter on the bare enterprise name: id eq ... and manager eq ...
    node = And(Compare(AttrPath("id"), "eq", "54D3"), Compare(AttrPath("manager"), "eq", "2819"))
    assert canonical_filter(node, user) == And(
        Compare(AttrPath("id"), "eq", "54D3"), Compare(AttrPath("manager", urn=ENTERPRISE), "eq", "2819"))


@pytest.mark.parametrize(
    "node, message",
    [
        (Compare(AttrPath("nope"), "eq", "x"), "nope"),
        (ValuePath(AttrPath("emails"), Compare(AttrPath("nope"), "eq", "x")), "nope"),
        (ValuePath(AttrPath("emails"), Compare(AttrPath("emails", "type"), "eq", "x")), "emails.type"),
        (ValuePath(AttrPath("userName"), Present(AttrPath("value"))), "userName"),
        (ValuePath(AttrPath("emails", "value"), Present(AttrPath("value"))), "emails.value"),
        (Not(Present(AttrPath("meta", "nope"))), "meta.nope"),
    ],
)
def test_canonical_filter_rejects_unknown_paths(user: ResourceType, node: Any, message: str) -> None:
    with pytest.raises(UnknownAttribute, match=message):
        canonical_filter(node, user)


def test_unquoted_numbers_compared_with_string_attributes_become_text(user: ResourceType) -> None:
    """Note: Entra ID's old docs send ``employeeNumber eq 701984`` and ``id eq 42`` unquoted."""
    node = canonical_filter(parse_filter("employeeNumber eq 701984"), user)
    assert isinstance(node, Compare) and node.value == "701984"
    assert node.path.urn == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    kept = canonical_filter(parse_filter("active eq true"), user)
    assert isinstance(kept, Compare) and kept.value is True


@pytest.mark.parametrize("literal, expected", [('"True"', True), ('"FALSE"', False), ("true", True)])
def test_quoted_booleans_become_booleans(user: ResourceType, literal: str, expected: bool) -> None:
    """Entra ID quotes booleans in filters as in PATCH values (``roles[primary eq "True"]``)."""
    assert canonical_filter(parse_filter(f"active eq {literal}"), user) == Compare(AttrPath("active"), "eq", expected)
    assert canonical_filter(parse_filter(f"emails[primary eq {literal}]"), user) == \
        ValuePath(AttrPath("emails"), Compare(AttrPath("primary"), "eq", expected))


def test_other_strings_compared_with_a_boolean_stay_strings(user: ResourceType) -> None:
    assert canonical_filter(parse_filter('active eq "yes"'), user) == Compare(AttrPath("active"), "eq", "yes")
