"""The conformance kit fails adapters with the bugs that break Entra ID / Okta provisioning, and
passes adapters that are unusual but correct.

Variants of the in-memory example adapter run through the kit in a nested pytest session
(``pytester``), as in test_testkit_catches_bugs.py: tenant leaks through a shared ``userName``
index or through PATCH (``modify``), PATCH that keeps the version, skips uniqueness or checks
``If-Match`` wrongly, stale look-ups after a rename or a (soft) delete, dropped attributes, plugin
``capabilities`` that differ from the User adapter's, a contract that names no second tenant, and
(an integrator review) a ``meta.version`` that is no entity tag, a sorted list across tenants, an
``externalId`` index left on the old value, a case-sensitive sort and a ``tenant_exists`` that
is always true.
Each must fail exactly the checks covering its bug; the correct ones (capped pages, public
synchronous helpers, a transactional ``modify``) must pass every check.
"""

from __future__ import annotations

import pytest

from tests.adapters.testkit_variants import failed_checks

pytest_plugins = ["pytester"]

VARIANTS = '''
import copy
import dataclasses

import pytest

from adapters.base import Adapter, Capabilities
from adapters.errors import AlreadyExists, NotFound, VersionMismatch
from adapters.examples.memory import MemoryAdapter, MemoryUserAdapter, _now
from adapters.in_memory import search_in_memory
from adapters.query import AttrPath, Compare, Page
from adapters.testkit import AdapterContract
from tests.adapters.testkit_variants import contract_for


def _user_name_eq(query):
    f = query.filter
    return isinstance(f, Compare) and f.op == "eq" and f.path == AttrPath("userName") and isinstance(f.value, str)


class TenantLeakOnUserNameEq(MemoryUserAdapter):
    """A `userName eq` fast path on a deployment-wide index: finds the users of every tenant."""
    async def search(self, query):
        if _user_name_eq(query):
            hits = [u for t in self._every_tenant.values() for u in t.by_id.values()
                    if u["userName"].casefold() == query.filter.value.casefold()]
            page = search_in_memory(query, hits)
            return Page(copy.deepcopy(page.resources), page.total_results)
        return await super().search(query)


class TransactionalModify(MemoryUserAdapter):
    """Correct: overrides modify to read, check the version and write once (README step 4)."""
    bump_version = check_unique = True
    check_version = "first"  # "first", "raw" (W/ kept, compared with the opaque tags) or "on-change"

    async def modify(self, id, change, *, expected_version=None, journal=None):
        current = self._current(id, None)
        version = current["meta"]["version"]
        if expected_version is not None and (
                (self.check_version == "first" and not expected_version.matches(version))
                or (self.check_version == "raw" and version not in expected_version.tags)):
            raise VersionMismatch(f"{id} is at {version}")
        changed = change(copy.deepcopy(current))
        if changed is None:
            return copy.deepcopy(current)
        if self.check_version == "on-change" and expected_version is not None and not expected_version.matches(version):
            raise VersionMismatch(f"{id} is at {version}")
        old_key, new_key = self._name_key(current["userName"]), self._name_key(changed["userName"])
        if self.check_unique and self._tenant.by_name.get(new_key, id) != id:
            raise AlreadyExists("taken")
        stored = self._stamp(changed, id, created=current["meta"]["created"], modified=_now())
        if not self.bump_version:
            stored["meta"]["version"] = version
        self._tenant.by_name.pop(old_key, None)
        self._tenant.by_name[new_key] = id
        self._tenant.by_id[id] = stored
        return copy.deepcopy(stored)


class ModifyKeepsStaleVersion(TransactionalModify):
    """A PATCH writes but meta.version (the ETag) stays the same."""
    bump_version = False


class ModifySkipsUniqueness(TransactionalModify):
    """A PATCH of userName onto another user's is stored: two users share one userName."""
    check_unique = False


class ModifyRefusesEveryIfMatch(TransactionalModify):
    """Compares the raw stored version (W/ kept) with the opaque tags: every PATCH with If-Match is 412."""
    check_version = "raw"


class ModifyIgnoresIfMatchOnNoop(TransactionalModify):
    """Checks the version only when the change writes: a no-op PATCH with a stale If-Match is 200."""
    check_version = "on-change"


class TenantLeakOnModify(TransactionalModify):
    """modify finds the id in any tenant: tenant 2's Entra can disable tenant 1's users."""
    async def modify(self, id, change, **kwargs):
        for data in self._every_tenant.values():
            if id in data.by_id:
                return await TransactionalModify(data, self._versions).modify(id, change, **kwargs)
        raise NotFound(id)


class StaleIndexAfterRename(MemoryUserAdapter):
    """replace leaves the old userName in the index, and `userName eq` answers from the index."""
    async def replace(self, id, resource, *, expected_version=None, journal=None):
        current = self._current(id, expected_version)
        new_key = self._name_key(resource["userName"])
        if self._tenant.by_name.get(new_key, id) != id:
            raise AlreadyExists("taken")
        stored = self._stamp(resource, id, created=current["meta"]["created"], modified=_now())
        self._tenant.by_name[new_key] = id
        self._tenant.by_id[id] = stored
        return copy.deepcopy(stored)

    async def search(self, query):
        if _user_name_eq(query):
            hit = self._tenant.by_id.get(self._tenant.by_name.get(self._name_key(query.filter.value)))
            found = [copy.deepcopy(hit)] if hit else []
            return Page(found[:query.count], len(found))
        return await super().search(query)


class SoftDeleteFoundByFilter(MemoryUserAdapter):
    """delete marks the user deleted; get and an unfiltered search skip it, filtered searches do not."""
    async def delete(self, id, *, expected_version=None, journal=None):
        current = self._current(id, expected_version)
        del self._tenant.by_name[self._name_key(current["userName"])]
        current["_deleted"] = True
        self._tenant.by_id[f"deleted-{id}"] = self._tenant.by_id.pop(id)

    async def search(self, query):
        if query.filter is None:
            live = [u for u in self._tenant.by_id.values() if not u.get("_deleted")]
            page = search_in_memory(query, live)
        else:
            page = search_in_memory(query, self._tenant.by_id.values())
        return Page([{k: v for k, v in copy.deepcopy(u).items() if k != "_deleted"} for u in page.resources],
                    page.total_results)


KNOWN = {"schemas", "userName", "name", "displayName", "title", "externalId", "emails", "active",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}


class DropsUnmappedAttributes(MemoryUserAdapter):
    """Stores only the attributes it has columns for: phones, addresses, custom extensions... are lost."""
    async def create(self, resource, *, journal=None):
        return await super().create({k: v for k, v in resource.items() if k in KNOWN}, journal=journal)

    async def replace(self, id, resource, **kwargs):
        return await super().replace(id, {k: v for k, v in resource.items() if k in KNOWN}, **kwargs)


class CappedPages(MemoryUserAdapter):
    """Correct: declares max_results=3 and never returns more than 3 per page."""
    capabilities = dataclasses.replace(MemoryUserAdapter.capabilities, max_results=3)

    async def search(self, query):
        return await super().search(dataclasses.replace(query, count=min(query.count, 3)))


class PublicSyncHelper(MemoryUserAdapter):
    """Correct, with public synchronous helpers (only the contract's methods must be coroutines)."""
    def to_row(self, resource):
        return dict(resource)

    @staticmethod
    def normalise(name):
        return name.casefold()


class BareVersion(MemoryUserAdapter):
    """meta.version is not an entity tag (a timestamp with a space): the gateway answers 500."""
    def _stamp(self, resource, id, *, created, modified):
        stored = super()._stamp(resource, id, created=created, modified=modified)
        stored["meta"]["version"] = 'W/"1 ' + stored["meta"]["version"][3:-1] + '"'
        return stored


class TenantLeakOnSort(MemoryUserAdapter):
    """A sorted list whose statement lost its tenant condition: every tenant's users."""
    async def search(self, query):
        if query.sort is None:
            return await super().search(query)
        page = search_in_memory(query, [u for t in self._every_tenant.values() for u in t.by_id.values()])
        return Page(copy.deepcopy(page.resources), page.total_results)


class StaleExternalIdIndex(MemoryUserAdapter):
    """An `externalId eq` fast path on an index written at create only."""
    async def create(self, resource, *, journal=None):
        stored = await super().create(resource, journal=journal)
        self._tenant.__dict__.setdefault("by_external", {})[resource.get("externalId")] = stored["id"]
        return stored

    async def search(self, query):
        f = query.filter
        if isinstance(f, Compare) and f.op == "eq" and f.path == AttrPath("externalId"):
            id = self._tenant.__dict__.get("by_external", {}).get(f.value)
            hits = [self._tenant.by_id[id]] if id in self._tenant.by_id else []
            page = search_in_memory(dataclasses.replace(query, filter=None), hits)
            return Page(copy.deepcopy(page.resources), page.total_results)
        return await super().search(query)


class CaseSensitiveSort(MemoryUserAdapter):
    """Sorts displayName as bytes: every capital first."""
    async def search(self, query):
        if query.sort is None or query.sort.path != AttrPath("displayName"):
            return await super().search(query)
        every = await super().search(dataclasses.replace(query, sort=None, start_index=1, count=10_000))
        ordered = sorted(every.resources, key=lambda u: u.get("displayName") or "")
        start = query.start_index - 1
        return Page(ordered[start:start + query.count], every.total_results)


class EveryTenantExists(MemoryAdapter):
    """tenant_exists answers True for any id: integration add issues a Tenant URL for none."""
    async def tenant_exists(self, tenant):
        return True


class NoTenantList(MemoryAdapter):
    """Lists no tenants (the optional Adapter.tenants), and its contract names no other_tenant."""
    tenants = Adapter.tenants


class TestCorrect(contract_for(MemoryUserAdapter)):
    pass


class TestTransactionalModify(contract_for(TransactionalModify)):
    pass


class TestCappedPages(contract_for(CappedPages)):
    pass


class TestPublicSyncHelper(contract_for(PublicSyncHelper)):
    pass


class TestNoCapsOnPlugin(contract_for(MemoryUserAdapter, plugin_capabilities=None)):
    pass


class TestPluginCapsDiffer(contract_for(MemoryUserAdapter, plugin_capabilities=Capabilities(etag=True))):
    pass


class TestNoSecondTenant(AdapterContract):
    @pytest.fixture
    def make_adapter(self):
        return lambda: NoTenantList(tenants=["1", "2"])


class TestTenantLeakOnUserNameEq(contract_for(TenantLeakOnUserNameEq)):
    pass


class TestTenantLeakOnModify(contract_for(TenantLeakOnModify)):
    pass


class TestModifyKeepsStaleVersion(contract_for(ModifyKeepsStaleVersion)):
    pass


class TestModifySkipsUniqueness(contract_for(ModifySkipsUniqueness)):
    pass


class TestModifyRefusesEveryIfMatch(contract_for(ModifyRefusesEveryIfMatch)):
    pass


class TestModifyIgnoresIfMatchOnNoop(contract_for(ModifyIgnoresIfMatchOnNoop)):
    pass


class TestStaleIndexAfterRename(contract_for(StaleIndexAfterRename)):
    pass


class TestSoftDeleteFoundByFilter(contract_for(SoftDeleteFoundByFilter)):
    pass


class TestDropsUnmappedAttributes(contract_for(DropsUnmappedAttributes)):
    pass


class TestBareVersion(contract_for(BareVersion)):
    pass


class TestTenantLeakOnSort(contract_for(TenantLeakOnSort)):
    pass


class TestStaleExternalIdIndex(contract_for(StaleExternalIdIndex)):
    pass


class TestCaseSensitiveSort(contract_for(CaseSensitiveSort)):
    pass


class TestEveryTenantExists(AdapterContract):
    @pytest.fixture
    def make_adapter(self):
        return lambda: EveryTenantExists(tenants=["1", "2"])

    @pytest.fixture
    def other_tenant(self):
        return "2"
'''

