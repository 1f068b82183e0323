"""The LDAP adapter answers filters exactly although the directory's matching rules drop
insignificant spaces (RFC 4518; telephone numbers: every space and hyphen) and ``sn`` may hold a
placeholder: found by fuzzing against the SQL adapters. Answers are compared with
:func:`adapters.filter_eval.matches` on the users as the adapter reads them (see
adapters/ldap/string_match.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from adapters.filter_eval import matches
from adapters.ldap.adapter import LdapAdapter, LdapUserAdapter
from adapters.ldap.attributes import AttributeMap
from adapters.ldap.directory_schema import DIRECTORY_STRING, LdapAttributeType
from adapters.ldap.filters import FilterTranslator
from adapters.query import And, AttrPath, Compare, Filter, ListQuery, Not, Or, Present, ValuePath
from adapters.errors import AlreadyExists
from adapters.schema import user_schema_info
from tests.adapters.test_ldap_adapter import adapter, users  # noqa: F401  (fixtures: the adapter on slapd)
from tests.http.test_ldap_gateway import app, ldap_gateway, scim  # noqa: F401  (fixtures: the gateway on slapd)
from tests.ldap_server import ldap_base, slapd_server  # noqa: F401  (fixtures)
from tests.support import Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA = user_schema_info()


def user(user_name: str, /, **extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "userName": user_name, "active": True, **extra}


def cmp(path: str, op: str, value: Any) -> Compare:
    attr, _, sub = path.partition(".")
    return Compare(AttrPath(attr, sub or None), op, value)


def phone(kind: str, op: str, value: Any) -> ValuePath:
    return ValuePath(AttrPath("phoneNumbers"), And(cmp("type", "eq", kind), cmp("value", op, value)))


PEOPLE = [
    user("bob@example.com", externalId="e-1", displayName="bob jones", title="Engineer",
         name={"givenName": "Bob", "familyName": "Jones"}, phoneNumbers=[{"type": "work", "value": "+1 555 0100"}]),
    user("bob2@example.com", externalId="e-1 ", displayName="bob  jones", title=" Engineer",
         phoneNumbers=[{"type": "work", "value": "+1-555-0100"}]),
    user("carol@example.com", externalId="E-1", displayName=" Bob Jones ", title="Engineer ",
         name={"givenName": " Carol"}, phoneNumbers=[{"type": "mobile", "value": "+1 555 0100 "}]),
    user("dave@example.com", displayName="bob\u00a0jones", title="  ", name={"familyName": "Dave  Smith"},
         **{ENTERPRISE: {"department": "R D", "organization": " Org"}}),
    user("gina x@example.com"),  # no name and no displayName: cn and sn hold the userName
    user("frank@example.com", displayName="Frank", active=False),  # sn holds "Frank"
]
ALL = sorted(p["userName"] for p in PEOPLE)


@pytest.fixture
def people(users: LdapUserAdapter, io_loop: Any) -> list[dict[str, Any]]:
    return [io_loop.run_sync(lambda p=p: users.create(p)) for p in PEOPLE]


async def names(users: LdapUserAdapter, node: Filter | None) -> list[str]:
    page = await users.search(ListQuery(filter=node, count=200))
    return sorted(r["userName"] for r in page.resources)


async def mismatches(users: LdapUserAdapter, nodes: list[Filter]) -> list[str]:
    """The filters whose answer differs from the reference evaluator's on the users as read."""
    stored = (await users.search(ListQuery(count=200))).resources
    wrong = []
    for node in nodes:
        expected = sorted(r["userName"] for r in stored if matches(node, r, case_exact=SCHEMA.case_exact))
        try:
            got = await names(users, node)
        except Exception as exc:  # noqa: BLE001  (a server error is a mismatch too)
            got = [f"{type(exc).__name__}: {str(exc)[:80]}"]
        if got != expected:
            wrong.append(f"{node}: got {got}, expected {expected}")
    return wrong


# -- 1. only-space substrings: were a pyasn1 error (HTTP 500) --------------------------------

MAPPED = ["userName", "externalId", "displayName", "title", "preferredLanguage", "name.givenName",
          "name.familyName"]
ENTERPRISE_MAPPED = ["employeeNumber", "department", "organization"]


