"""Contract checks of tenant isolation, part of every run: each tenant (a Vizmo location, one
SCIM Tenant URL) is a separate SCIM service provider (RFC 7644 §6), so nothing of one tenant is
visible or writable through another's adapter, and ``userName`` is unique per tenant.

The second tenant is the ``other_tenant`` fixture, else one ``Adapter.tenants()`` lists; with
neither every check here fails with the fixture to add (:meth:`ContractSession.other_users`).
Filtered look-ups are checked too: Entra ID and Okta find a user by ``userName eq`` and
``externalId eq`` before writing to it, and a shared index across tenants answers those with
another tenant's user; so are sorted and paged lists and the other operators, each often a
statement of its own (a sorted one that lost its tenant condition listed every tenant's users).
"""

from __future__ import annotations

import pytest

from adapters.errors import NotFound
from adapters.query import AttrPath, Compare, Filter, Present, SortSpec
from adapters.testkit.checks_modify import setting
from adapters.testkit.resources import full_user
from adapters.testkit.session import ContractRunner, ContractSession

__all__ = ["TenantChecks"]


def _eq(attr: str, value: str) -> Filter:
    return Compare(AttrPath(attr), "eq", value)


class TenantChecks:
    """Isolation of tenants: reads, writes, PATCH, filtered look-ups and uniqueness."""

    def test_tenants_are_isolated(self, contract: ContractRunner) -> None:
        """A resource of one tenant is invisible to and unwritable through another tenant's
        adapter, and userName uniqueness is per tenant."""
        async def check(s: ContractSession) -> None:
            other = await s.other_users()
            mine = await s.users.create(full_user("shared@example.com"))
            with pytest.raises(NotFound):
                await other.get(mine["id"])
            with pytest.raises(NotFound):
                await other.replace(mine["id"], full_user("shared@example.com", title="Hijack"))
            with pytest.raises(NotFound):
                await other.delete(mine["id"])
            assert await s.all_resources(users=other) == []
            theirs = await other.create(full_user("SHARED@example.com", title="Elsewhere"))
            assert theirs["id"] != mine["id"]
            assert await s.users.get(mine["id"]) == mine
            with pytest.raises(NotFound):
                await s.users.get(theirs["id"])
            assert [r["id"] for r in await s.all_resources()] == [mine["id"]]
            await other.delete(theirs["id"])
            assert await s.users.get(mine["id"]) == mine
        contract.run(check)

    def test_modify_stays_in_its_tenant(self, contract: ContractRunner) -> None:
        """A PATCH through another tenant's adapter of this tenant's id is ``NotFound`` and
        changes nothing; renaming (PATCH or PUT) onto a userName only another tenant holds
        succeeds."""
        async def check(s: ContractSession) -> None:
            other = await s.other_users()
            mine = await s.users.create(full_user("patch.me@example.com"))
            with pytest.raises(NotFound):
                await other.modify(mine["id"], setting(active=False))
            assert await s.users.get(mine["id"]) == mine, "another tenant's PATCH changed this tenant's user"
            theirs = await other.create(full_user("theirs@example.com"))
            replaced = await other.replace(theirs["id"], full_user("PATCH.ME@example.com"))
            assert replaced["userName"] == "PATCH.ME@example.com"
            await other.modify(theirs["id"], setting(userName="theirs@example.com"))
            renamed = await other.modify(theirs["id"], setting(userName="patch.me@EXAMPLE.com"))
            assert renamed["userName"] == "patch.me@EXAMPLE.com"
            assert await s.users.get(mine["id"]) == mine
        contract.run(check)

    def test_filtered_search_stays_in_its_tenant(self, contract: ContractRunner) -> None:
        """``userName eq`` (in any case), ``externalId eq`` and ``id eq`` find only the tenant's
        own users, also when another tenant holds the same userName and externalId."""
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            other = await s.other_users()
            mine = await s.users.create(full_user("Lookup@example.com", external_id="ext-Lookup"))
            probes = (_eq("userName", "Lookup@example.com"), _eq("userName", "lookup@EXAMPLE.com"),
                      _eq("externalId", "ext-Lookup"), _eq("id", mine["id"]))
            for probe in probes:
                assert await s.user_names(probe, users=other) == set(), (
                    f"another tenant's search {probe!r} found this tenant's user")
            theirs = await other.create(full_user("LOOKUP@example.com", external_id="ext-Lookup"))
            for users, own, foreign in ((s.users, mine, theirs), (other, theirs, mine)):
                for probe in (*probes[:3], _eq("id", own["id"])):
                    found = [r["id"] for r in await s.all_resources(probe, users=users)]
                    assert found == [own["id"]], f"{probe!r} found {found}, not only {own['id']}"
                assert await s.all_resources(_eq("id", foreign["id"]), users=users) == []
        contract.run(check)

    def test_sorted_paged_and_other_searches_stay_in_their_tenant(self, contract: ContractRunner) -> None:
        """Every form of search sees only the tenant's own users: unfiltered, a page of one,
        sorted each way (an adapter whose sorted statement dropped its tenant condition passed the
        kit: an integrator review), and ``pr``, ``co``, ``sw``, ``ne`` where declared."""
        async def check(s: ContractSession) -> None:
            other = await s.other_users()
            mine = {(await s.users.create(full_user(f"sorted.{n}@example.com")))["id"] for n in (1, 2)}
            theirs = {(await other.create(full_user("sorted.3@example.com")))["id"]}
            name = AttrPath("userName")
            probes: list[Filter | None] = [None]
            probes += [Present(name)] if "pr" in s.caps.filter_ops else []
            probes += [Compare(name, op, value) for op, value in (("co", "@example"), ("sw", "sorted."),
                                                                 ("ne", "nobody@example.com"))
                       if op in s.caps.filter_ops]
            sorts: list[SortSpec | None] = [None]
            sorts += [SortSpec(name), SortSpec(name, descending=True)] if s.caps.sort else []
            for users, own in ((s.users, mine), (other, theirs)):
                for probe in probes:
                    for sort in sorts:
                        found = {r["id"] for r in await s.all_resources(probe, sort=sort, users=users)}
                        assert found == own, f"search {probe!r} sorted {sort!r} found {found}, not only {own}"
                    first = await s.search(probe, sort=sorts[-1], count=1, users=users)
                    assert first.total_results == len(own), (
                        f"a page of one of {probe!r} counted {first.total_results} users, not {len(own)}")
        contract.run(check)