#: The tenant-isolation checks, run whether or not the contract names an ``other_tenant``.
_ISOLATION = {"test_tenants_are_isolated", "test_modify_stays_in_its_tenant", "test_filtered_search_stays_in_its_tenant",
              "test_sorted_paged_and_other_searches_stay_in_their_tenant"}

#: The checks each variant must fail, and no others.
EXPECTED_FAILURES: dict[str, set[str]] = {
    "TestCorrect": set(),
    "TestTransactionalModify": set(),
    "TestCappedPages": set(),
    "TestPublicSyncHelper": set(),
    "TestNoCapsOnPlugin": {"test_plugin_declares_the_capabilities_of_its_users"},
    "TestPluginCapsDiffer": {"test_plugin_declares_the_capabilities_of_its_users"},
    "TestNoSecondTenant": _ISOLATION,
    "TestTenantLeakOnUserNameEq": {"test_filtered_search_stays_in_its_tenant"},
    "TestTenantLeakOnModify": {"test_modify_stays_in_its_tenant"},
    "TestModifyKeepsStaleVersion": {"test_modify_changes_the_version"},
    "TestModifySkipsUniqueness": {"test_modify_to_a_taken_user_name_is_refused"},
    "TestModifyRefusesEveryIfMatch": {"test_modify_with_the_current_version_succeeds"},
    "TestModifyIgnoresIfMatchOnNoop": {"test_a_stale_version_is_refused_even_when_nothing_changes"},
    "TestStaleIndexAfterRename": {"test_look_ups_follow_a_rename"},
    "TestSoftDeleteFoundByFilter": {"test_look_ups_forget_a_deleted_user"},
    "TestDropsUnmappedAttributes": {"test_create_returns_the_stored_user", "test_replace_stores_the_new_resource",
                                    "test_every_attribute_comes_back_exactly_as_sent",
                                    "test_a_second_number_of_a_type_is_kept_shown_and_found"},
    "TestBareVersion": {"test_create_returns_the_stored_user", "test_replace_stores_the_new_resource"},
    "TestTenantLeakOnSort": {"test_sorted_paged_and_other_searches_stay_in_their_tenant"},
    "TestStaleExternalIdIndex": {"test_external_id_look_ups_follow_a_change"},
    "TestCaseSensitiveSort": {"test_sort_by_display_name_ignores_case"},
    "TestEveryTenantExists": {"test_started_adapter_is_healthy_and_knows_its_tenant"},
}


def test_kit_fails_exactly_the_broken_checks(pytester: pytest.Pytester) -> None:
    """One nested pytest run of the kit over every variant; compare each class's failed checks."""
    found, failed = failed_checks(pytester, VARIANTS, EXPECTED_FAILURES, at_least_passed=1001)
    for report in failed:
        if "::TestNoSecondTenant::" in report.nodeid:  # the failure names the fixture to add
            assert "define an 'other_tenant' fixture" in str(report.longrepr), report.longrepr
    assert found == EXPECTED_FAILURES
