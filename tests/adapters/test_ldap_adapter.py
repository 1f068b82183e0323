"""The LDAP adapter on a real slapd: CRUD, entry layout, filters and escaping, uniqueness races,
disable/delete policies, options and secrets (see adapters/ldap/*.py for the rules tested)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from adapters.errors import AlreadyExists, Contention, InvalidValue, NotFound, TooMany, Unavailable, \
    UnsupportedFilter, VersionMismatch
from adapters.ldap.adapter import LdapAdapter, LdapUserAdapter
from adapters.ldap.client import ldap3
from adapters.query import And, AttrPath, Compare, Filter, ListQuery, Not, Or, Present, SortSpec, ValuePath
from adapters.versions import ExpectedVersion
from tests.ldap_server import ROOT_DN, SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user(user_name: str, /, **extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "userName": user_name, "active": True, **extra}


def eq(attr: str, value: Any, sub: str | None = None, urn: str | None = None) -> Compare:
    return Compare(AttrPath(attr, sub, urn), "eq", value)


@pytest.fixture
def admin(slapd_server: SlapdServer) -> Iterator[Any]:  # noqa: F811
    """A root connection: the directory as another tool (or an administrator) sees it."""
    conn = slapd_server.connect()
    yield conn
    conn.unbind()


def make(slapd_server: SlapdServer, base: str, io_loop: Any, **options: Any) -> LdapAdapter:  # noqa: F811
    adapter = LdapAdapter.from_options(slapd_server.options(base, **options))
    io_loop.run_sync(adapter.start)
    return adapter


@pytest.fixture
def adapter(slapd_server: SlapdServer, ldap_base: str, io_loop: Any) -> Iterator[LdapAdapter]:  # noqa: F811
    started = make(slapd_server, ldap_base, io_loop)
    yield started
    io_loop.run_sync(started.stop)


@pytest.fixture
def users(adapter: LdapAdapter) -> LdapUserAdapter:
    found = adapter.resource_adapter("User", "1")
    assert isinstance(found, LdapUserAdapter)
    return found


def entries(admin: Any, base: str, ldap_filter: str = "(objectClass=inetOrgPerson)") -> list[Any]:
    admin.search(base, ldap_filter, ldap3.SUBTREE, attributes=["*", "entryUUID"])
    return list(admin.entries)


async def names(users: LdapUserAdapter, node: Filter | None, **kwargs: Any) -> list[str]:
    page = await users.search(ListQuery(filter=node, count=200, **kwargs))
    assert page.total_results == len(page.resources)
    return [r["userName"] for r in page.resources]


# -- CRUD and the entry layout ---------------------------------------------------------------

@pytest.mark.gen_test
async def test_create_round_trips_and_lays_out_the_entry(users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    sent = user("Ana@Contoso.com", externalId="ext-1", displayName="Ana Lima", title="Engineer",
                nickName="ana", preferredLanguage="pt-BR", password="s3cret!",
                name={"givenName": "Ana", "familyName": "Lima", "middleName": "M"},
                emails=[{"type": "work", "value": "ana@contoso.com", "primary": True}],
                phoneNumbers=[{"type": "work", "value": "+1 555 0100", "primary": True},
                              {"type": "mobile", "value": "+1 555 0101"}, {"type": "fax", "value": "+1 555 0102"}],
                addresses=[{"type": "work", "locality": "Pune"}],
                **{ENTERPRISE: {"department": "R&D", "employeeNumber": "E-7", "costCenter": "CC1",
                                "manager": {"value": "boss-id"}}})
    created = await users.create(sent)
    assert created == await users.get(created["id"])
    expected = {k: v for k, v in sent.items() if k != "password"}
    expected["schemas"] = [CORE, ENTERPRISE]
    assert {k: v for k, v in created.items() if k not in ("id", "meta")} == expected
    assert created["meta"]["version"].startswith('W/"') and created["meta"]["created"].endswith("Z")
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.entry_dn.startswith("uid=scim-") and entry.entry_dn.endswith(f",ou=1,{ldap_base}")
    assert entry.entryUUID.value == created["id"]
    assert (entry.mail.value, entry.givenName.value, entry.sn.value, entry.cn.value) == \
        ("Ana@Contoso.com", "Ana", "Lima", "Ana Lima")
    assert (entry.telephoneNumber.value, entry.mobile.value, entry.employeeType.value) == \
        ("+1 555 0100", "+1 555 0101", "ext-1")
    assert (entry.departmentNumber.value, entry.employeeNumber.value, entry.title.value) == ("R&D", "E-7", "Engineer")
    assert "shadowExpire" not in entry.entry_attributes
    [blob] = entry.description.values
    assert blob.startswith("vizmo-scim:") and "s3cret" not in blob and "+1 555 0100" not in blob


@pytest.mark.gen_test
async def test_required_cn_and_sn_are_derived_and_read_back_as_absent(users: LdapUserAdapter, admin: Any,
                                                                      ldap_base: str) -> None:  # noqa: F811
    created = await users.create(user("bare@contoso.com"))
    assert "name" not in created and "displayName" not in created
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.cn.value == entry.sn.value == "bare@contoso.com"
    admin.modify(entry.entry_dn, {"sn": [(ldap3.MODIFY_REPLACE, ["Real"])], "cn": [(ldap3.MODIFY_REPLACE, ["Kept"])]})
    fetched = await users.get(created["id"])
    assert fetched["name"] == {"familyName": "Real"} and fetched["meta"]["version"] != created["meta"]["version"]
    await users.replace(created["id"], user("bare@contoso.com", displayName="Bare"))
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.cn.value == "Kept"  # an administrator's cn is not the gateway's to change
    assert entry.sn.value == "Bare"  # sn is mapped (familyName, now absent): derived again


@pytest.mark.gen_test
async def test_replace_clears_renames_and_frees_the_old_name(users: LdapUserAdapter, admin: Any,
                                                            ldap_base: str) -> None:  # noqa: F811
    created = await users.create(user("old@contoso.com", title="Boss", nickName="o",
                                      phoneNumbers=[{"type": "work", "value": "+1 1"}]))
    old_dn = entries(admin, f"ou=1,{ldap_base}")[0].entry_dn
    replaced = await users.replace(created["id"], user("New@contoso.com", displayName="N"),
                                   expected_version=ExpectedVersion.exactly(created["meta"]["version"]))
    assert replaced["id"] == created["id"] and replaced["userName"] == "New@contoso.com"
    assert "title" not in replaced and "nickName" not in replaced and "phoneNumbers" not in replaced
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.entry_dn != old_dn and "title" not in entry.entry_attributes
    assert (await users.create(user("old@contoso.com")))["id"] != created["id"]
    with pytest.raises(AlreadyExists):
        await users.replace(created["id"], user("OLD@contoso.com"))
    with pytest.raises(NotFound):
        await users.replace("00000000-0000-0000-0000-000000000000", user("x@contoso.com"))


@pytest.mark.gen_test
async def test_versions_guard_replace_and_delete(users: LdapUserAdapter) -> None:
    created = await users.create(user("v@contoso.com"))
    stale = created["meta"]["version"]
    updated = await users.replace(created["id"], user("v@contoso.com", title="T"),
                                  expected_version=ExpectedVersion.exactly(stale))
    assert updated["meta"]["version"] != stale
    with pytest.raises(VersionMismatch):
        await users.replace(created["id"], user("v@contoso.com"), expected_version=ExpectedVersion.exactly(stale))
    with pytest.raises(VersionMismatch):
        await users.delete(created["id"], expected_version=ExpectedVersion.exactly(stale))
    await users.delete(created["id"], expected_version=ExpectedVersion.exactly(updated["meta"]["version"]))
    with pytest.raises(NotFound):
        await users.get(created["id"])


@pytest.mark.gen_test
async def test_concurrent_replaces_of_one_version_one_wins(users: LdapUserAdapter) -> None:
    created = await users.create(user("race@contoso.com"))
    version = created["meta"]["version"]
    results = await asyncio.gather(
        *(users.replace(created["id"], user("race@contoso.com", title=f"T{n}"),
                        expected_version=ExpectedVersion.exactly(version)) for n in range(6)),
        return_exceptions=True)
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1, results
    assert all(isinstance(r, VersionMismatch) for r in results if not isinstance(r, dict))
    assert (await users.get(created["id"]))["title"] == winners[0]["title"]


@pytest.mark.gen_test
async def test_concurrent_creates_of_one_user_name_exactly_one_wins(users: LdapUserAdapter) -> None:
    spellings = ["dup@contoso.com", "DUP@contoso.com", "Dup@Contoso.com", "dup@CONTOSO.COM"] * 3
    results = await asyncio.gather(*(users.create(user(n)) for n in spellings), return_exceptions=True)
    created = [r for r in results if isinstance(r, dict)]
    assert len(created) == 1, results
    assert all(isinstance(r, AlreadyExists) for r in results if not isinstance(r, dict))
    assert len(await names(users, eq("userName", "dUp@contoso.com"))) == 1


@pytest.mark.gen_test
async def test_concurrent_renames_to_one_user_name_exactly_one_wins(users: LdapUserAdapter) -> None:
    a = await users.create(user("a@contoso.com"))
    b = await users.create(user("b@contoso.com"))
    results = await asyncio.gather(users.replace(a["id"], user("c@contoso.com")),
                                   users.replace(b["id"], user("C@contoso.com")), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AlreadyExists", "dict"], results
    assert len(await names(users, eq("userName", "c@contoso.com"))) == 1


@pytest.mark.gen_test
async def test_entries_created_by_other_tools_are_users_and_keep_their_names(users: LdapUserAdapter, admin: Any,
                                                                             ldap_base: str) -> None:  # noqa: F811
    dn = f"cn=Kim Park,ou=1,{ldap_base}"
    admin.add(dn, ["inetOrgPerson"], {"cn": "Kim Park", "sn": "Park", "mail": "kim@contoso.com",
                                      "employeeType": "ext-k"})
    with pytest.raises(AlreadyExists):
        await users.create(user("KIM@contoso.com"))
    [found] = (await users.search(ListQuery(filter=eq("externalId", "ext-k")))).resources
    assert found["name"] == {"familyName": "Park"} and found["active"] is True
    updated = await users.replace(found["id"], user("kim@contoso.com", name={"givenName": "Kim"}, active=False))
    assert updated["active"] is False and updated["name"] == {"givenName": "Kim"}
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.entry_dn == dn and entry.cn.value == "Kim Park" and entry.shadowExpire.value == "1"
    assert entry.uid.value.startswith("scim-")  # shadowAccount requires uid


@pytest.mark.gen_test
async def test_a_further_mail_value_of_another_entry_is_named_in_the_conflict(
        users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    """An entry with two ``mail`` values reads as its first: a look-up of the second finds no
    user, so the 409 of a create or rename names the entry holding it."""
    admin.add(f"cn=Mo,ou=1,{ldap_base}", ["inetOrgPerson"],
              {"cn": "Mo", "sn": "Mo", "mail": ["m.primary@acme.com", "m.alias@acme.com"]})
    [holder] = (await users.search(ListQuery())).resources
    assert await names(users, eq("userName", "m.alias@acme.com")) == []
    with pytest.raises(AlreadyExists, match=f"user {holder['id']} .* holds it as a further mail value"):
        await users.create(user("M.Alias@acme.com"))
    other = await users.create(user("other@acme.com"))
    with pytest.raises(AlreadyExists, match=f"user {holder['id']} "):
        await users.replace(other["id"], user("m.alias@acme.com"))
    with pytest.raises(AlreadyExists, match="'M.PRIMARY@acme.com' is already taken in this location$"):
        await users.create(user("M.PRIMARY@acme.com"))


@pytest.mark.gen_test
async def test_a_name_held_by_a_stale_entry_is_freed(users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    first = await users.create(user("first@contoso.com"))
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    admin.modify(entry.entry_dn, {"mail": [(ldap3.MODIFY_REPLACE, ["moved@contoso.com"])]})  # another tool
    second = await users.create(user("first@contoso.com"))
    assert second["id"] != first["id"]
    assert (await users.get(first["id"]))["userName"] == "moved@contoso.com"
    with pytest.raises(AlreadyExists):
        await users.create(user("moved@contoso.com"))


# -- active and the delete policies ---------------------------------------------------------

@pytest.mark.gen_test
async def test_active_false_is_shadow_expire_and_an_expiry_date_is_kept(users: LdapUserAdapter, admin: Any,
                                                                        ldap_base: str) -> None:  # noqa: F811
    created = await users.create(user("off@contoso.com", active=False))
    [entry] = entries(admin, f"ou=1,{ldap_base}")
    assert entry.shadowExpire.value == "1" and "shadowAccount" in entry.objectClass.values
    assert await names(users, eq("active", False)) == ["off@contoso.com"]
    assert await names(users, Compare(AttrPath("active"), "ne", True)) == ["off@contoso.com"]
    on = await users.replace(created["id"], user("off@contoso.com", active=True))
    assert on["active"] is True and "shadowExpire" not in entries(admin, f"ou=1,{ldap_base}")[0].entry_attributes
    admin.modify(entry.entry_dn, {"shadowExpire": [(ldap3.MODIFY_REPLACE, ["40000"])]})
    expiring = await users.replace(created["id"], user("off@contoso.com", active=True))
    assert expiring["active"] is True and entries(admin, f"ou=1,{ldap_base}")[0].shadowExpire.value == "40000"
    assert await names(users, eq("active", True)) == ["off@contoso.com"]
    # A replace without active leaves it unassigned in SCIM (RFC 7643 §2.5), the entry's state kept.
    kept = await users.replace(created["id"], {"schemas": [CORE], "userName": "off@contoso.com", "title": "x"})
    assert "active" not in kept and entries(admin, f"ou=1,{ldap_base}")[0].shadowExpire.value == "40000"
    assert await names(users, eq("active", True)) == []
    assert await names(users, Compare(AttrPath("active"), "ne", True)) == ["off@contoso.com"]
    assert await names(users, Present(AttrPath("active"))) == []


@pytest.mark.gen_test
async def test_delete_policy_delete_removes_the_entry(users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    created = await users.create(user("gone@contoso.com"))
    await users.delete(created["id"])
    assert entries(admin, ldap_base) == []
    with pytest.raises(NotFound):
        await users.delete(created["id"])
    again = await users.create(user("gone@contoso.com"))
    assert again["id"] != created["id"]


@pytest.mark.gen_test
async def test_delete_policy_disable_keeps_a_disabled_tombstone(slapd_server: SlapdServer, ldap_base: str,  # noqa: F811
                                                                io_loop: Any, admin: Any) -> None:
    adapter = LdapAdapter.from_options(slapd_server.options(ldap_base, delete_policy="disable"))
    await adapter.start()
    try:
        users = adapter.resource_adapter("User", "1")
        created = await users.create(user("kept@contoso.com", title="T"))
        await users.delete(created["id"])
        with pytest.raises(NotFound):
            await users.get(created["id"])
        assert await names(users, None) == []
        [tomb] = entries(admin, f"ou=deprovisioned,ou=1,{ldap_base}")
        assert tomb.entryUUID.value == created["id"] and tomb.shadowExpire.value == "1" and tomb.title.value == "T"
        assert tomb.entry_dn == f"uid={created['id']},ou=deprovisioned,ou=1,{ldap_base}"
        again = await users.create(user("KEPT@contoso.com"))
        assert again["id"] != created["id"]
        await users.delete(again["id"])
        assert len(entries(admin, f"ou=deprovisioned,ou=1,{ldap_base}")) == 2
    finally:
        await adapter.stop()


# -- filters, escaping and hostile input ----------------------------------------------------

PEOPLE = [
    user("alice@example.com", externalId="ext-A", displayName="Alice (admin) *", title="Engineer",
         phoneNumbers=[{"type": "work", "value": "+1 555 0100"}], emails=[{"type": "work", "value": "a@x.test"}]),
    user("bob@example.com", externalId="ext-a", displayName="Bob \\ Backslash", title="Manager",
         phoneNumbers=[{"type": "mobile", "value": "+1 555 0200"}]),
    user("zoe@example.com", displayName="Zoë Żółć", title="engineer", active=False),
    user("uid@example.com", displayName=")(uid=*"),
]


@pytest.fixture
def people(users: LdapUserAdapter, io_loop: Any) -> list[dict[str, Any]]:
    return [io_loop.run_sync(lambda p=p: users.create(p)) for p in PEOPLE]


@pytest.mark.gen_test
@pytest.mark.parametrize(("node", "expected"), [
    (eq("userName", "ALICE@example.COM"), ["alice@example.com"]),
    (eq("userName", "*"), []),
    (Compare(AttrPath("userName"), "sw", "*"), []),
    (Compare(AttrPath("displayName"), "co", "*"), ["alice@example.com", "uid@example.com"]),
    (Compare(AttrPath("displayName"), "co", "("), ["alice@example.com", "uid@example.com"]),
    (eq("displayName", ")(uid=*"), ["uid@example.com"]),
    (Compare(AttrPath("displayName"), "ew", "*"), ["alice@example.com", "uid@example.com"]),
    (Compare(AttrPath("displayName"), "co", "\\"), ["bob@example.com"]),
    (eq("displayName", "zoë żółć"), ["zoe@example.com"]),
    (Compare(AttrPath("displayName"), "sw", "ZOË"), ["zoe@example.com"]),
    (eq("userName", "zoë@example.com"), []),  # mail is IA5: no stored value can match
    (Compare(AttrPath("userName"), "ne", "zoë@example.com"), [p["userName"] for p in PEOPLE]),
    (Not(eq("userName", "zoë@example.com")), [p["userName"] for p in PEOPLE]),
    (Compare(AttrPath("title"), "ne", "ENGINEER"), ["bob@example.com", "uid@example.com"]),
    (Present(AttrPath("title")), ["alice@example.com", "bob@example.com", "zoe@example.com"]),
    (eq("title", None), ["uid@example.com"]),
    (eq("title", ""), []),
    (Compare(AttrPath("title"), "co", ""), ["alice@example.com", "bob@example.com", "zoe@example.com"]),
    (eq("externalId", "ext-a"), ["bob@example.com"]),  # caseExact, although employeeType is caseIgnoreMatch
    (eq("externalId", "EXT-A"), []),
    (Compare(AttrPath("externalId"), "ne", "ext-a"), ["alice@example.com", "zoe@example.com", "uid@example.com"]),
    (And(Compare(AttrPath("externalId"), "sw", "ext-"), eq("title", "engineer")), ["alice@example.com"]),
    # decided exactly on the users read, under or/not too (see adapters/ldap/filters.py)
    (Or(eq("externalId", "ext-a"), eq("title", "x")), ["bob@example.com"]),
    (Not(eq("externalId", "ext-a")), ["alice@example.com", "zoe@example.com", "uid@example.com"]),
    (Or(eq("title", "manager"), eq("active", False)), ["bob@example.com", "zoe@example.com"]),
    (ValuePath(AttrPath("phoneNumbers"), And(eq("type", "WORK"), eq("value", "+1 555 0100"))), ["alice@example.com"]),
    (ValuePath(AttrPath("phoneNumbers"), eq("type", "mobile")), ["bob@example.com"]),
    # what LDAP does not hold (the JSON extras) is decided on every user read
    (eq("nickName", "ana"), []),
    (ValuePath(AttrPath("emails"), eq("value", "A@X.test")), ["alice@example.com"]),
    (ValuePath(AttrPath("emails"), And(eq("type", "work"), eq("value", "a@x.test"))), ["alice@example.com"]),
    (eq("emails", "a@x.test", "value"), ["alice@example.com"]),
    (Not(ValuePath(AttrPath("emails"), eq("type", "work"))), ["bob@example.com", "zoe@example.com", "uid@example.com"]),
    (ValuePath(AttrPath("phoneNumbers"), eq("type", "fax")), []),
    (ValuePath(AttrPath("phoneNumbers"), And(eq("type", "work"), eq("primary", True))), []),
    (And(eq("title", "engineer"), Present(AttrPath("emails"))), ["alice@example.com"]),
    (eq("name", "Zoë", "givenName"), []),
    (eq("userName", "bob@example.com", urn=CORE), ["bob@example.com"]),
])
async def test_filters(users: LdapUserAdapter, people: list[dict[str, Any]], node: Filter, expected: list[str]) -> None:
    assert sorted(await names(users, node)) == sorted(expected)


@pytest.mark.gen_test
async def test_id_and_timestamp_filters(users: LdapUserAdapter, people: list[dict[str, Any]]) -> None:
    target = people[1]
    assert await names(users, eq("id", target["id"])) == [target["userName"]]
    assert await names(users, eq("id", target["id"].upper())) == []
    assert await names(users, eq("id", "*")) == []
    assert len(await names(users, Compare(AttrPath("id"), "ne", target["id"]))) == len(PEOPLE) - 1
    created = target["meta"]["created"]
    on_or_after = await names(users, Compare(AttrPath("meta", "created"), "ge", created))
    assert target["userName"] in on_or_after
    assert await names(users, Compare(AttrPath("meta", "lastModified"), "gt", "2999-01-01T00:00:00+05:30")) == []
    assert len(await names(users, Compare(AttrPath("meta", "created"), "lt", "2999-01-01T00:00:00.5Z"))) == len(PEOPLE)


@pytest.mark.gen_test
@pytest.mark.parametrize("node", [
    eq("userName", "a\x00b"),
    Compare(AttrPath("displayName"), "co", "\x00"),
    Compare(AttrPath("userName"), "gt", "a"),  # mail has no ORDERING rule
    Compare(AttrPath("externalId"), "gt", "a"),
    eq("meta", 'W/"x"', "version"),
    eq("active", "true"),
    Compare(AttrPath("meta", "created"), "co", "2024"),
    Compare(AttrPath("meta", "created"), "eq", "yesterday"),
    eq("displayName", "\ud800"),
    eq("noSuchAttribute", "x"),
])
async def test_what_ldap_cannot_express_is_unsupported(users: LdapUserAdapter, node: Filter) -> None:
    with pytest.raises(UnsupportedFilter):
        await users.search(ListQuery(filter=node))


@pytest.mark.gen_test
async def test_sorting_and_paging(users: LdapUserAdapter, people: list[dict[str, Any]]) -> None:
    by_display = SortSpec(AttrPath("displayName"))
    assert await names(users, None, sort=by_display) == \
        ["uid@example.com", "alice@example.com", "bob@example.com", "zoe@example.com"]
    descending = await names(users, None, sort=SortSpec(AttrPath("externalId"), descending=True))
    assert set(descending[:2]) == {"zoe@example.com", "uid@example.com"}  # no value: first when descending
    assert descending[2:] == ["bob@example.com", "alice@example.com"]  # caseExact: "ext-a" > "ext-A"
    page = await users.search(ListQuery(sort=by_display, start_index=2, count=2))
    assert [r["userName"] for r in page.resources] == ["alice@example.com", "bob@example.com"]
    assert page.total_results == len(PEOPLE)
    walked = [r["id"] for start in (1, 3) for r in (await users.search(ListQuery(start_index=start, count=2))).resources]
    assert sorted(walked) == sorted(p["id"] for p in people)
    with pytest.raises(InvalidValue):  # a sortBy the adapter cannot make (adapters/ldap/sorting.py)
        await users.search(ListQuery(sort=SortSpec(AttrPath("name"))))


def test_only_units_named_by_a_location_id_are_tenants(slapd_server: SlapdServer, io_loop: Any) -> None:  # noqa: F811
    """Units named by words (or ``01``) were listed on the Integrations page, and no state store
    could enable them (adapters/location_ids.py): they are not tenants."""
    base = slapd_server.new_base(("10", "2", "hq", "01", "deprovisioned"))
    adapter = make(slapd_server, base, io_loop)
    try:
        assert [t.id for t in io_loop.run_sync(adapter.tenants)] == ["2", "10"]
        assert not io_loop.run_sync(lambda: adapter.tenant_exists("hq"))
        assert not io_loop.run_sync(lambda: adapter.tenant_exists("01"))
        with pytest.raises(NotFound):
            adapter.resource_adapter("User", "hq")
    finally:
        io_loop.run_sync(adapter.stop)


@pytest.mark.gen_test
async def test_tenants_are_organisational_units(adapter: LdapAdapter, users: LdapUserAdapter) -> None:
    assert await adapter.tenant_exists("1") and await adapter.tenant_exists("2")
    assert not await adapter.tenant_exists("3")
    assert not await adapter.tenant_exists("1,ou=x") and not await adapter.tenant_exists("*")
    mine = await users.create(user("same@contoso.com"))
    other = adapter.resource_adapter("User", "2")
    theirs = await other.create(user("same@contoso.com"))
    assert theirs["id"] != mine["id"]
    with pytest.raises(NotFound):
        await other.get(mine["id"])
    with pytest.raises(NotFound):
        await other.delete(mine["id"])
    assert [r["id"] for r in (await other.search(ListQuery())).resources] == [theirs["id"]]
    with pytest.raises(NotFound):
        await adapter.resource_adapter("User", "3").search(ListQuery())
    with pytest.raises(NotFound):
        adapter.resource_adapter("Group", "1")


@pytest.mark.gen_test
async def test_values_the_directory_refuses_are_invalid(users: LdapUserAdapter) -> None:
    with pytest.raises(InvalidValue, match="userName"):
        await users.create(user("zoë@example.com"))  # mail is IA5String
    with pytest.raises(InvalidValue, match="NUL"):
        await users.create(user("n@example.com", title="a\x00b"))
    assert await names(users, None) == []
    with pytest.raises(NotFound):
        await users.get("not-a-uuid")


@pytest.mark.gen_test
async def test_a_phone_number_ldap_cannot_hold_is_kept_as_json_and_blocks_nothing(
        users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    """telephoneNumber is a printable string: ``#``, ``;ext=`` and ``☎`` do not fit it. The value
    is kept with the JSON extras, so the write (Entra's PATCH disabling the user) goes through."""
    phones = [{"type": "work", "value": "+1 425 555 0100 #123", "primary": True},
              {"type": "mobile", "value": "+1 425 555 0199"}]
    created = await users.create(user("p@example.com", title="Lead", phoneNumbers=phones))
    assert created["phoneNumbers"] == phones
    [entry] = entries(admin, ldap_base, "(mail=p@example.com)")
    assert "telephoneNumber" not in entry.entry_attributes and entry.mobile.value == "+1 425 555 0199"
    disabled = await users.replace(created["id"], {**created, "active": False, "phoneNumbers": [
        {"type": "work", "value": "+1 425 555 0100;ext=7"}, {"type": "mobile", "value": "☎ 0199"}]})
    assert disabled["active"] is False
    assert disabled["phoneNumbers"] == [{"type": "work", "value": "+1 425 555 0100;ext=7"},
                                        {"type": "mobile", "value": "☎ 0199"}]
    assert await users.get(created["id"]) == disabled
    fixed = await users.replace(created["id"], {**disabled, "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}]})
    assert fixed["phoneNumbers"] == [{"type": "work", "value": "+1 425 555 0100"}]
    [entry] = entries(admin, ldap_base, "(mail=p@example.com)")
    assert entry.telephoneNumber.value == "+1 425 555 0100" and "mobile" not in entry.entry_attributes


@pytest.mark.gen_test
async def test_a_list_reads_at_most_max_scan_entries(slapd_server: SlapdServer, ldap_base: str,  # noqa: F811
                                                     io_loop: Any) -> None:
    adapter = LdapAdapter.from_options(slapd_server.options(ldap_base, max_scan=3))
    await adapter.start()
    try:
        users = adapter.resource_adapter("User", "1")
        for n in range(4):
            await users.create(user(f"u{n}@contoso.com"))
        with pytest.raises(TooMany):
            await users.search(ListQuery())
        assert len((await users.search(ListQuery(filter=eq("userName", "u1@contoso.com")))).resources) == 1
    finally:
        await adapter.stop()


@pytest.mark.gen_test(timeout=120)
async def test_a_search_the_servers_size_limit_cut_is_refused_not_answered_short(
        slapd_server: SlapdServer, ldap_base: str, admin: Any, tmp_path: Any) -> None:  # noqa: F811
    """A bind DN other than the root meets the server's size limit (500 here, OpenLDAP's default)
    on a paged search's total too: ldap3 reports it without raising, and a list of 510 users was
    answered as 500, totalResults included (an LDAP review)."""
    for n in range(510):
        admin.add(f"cn=p{n},ou=2,{ldap_base}", ["inetOrgPerson"], {"cn": f"p{n}", "sn": "P", "mail": f"p{n}@acme.com"})
    reader = f"cn=reader,{ldap_base}"
    admin.add(reader, ["organizationalRole", "simpleSecurityObject"], {"cn": "reader", "userPassword": "reader-pw-123"})
    password = tmp_path / "reader.pw"
    password.write_text("reader-pw-123\n", encoding="utf-8")
    password.chmod(0o600)
    adapter = LdapAdapter.from_options({**slapd_server.options(ldap_base), "bind_dn": reader,
                                        "bind_password_file": str(password)})
    await adapter.start()
    try:
        users = adapter.resource_adapter("User", "2")
        with pytest.raises(TooMany, match="size limit .* stopped this search at 500 entries"):
            await users.search(ListQuery(count=100))
        assert await names(users, eq("userName", "p7@acme.com")) == ["p7@acme.com"]  # a narrow search still answers
    finally:
        await adapter.stop()


# -- options, secrets and start-up ----------------------------------------------------------

def test_options_schema_rejects_inline_secrets_and_bad_maps(slapd_server: SlapdServer) -> None:  # noqa: F811
    validator = Draft202012Validator(dict(LdapAdapter.options_schema))
    good = slapd_server.options("ou=locations,dc=vizmo,dc=test")
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "bind_password": "inline"}))
    assert list(validator.iter_errors({**good, "bind_password_env": "PW"}))  # both sources
    assert list(validator.iter_errors({k: v for k, v in good.items() if k != "bind_password_file"}))
    assert list(validator.iter_errors({**good, "url": "http://x"}))
    assert list(validator.iter_errors({**good, "attribute_map": {"emails": "mail"}}))
    assert list(validator.iter_errors({**good, "attribute_map": {"title": "bad attr"}}))
    assert not list(validator.iter_errors({**good, "attribute_map": {"title": None, "emails.home": "homeEmail"}}))
    for bad in ({"userName": None}, {"title": "mail"}, {"title": "description"}, {"title": "UID"}):
        with pytest.raises(ValueError):
            LdapAdapter.from_options({**good, "attribute_map": bad})


