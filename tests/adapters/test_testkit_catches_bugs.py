"""The conformance kit fails adapters that break the contract.

Deliberately broken variants of the in-memory example adapter, and of an in-memory state store,
are run through the kit in a nested pytest session (``pytester``); each must fail exactly the
checks covering its bug, while the unbroken ones in the same session pass everything. The
variants of bugs that break Entra ID / Okta provisioning are in test_testkit_catches_provisioning_bugs.py.
"""

from __future__ import annotations

import pytest

from tests.adapters.testkit_variants import failed_checks

pytest_plugins = ["pytester"]

BROKEN_ADAPTERS = '''
import asyncio
import copy
import dataclasses
import uuid

import pytest

from adapters.errors import AlreadyExists, NotFound
from adapters.state import Integration, StateStore
from adapters.examples.memory import MemoryAdapter, MemoryUserAdapter, _now
from adapters.query import Compare
from adapters.testkit import AdapterContract
from tests.adapters.testkit_variants import contract_for


class CaseSensitiveNames(MemoryUserAdapter):
    """userName uniqueness compares case."""
    @staticmethod
    def _name_key(user_name):
        return user_name


class TotalIsPageLength(MemoryUserAdapter):
    """total_results counts the page, not every match."""
    async def search(self, query):
        page = await super().search(query)
        page.total_results = len(page.resources)
        return page


class FrozenVersion(MemoryUserAdapter):
    """meta.version never changes, so no stale if_match is ever detected."""
    def _stamp(self, resource, id, *, created, modified):
        stored = super()._stamp(resource, id, created=created, modified=modified)
        stored["meta"]["version"] = 'W/"1"'
        return stored


class SharedDicts(MemoryUserAdapter):
    """get hands out the stored dict itself."""
    async def get(self, id):
        return self._current(id, None)


class DeclaresContains(MemoryUserAdapter):
    """Declares co but answers it as eq."""
    async def search(self, query):
        if isinstance(query.filter, Compare) and query.filter.op == "co":
            query = dataclasses.replace(query, filter=dataclasses.replace(query.filter, op="eq"))
        return await super().search(query)


class RacyCreate(MemoryUserAdapter):
    """Awaits between the uniqueness check and the write."""
    async def create(self, resource):
        key = self._name_key(resource["userName"])
        if key in self._tenant.by_name:
            raise AlreadyExists("taken")
        await asyncio.sleep(0)
        now = _now()
        stored = self._stamp(resource, str(uuid.uuid4()), created=now, modified=now)
        self._tenant.by_id[stored["id"]] = stored
        self._tenant.by_name[key] = stored["id"]
        return copy.deepcopy(stored)


class MemoryState(StateStore):
    """A correct state store in memory, shared by every state_store() of one adapter."""
    def __init__(self, shared):
        self.shared = shared
    async def start(self):
        pass
    async def close(self):
        pass
    async def active_token_id(self, tenant):
        return self.shared["tokens"].get(tenant)
    async def enable(self, tenant):
        if tenant in self.shared["tokens"]:
            raise AlreadyExists("enabled")
        self.shared["tokens"][tenant] = uuid.uuid4().hex
        return self.shared["tokens"][tenant]
    async def rotate(self, tenant):
        if tenant not in self.shared["tokens"]:
            raise NotFound("not enabled")
        self.shared["tokens"][tenant] = uuid.uuid4().hex
        return self.shared["tokens"][tenant]
    async def remove(self, tenant):
        if self.shared["tokens"].pop(tenant, None) is None:
            raise NotFound("not enabled")
    async def list(self):
        return [Integration(t, i, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
                for t, i in sorted(self.shared["tokens"].items())]
    async def claim_signing_key(self, candidate):
        if self.shared.get("key") is None:
            self.shared["key"] = dataclasses.replace(candidate, recorded_at="2024-01-01T00:00:00Z")
        return self.shared["key"]


class UpsertEnable(MemoryState):
    """enable of an enabled tenant replaces its token id (two concurrent adds both print a token)."""
    async def enable(self, tenant):
        self.shared["tokens"][tenant] = uuid.uuid4().hex
        return self.shared["tokens"][tenant]


class RacyEnable(MemoryState):
    """Awaits between the check and the insert."""
    async def enable(self, tenant):
        if tenant in self.shared["tokens"]:
            raise AlreadyExists("enabled")
        await asyncio.sleep(0)
        self.shared["tokens"][tenant] = uuid.uuid4().hex
        return self.shared["tokens"][tenant]


class LastClaimWins(MemoryState):
    """Every signing-key claim overwrites the record."""
    async def claim_signing_key(self, candidate):
        self.shared["key"] = dataclasses.replace(candidate, recorded_at="2024-01-01T00:00:00Z")
        return self.shared["key"]


def contract_with_state(state_class):
    class WithState(MemoryAdapter):
        def state_store(self):
            return state_class(self.__dict__.setdefault("_shared_state", {"tokens": {}}))

    class Contract(AdapterContract):
        @pytest.fixture
        def make_adapter(self):
            return lambda: WithState(tenants=["1", "2"])

    return Contract


class TestCorrect(contract_for(MemoryUserAdapter)):
    pass


class TestCorrectState(contract_with_state(MemoryState)):
    pass


class TestUpsertEnable(contract_with_state(UpsertEnable)):
    pass


class TestRacyEnable(contract_with_state(RacyEnable)):
    pass


class TestLastClaimWins(contract_with_state(LastClaimWins)):
    pass


class TestCaseSensitiveNames(contract_for(CaseSensitiveNames)):
    pass


class TestTotalIsPageLength(contract_for(TotalIsPageLength)):
    pass


class TestFrozenVersion(contract_for(FrozenVersion)):
    pass


class TestSharedDicts(contract_for(SharedDicts)):
    pass


class TestDeclaresContains(contract_for(DeclaresContains)):
    pass


class TestRacyCreate(contract_for(RacyCreate)):
    pass
'''