@pytest.mark.gen_test(timeout=60)  # hundreds of searches
async def test_whitespace_only_substrings_are_answered_on_every_mapped_attribute(
        users: LdapUserAdapter, people: list[dict[str, Any]]) -> None:
    nodes: list[Filter] = []
    for op in ("sw", "co", "ew"):
        for value in (" ", "  ", "\u00a0"):
            nodes += [cmp(path, op, value) for path in MAPPED]
            nodes += [Compare(AttrPath(name, None, ENTERPRISE), op, value) for name in ENTERPRISE_MAPPED]
            nodes += [phone(kind, op, value) for kind in ("work", "mobile")]
    assert await mismatches(users, nodes) == []


@pytest.mark.gen_test
async def test_whitespace_only_substring_over_http_is_not_a_server_error(scim: Scim) -> None:  # noqa: F811
    for name in ("ann@example.com", "ann b@example.com"):
        assert (await scim("POST", "/Users", user(name))).status == 201
    for op, value, expected in (("sw", " ", []), ("co", " ", ["ann b@example.com"]), ("ew", " ", []),
                                ("sw", "  ", []), ("co", "  ", []), ("ew", "  ", [])):
        reply = await scim("GET", "/Users?filter=" + quote(f'userName {op} "{value}"'))
        assert reply.status == 200, reply.body
        assert sorted(r["userName"] for r in reply.body.get("Resources", [])) == expected, (op, value)


# -- 2. insignificant spaces -------------------------------------------------------------------

@pytest.mark.gen_test
async def test_spaces_are_significant_in_string_filters(users: LdapUserAdapter, people: list[dict[str, Any]]) -> None:
    assert await names(users, cmp("userName", "co", " ")) == ["gina x@example.com"]
    assert await names(users, cmp("userName", "ew", " ")) == []
    assert await names(users, cmp("displayName", "ne", " ")) == ALL
    assert await names(users, cmp("displayName", "eq", "bob jones")) == ["bob@example.com"]
    assert await names(users, cmp("displayName", "eq", "bob  jones")) == ["bob2@example.com"]
    assert await names(users, cmp("displayName", "sw", "bob j")) == ["bob@example.com"]
    assert await names(users, cmp("displayName", "sw", " ")) == ["carol@example.com"]
    assert await names(users, cmp("displayName", "co", "  ")) == ["bob2@example.com"]
    assert await names(users, cmp("title", "eq", "engineer")) == ["bob@example.com"]
    assert await names(users, cmp("title", "eq", " ")) == []
    assert await names(users, cmp("title", "eq", "  ")) == ["dave@example.com"]
    assert await names(users, cmp("externalId", "eq", "e-1")) == ["bob@example.com"]
    assert await names(users, phone("work", "eq", "+1 555 0100")) == ["bob@example.com"]
    assert await names(users, phone("work", "co", "-")) == ["bob2@example.com"]
    assert await names(users, Not(cmp("displayName", "eq", "bob jones"))) == \
        [n for n in ALL if n != "bob@example.com"]


@pytest.mark.gen_test
async def test_user_name_eq_finds_the_user_a_create_would_collide_with(users: LdapUserAdapter) -> None:
    """userName's equality is its uniqueness: the directory's rule, to which surrounding white
    space and runs of it are insignificant. A stored userName with stray spaces is found by the
    look-up Entra ID makes before it creates (else it would POST, get 409, and loop)."""
    padded = await users.create(user("  pad@example.com\t"))
    inner = await users.create(user("in  ner@example.com"))
    for wanted, holder in (("pad@example.com", padded), ("PAD@example.com ", padded),
                           ("in ner@example.com", inner), (" In Ner@example.com", inner)):
        with pytest.raises(AlreadyExists):
            await users.create(user(wanted))
        assert await names(users, cmp("userName", "eq", wanted)) == [holder["userName"]], wanted
        assert holder["userName"] not in await names(users, cmp("userName", "ne", wanted))
    assert await names(users, cmp("userName", "eq", "pad@example.co")) == []
    assert await names(users, cmp("userName", "eq", "inner@example.com")) == []