@pytest.mark.gen_test
async def test_password_from_the_environment_and_start_failures(slapd_server: SlapdServer, ldap_base: str,  # noqa: F811
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    options = {k: v for k, v in slapd_server.options(ldap_base).items() if k != "bind_password_file"}
    options["bind_password_env"] = "VIZMO_TEST_LDAP_PASSWORD"
    monkeypatch.delenv("VIZMO_TEST_LDAP_PASSWORD", raising=False)
    with pytest.raises(Unavailable, match="VIZMO_TEST_LDAP_PASSWORD"):
        await LdapAdapter.from_options(options).start()
    monkeypatch.setenv("VIZMO_TEST_LDAP_PASSWORD", "wrong")
    with pytest.raises(Unavailable) as refused:
        await LdapAdapter.from_options(options).start()
    assert "wrong" not in str(refused.value)
    monkeypatch.setenv("VIZMO_TEST_LDAP_PASSWORD", slapd_server.password)
    adapter = LdapAdapter.from_options(options)
    await adapter.start()
    await adapter.check_health()
    assert adapter.state_store() is None  # the gateway keeps its state in its data directory
    await adapter.stop()
    for broken, message in (({"base_dn": "ou=missing,dc=vizmo,dc=test"}, "base DN"),
                            ({"attribute_map": {"title": "homeDirectory"}}, "homeDirectory"),
                            ({"attribute_map": {"title": "noSuchAttr"}}, "noSuchAttr")):
        with pytest.raises(Unavailable, match=message):
            await LdapAdapter.from_options({**options, **broken}).start()


@pytest.mark.gen_test
async def test_an_unreachable_server_is_unavailable(slapd_server: SlapdServer) -> None:  # noqa: F811
    from tests.ldap_server import _free_port

    options = {**slapd_server.options("dc=vizmo,dc=test"), "url": f"ldap://127.0.0.1:{_free_port()}", "timeout": 2}
    with pytest.raises(Unavailable):
        await LdapAdapter.from_options(options).start()


@pytest.mark.gen_test
async def test_operations_never_run_on_the_event_loop_thread(users: LdapUserAdapter, adapter: LdapAdapter) -> None:
    import threading

    loop_thread = threading.get_ident()
    seen: list[int] = []
    await adapter.client.run(lambda conn: seen.append(threading.get_ident()))
    assert seen and seen[0] != loop_thread
    assert ROOT_DN  # the tests bind as the root DN of the throwaway server


def _raw(admin: Any, dn: str) -> dict[str, list[str]]:
    admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["mail", "sn", "telephoneNumber", "title"])
    return {name: list(admin.entries[0][name].values) for name in ("mail", "sn", "telephoneNumber", "title")}