_PAGES_SHORTER_THAN_ALL = [f"test_total_results_is_the_full_count[start{s}-count{c}]"
                           for s, c in ((1, 3), (3, 3), (6, 3), (7, 1), (8, 5), (100, 10), (1, 0), (4, 0))]

#: The checks each broken variant must fail, and no others.
EXPECTED_FAILURES: dict[str, set[str]] = {
    "TestCorrect": set(),
    "TestCorrectState": set(),
    "TestUpsertEnable": {"test_enable_is_conditional_and_rotate_replaces_the_token_id",
                         "test_concurrent_enables_let_one_win"},
    "TestRacyEnable": {"test_concurrent_enables_let_one_win"},
    "TestLastClaimWins": {"test_the_first_signing_key_claim_wins"},
    "TestCaseSensitiveNames": {
        "test_user_name_is_unique_ignoring_case",
        "test_replace_to_a_taken_user_name_is_refused",
        "test_modify_to_a_taken_user_name_is_refused",
        "test_concurrent_creates_of_one_user_name_let_one_win",
        "test_concurrent_renames_to_one_user_name_let_one_win",
    },
    "TestTotalIsPageLength": {*_PAGES_SHORTER_THAN_ALL, "test_filtered_total_results",
                              "test_sort_by_user_name[ascending]", "test_sort_by_user_name[descending]",
                              "test_sorted_paged_and_other_searches_stay_in_their_tenant"},
    "TestFrozenVersion": {
        "test_version_changes_on_every_write",
        "test_stale_if_match_is_refused",
        "test_concurrent_replaces_with_one_version_let_one_win",
        "test_modify_changes_the_version",
        "test_a_stale_version_is_refused_even_when_nothing_changes",
    },
    "TestSharedDicts": {"test_returned_resources_are_copies"},
    "TestDeclaresContains": {*(f"test_filter_operator[{attr}-co]"
                               for attr in ("userName", "displayName", "externalId", "name.givenName", "title")),
                             "test_sorted_paged_and_other_searches_stay_in_their_tenant"},
    "TestRacyCreate": {"test_concurrent_creates_of_one_user_name_let_one_win"},
}


def test_kit_fails_exactly_the_broken_checks(pytester: pytest.Pytester) -> None:
    """One nested pytest run of the kit over every variant; compare each class's failed checks."""
    found, _ = failed_checks(pytester, BROKEN_ADAPTERS, EXPECTED_FAILURES, at_least_passed=401)
    assert found == EXPECTED_FAILURES