@pytest.mark.gen_test(timeout=60)  # hundreds of searches
async def test_string_filters_match_the_reference_evaluator(users: LdapUserAdapter,
                                                            people: list[dict[str, Any]]) -> None:
    values = [" ", "  ", "bob jones", "bob  jones", "Bob Jones", "bob", "jones ", " Engineer", "engineer", "e-1",
              "E-1", "e-1 ", "gina x@example.com", "x@", "Frank", "Jones", " Carol", "Dave Smith", "Dave  Smith"]
    leaves: list[Filter] = [cmp(path, op, v) for path in ("userName", "displayName", "title", "externalId",
                                                          "name.familyName", "name.givenName")
                            for op in ("eq", "ne", "co", "sw", "ew") for v in values]
    leaves += [phone(kind, op, v) for kind in ("work", "mobile") for op in ("eq", "ne", "co", "sw", "ew")
               for v in ("+1 555 0100", "+1-555-0100", "+15550100", "555 01", "555-01", "0100 ", "-", " ")]
    leaves += [Compare(AttrPath(n, None, ENTERPRISE), op, v) for n in ("department", "organization")
               for op in ("eq", "sw") for v in ("R D", "R  D", "Org", " Org")]
    bob = people[0]
    combined: list[Filter] = [
        Or(cmp("title", "eq", "engineer"), cmp("active", "eq", False)),
        Or(cmp("displayName", "eq", "x"), cmp("meta.created", "gt", "2000-01-01T00:00:00Z")),
        Or(cmp("displayName", "eq", "Frank"), cmp("id", "eq", bob["id"])),
        Not(Or(cmp("displayName", "co", " "), cmp("meta.lastModified", "lt", "2000-01-01T00:00:00Z"))),
        And(Not(cmp("displayName", "co", " ")), Present(AttrPath("title"))),
        Or(cmp("externalId", "eq", "e-1"), cmp("title", "eq", "x")),
        Not(cmp("externalId", "eq", "e-1")),
        Not(phone("work", "eq", "+15550100")),
        Or(Present(AttrPath("active")), cmp("displayName", "eq", "x")),
    ]
    assert await mismatches(users, leaves + [Not(leaf) for leaf in leaves] + combined) == []


@pytest.mark.gen_test
async def test_a_plain_user_name_eq_stays_one_indexed_lookup(adapter: LdapAdapter, users: LdapUserAdapter,
                                                             people: list[dict[str, Any]]) -> None:
    for node in (cmp("userName", "eq", "bob@example.com"), cmp("userName", "eq", "BOB@Example.com")):
        assert adapter.translator.translate(node).text == f"(mail={node.value})"
        assert await names(users, node) == ["bob@example.com"]
    assert adapter.translator.translate(cmp("externalId", "eq", "e-1")).text == "(employeeType=e-1)"
    assert await names(users, cmp("userName", "eq", "nobody@example.com")) == []


def test_ordering_on_a_rule_that_ignores_spaces_is_decided_on_the_value() -> None:
    ordered = LdapAttributeType("title", "caseIgnoreMatch", "caseIgnoreSubstringsMatch", "caseIgnoreOrderingMatch",
                                DIRECTORY_STRING)
    translated = FilterTranslator(AttributeMap(), {"title": ordered}, SCHEMA).translate(cmp("title", "gt", "b"))
    assert translated.text == "(title=*)"  # " z" sorts before "b" as text, after it in the directory
    assert [translated.matches({"title": t}) for t in (" z", "B", "c", "Ba")] == [False, False, True, True]


# -- 3. the sn placeholder ---------------------------------------------------------------------

@pytest.mark.gen_test
async def test_family_name_filters_do_not_see_the_sn_placeholder(users: LdapUserAdapter,
                                                                 people: list[dict[str, Any]]) -> None:
    real = ["bob@example.com", "dave@example.com"]
    assert await names(users, Present(AttrPath("name", "familyName"))) == real
    assert await names(users, Not(Present(AttrPath("name", "familyName")))) == [n for n in ALL if n not in real]
    assert await names(users, cmp("name.familyName", "eq", None)) == [n for n in ALL if n not in real]
    assert await names(users, cmp("name.familyName", "eq", "gina x@example.com")) == []
    assert await names(users, cmp("name.familyName", "eq", "Frank")) == []
    assert await names(users, cmp("name.familyName", "co", "")) == real
    assert await names(users, cmp("name.familyName", "ne", "Frank")) == ALL
    assert await names(users, Or(cmp("name.familyName", "sw", "f"), cmp("name.familyName", "eq", "jones"))) == \
        ["bob@example.com"]