@pytest.mark.gen_test
async def test_values_scim_does_not_show_are_kept_by_its_writes(users: LdapUserAdapter, admin: Any,
                                                                ldap_base: str) -> None:  # noqa: F811
    """SCIM shows the first value of a mapped attribute; the further ones are another tool's. Any
    PATCH deleted them (an alias in mail, a second sn and telephoneNumber; an LDAP review)."""
    dn = f"cn=Ann Lee,ou=1,{ldap_base}"
    admin.add(dn, ["inetOrgPerson"], {"cn": "Ann Lee", "sn": ["Lee", "Lee-Smith"], "mail": ["ann@acme.com",
              "a.lee@acme.com"], "telephoneNumber": ["+1 555 0100", "+1 555 0101"]})
    [found] = (await users.search(ListQuery(filter=eq("userName", "ann@acme.com")))).resources
    await users.modify(found["id"], lambda current: {**current, "title": "Engineer"})
    assert _raw(admin, dn) == {"mail": ["ann@acme.com", "a.lee@acme.com"], "sn": ["Lee", "Lee-Smith"],
                               "telephoneNumber": ["+1 555 0100", "+1 555 0101"], "title": ["Engineer"]}
    renamed = await users.modify(found["id"], lambda current: {**current, "userName": "ann.lee@acme.com",
                                                                "name": {"familyName": "Lee-Jones"}})
    assert renamed["userName"] == "ann.lee@acme.com" and renamed["name"]["familyName"] == "Lee-Jones"
    stored = _raw(admin, dn)
    assert stored["mail"] == ["ann.lee@acme.com", "a.lee@acme.com"] and stored["sn"] == ["Lee-Jones", "Lee-Smith"]


