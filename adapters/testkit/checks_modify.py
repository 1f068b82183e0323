"""Contract checks of ``modify``, the path of every PATCH (RFC 7644 §3.5.2), whether inherited
from :class:`~adapters.base.ResourceAdapter` or overridden to run in one transaction.

- No update is lost: the change always sees the resource it replaces; a change returning
  ``None`` writes nothing.
- Versions (RFC 7644 §3.14, when ``etag`` is declared): a modify that writes changes
  ``meta.version``, so a later write guarded by the pre-modify version is refused; the current
  version is accepted; a stale one is refused with ``VersionMismatch`` even when the change
  writes nothing (an ``If-Match`` that fails is ``412``, RFC 7232 §3.1, as the inherited
  ``modify`` does: it checks before calling the change).
- Uniqueness: a modify renaming ``userName`` onto another user's (in any case, RFC 7643 §4.1.1)
  raises ``AlreadyExists`` and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.base import Resource
from adapters.errors import AlreadyExists, NotFound, VersionMismatch
from adapters.query import AttrPath, Compare
from adapters.testkit.resources import full_user
from adapters.testkit.session import ContractRunner, ContractSession
from adapters.versions import ExpectedVersion

__all__ = ["ModifyChecks", "setting"]

_CONCURRENCY = 10


def setting(**attributes: Any) -> Callable[[Resource], Resource]:
    """A PATCH-like change: the stored resource with ``attributes`` set (a fresh dict)."""
    return lambda current: {**current, **attributes}


def _exactly(resource: Resource) -> ExpectedVersion:
    """``If-Match`` with the resource's version, as the gateway parses it."""
    return ExpectedVersion.exactly(resource["meta"]["version"])


class ModifyChecks:
    """``modify`` (a PATCH): lost updates, no-op changes, versions and uniqueness."""

    def test_concurrent_modifies_lose_no_update(self, contract: ContractRunner) -> None:
        """Each of many concurrent ``modify`` calls adds its own email: all of them are stored
        (the change always sees the resource it replaces, ``ResourceAdapter.modify``)."""
        async def check(s: ContractSession) -> None:
            created = await s.users.create(full_user("m@example.com"))

            def adding(n: int) -> Callable[[Resource], Resource]:
                def change(current: Resource) -> Resource:
                    return {**current, "emails": [*current.get("emails", []),
                                                  {"value": f"m{n}@example.com", "type": "other"}]}
                return change

            await asyncio.gather(*(s.users.modify(created["id"], adding(n)) for n in range(_CONCURRENCY)))
            stored = {e["value"] for e in (await s.users.get(created["id"]))["emails"]}
            assert stored >= {f"m{n}@example.com" for n in range(_CONCURRENCY)}, f"updates lost: {stored}"
        contract.run(check)

    def test_a_modify_that_changes_nothing_writes_nothing(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            created = await s.users.create(full_user("same@example.com"))
            seen: list[Resource] = []
            unchanged = await s.users.modify(created["id"], lambda current: seen.append(current))
            assert seen and seen[0]["id"] == created["id"], "the change must be given the stored resource"
            assert unchanged == await s.users.get(created["id"]) == created
            with pytest.raises(NotFound):
                await s.users.modify("no-such-id", lambda current: current)
        contract.run(check)

    def test_modify_changes_the_version(self, contract: ContractRunner) -> None:
        """After a modify ``meta.version`` is new, and a replace, modify or delete guarded by the
        pre-modify version raises ``VersionMismatch`` and writes nothing (a PATCH must not let a
        client's stale ``If-Match`` through)."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("patched@example.com"))
            modified = await s.users.modify(created["id"], setting(title="Patched"))
            assert modified["title"] == "Patched" and await s.users.get(created["id"]) == modified
            assert modified["meta"]["version"] != created["meta"]["version"], (
                f"meta.version {modified['meta']['version']} did not change on a modify that wrote")
            with pytest.raises(VersionMismatch):
                await s.users.replace(created["id"], full_user("patched@example.com", title="Lost"),
                                      expected_version=_exactly(created))
            with pytest.raises(VersionMismatch):
                await s.users.modify(created["id"], setting(title="Lost"), expected_version=_exactly(created))
            with pytest.raises(VersionMismatch):
                await s.users.delete(created["id"], expected_version=_exactly(created))
            assert await s.users.get(created["id"]) == modified, "a refused write must change nothing"
        contract.run(check)

    def test_modify_with_the_current_version_succeeds(self, contract: ContractRunner) -> None:
        """``If-Match`` with the version just read (``W/`` as the adapter wrote it) is accepted,
        once: the version it wrote is the one to use next (RFC 7644 §3.14)."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("current@example.com"))
            first = await s.users.modify(created["id"], setting(title="First"), expected_version=_exactly(created))
            second = await s.users.modify(created["id"], setting(title="Second"), expected_version=_exactly(first))
            assert second["title"] == "Second" and await s.users.get(created["id"]) == second
            same = await s.users.modify(created["id"], lambda current: None, expected_version=_exactly(second))
            assert same == second
            anything = await s.users.modify(created["id"], setting(title="Any"),
                                            expected_version=ExpectedVersion(any_version=True))
            assert anything["title"] == "Any"
        contract.run(check)

    def test_a_stale_version_is_refused_even_when_nothing_changes(self, contract: ContractRunner) -> None:
        """A modify whose change returns ``None`` but whose ``expected_version`` is stale raises
        ``VersionMismatch`` (the ``If-Match`` precondition fails first, RFC 7232 §3.1)."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("noop@example.com"))
            current = await s.users.replace(created["id"], full_user("noop@example.com", title="New"))
            for stale in (_exactly(created), ExpectedVersion.exactly('W/"stale"')):
                with pytest.raises(VersionMismatch):
                    await s.users.modify(created["id"], lambda resource: None, expected_version=stale)
                with pytest.raises(VersionMismatch):
                    await s.users.modify(created["id"], lambda resource: resource, expected_version=stale)
            assert await s.users.get(created["id"]) == current
        contract.run(check)

    def test_modify_to_a_taken_user_name_is_refused(self, contract: ContractRunner) -> None:
        """A PATCH of ``userName`` onto another user's, in any case, raises ``AlreadyExists`` and
        writes nothing; a user may change the case of its own."""
        async def check(s: ContractSession) -> None:
            alice, bob = await s.create_all(full_user("alice@example.com"), full_user("bob@example.com"))
            for clash in ("alice@example.com", "ALICE@Example.com"):
                with pytest.raises(AlreadyExists):
                    await s.users.modify(bob["id"], setting(userName=clash))
            assert await s.users.get(bob["id"]) == bob, "a refused modify must change nothing"
            assert await s.users.get(alice["id"]) == alice
            renamed = await s.users.modify(alice["id"], setting(userName="Alice@EXAMPLE.com"))
            assert renamed["userName"] == "Alice@EXAMPLE.com"
            with pytest.raises(AlreadyExists):
                await s.users.modify(bob["id"], setting(userName="alice@example.com"))
            if "eq" in s.caps.filter_ops:
                assert await s.user_names(Compare(AttrPath("userName"), "eq", "alice@example.com")) == {"Alice@EXAMPLE.com"}
        contract.run(check)