@pytest.mark.gen_test
async def test_a_change_of_the_value_naming_an_entry_is_a_400_and_a_delete_below_which_a_tool_put_entries_a_409(
        users: LdapUserAdapter, admin: Any, ldap_base: str) -> None:  # noqa: F811
    """OpenLDAP refuses both (namingViolation, notAllowedOnNonLeaf): they were 500s with a trace."""
    admin.add(f"sn=Frost,ou=1,{ldap_base}", ["inetOrgPerson"], {"cn": "Jo Frost", "sn": "Frost", "mail": "jo@acme.com"})
    [jo] = (await users.search(ListQuery(filter=eq("userName", "jo@acme.com")))).resources
    with pytest.raises(InvalidValue, match="names the entry in the directory"):
        await users.modify(jo["id"], lambda current: {**current, "name": {"familyName": "Snow"}})
    admin.add(f"cn=Ivy,ou=1,{ldap_base}", ["inetOrgPerson"], {"cn": "Ivy", "sn": "Ivy", "mail": "ivy@acme.com"})
    admin.add(f"cn=laptop,cn=Ivy,ou=1,{ldap_base}", ["device"], {"cn": "laptop"})
    [ivy] = (await users.search(ListQuery(filter=eq("userName", "ivy@acme.com")))).resources
    with pytest.raises(Contention, match="has entries below it"):
        await users.delete(ivy["id"])
    assert (await users.get(ivy["id"]))["userName"] == "ivy@acme.com"


@pytest.mark.gen_test
async def test_a_look_up_in_compatibility_characters_finds_nobody(users: LdapUserAdapter) -> None:
    """The look-up of a userName the directory keeps with stray white space reads the entry named
    after the NFKC form, so ``ｕｓｅｒ003`` (fullwidth) found ``user003``: Entra ID would have adopted
    an unrelated employee (a differential filter review). Case (Unicode's folding: ``uſer003``, a
    long s) and white space still make one user, as README says."""
    await users.create(user("user003@vizmo.test"))
    page = await users.search(ListQuery(filter=Compare(AttrPath("userName"), "eq", "ｕｓｅｒ003@vizmo.test")))
    assert page.total_results == 0
    for sent in (" USER003@vizmo.test ", "uſer003@vizmo.test"):
        page = await users.search(ListQuery(filter=Compare(AttrPath("userName"), "eq", sent)))
        assert page.total_results == 1, sent
