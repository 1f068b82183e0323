"""Contract checks of versioned and concurrent writes (``modify``: :mod:`adapters.testkit.checks_modify`).

- ``meta.version`` (RFC 7644 §3.14), when the adapter declares ``etag``: it changes on every
  write, a stale ``expected_version`` raises ``VersionMismatch`` and writes nothing, the current one
  (or ``*``) is accepted. The gateway's PATCH relies on this: it replaces with the version it
  read, so two concurrent writes guarded by one version must not both succeed.
- Concurrency: the gateway runs requests concurrently on one event loop, so uniqueness must hold
  across awaits (exactly one of many concurrent creates of one userName wins).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.errors import AlreadyExists, NotFound, VersionMismatch
from adapters.testkit.resources import full_user
from adapters.testkit.session import ContractRunner, ContractSession
from adapters.versions import ExpectedVersion

__all__ = ["WriteChecks"]

_CONCURRENCY = 10


def _outcomes(results: list[Any]) -> tuple[list[dict[str, Any]], list[BaseException]]:
    wins = [r for r in results if isinstance(r, dict)]
    errors = [r for r in results if isinstance(r, BaseException)]
    return wins, errors


def _only(errors: list[BaseException], kind: type[Exception]) -> None:
    unexpected = [e for e in errors if not isinstance(e, kind)]
    if unexpected:
        raise AssertionError(f"expected only {kind.__name__}, got {unexpected!r}") from unexpected[0]


class WriteChecks:
    """Versions and concurrency."""

    # -- versions -------------------------------------------------------------------------
    def test_version_changes_on_every_write(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("v@example.com"))
            versions = [created["meta"]["version"]]
            assert (await s.users.get(created["id"]))["meta"]["version"] == versions[0]
            for title in ("One", "Two", "Three"):
                replaced = await s.users.replace(created["id"], full_user("v@example.com", title=title))
                versions.append(replaced["meta"]["version"])
                assert (await s.users.get(created["id"]))["meta"]["version"] == versions[-1]
            assert len(set(versions)) == len(versions), f"meta.version repeated: {versions}"
        contract.run(check)

    def test_stale_if_match_is_refused(self, contract: ContractRunner) -> None:
        """A stale ``expected_version`` raises ``VersionMismatch`` on replace and delete and writes nothing;
        the current version and ``*`` are accepted (RFC 7644 §3.14, RFC 7232 §3.1)."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("etag@example.com"))
            stale = created["meta"]["version"]
            current = await s.users.replace(created["id"], full_user("etag@example.com", title="New"),
                                            expected_version=ExpectedVersion.exactly(stale))
            with pytest.raises(VersionMismatch):
                await s.users.replace(created["id"], full_user("etag@example.com", title="Lost"),
                                      expected_version=ExpectedVersion.exactly(stale))
            with pytest.raises(VersionMismatch):
                await s.users.delete(created["id"], expected_version=ExpectedVersion.exactly(stale))
            assert await s.users.get(created["id"]) == current, "a refused write must change nothing"
            latest = await s.users.replace(created["id"], full_user("etag@example.com", title="Star"),
                                           expected_version=ExpectedVersion(any_version=True))
            assert latest["title"] == "Star"
            await s.users.delete(created["id"], expected_version=ExpectedVersion.exactly(latest["meta"]["version"]))
            with pytest.raises(NotFound):
                await s.users.get(created["id"])
        contract.run(check)

    def test_if_match_on_a_missing_id_is_not_found(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("gone@example.com"))
            await s.users.delete(created["id"])
            with pytest.raises(NotFound):
                await s.users.replace(created["id"], full_user("gone@example.com"),
                                      expected_version=ExpectedVersion.exactly(created["meta"]["version"]))
            with pytest.raises(NotFound):
                await s.users.delete(created["id"],
                                     expected_version=ExpectedVersion.exactly(created["meta"]["version"]))
        contract.run(check)

    def test_concurrent_replaces_with_one_version_let_one_win(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require(s.caps.etag, "the adapter does not declare etag")
            created = await s.users.create(full_user("race@example.com"))
            version = created["meta"]["version"]
            results = await asyncio.gather(*(
                s.users.replace(created["id"], full_user("race@example.com", title=f"T{n}"),
                                expected_version=ExpectedVersion.exactly(version))
                for n in range(_CONCURRENCY)), return_exceptions=True)
            wins, errors = _outcomes(results)
            _only(errors, VersionMismatch)
            assert len(wins) == 1, f"{len(wins)} replaces guarded by one version succeeded"
            assert (await s.users.get(created["id"]))["title"] == wins[0]["title"]
        contract.run(check)

    # -- concurrency ----------------------------------------------------------------------
    def test_concurrent_creates_of_one_user_name_let_one_win(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            names = [("same@example.com" if n % 2 else "SAME@Example.com") for n in range(_CONCURRENCY)]
            results = await asyncio.gather(*(s.users.create(full_user(name)) for name in names),
                                           return_exceptions=True)
            wins, errors = _outcomes(results)
            _only(errors, AlreadyExists)
            assert len(wins) == 1, f"{len(wins)} concurrent creates of one userName succeeded"
            page = await s.search()
            assert page.total_results == 1 and page.resources[0]["id"] == wins[0]["id"]
        contract.run(check)

    def test_concurrent_creates_of_distinct_users_all_succeed(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            created = await asyncio.gather(*(s.users.create(full_user(f"c{n}@example.com"))
                                             for n in range(_CONCURRENCY)))
            assert len({user["id"] for user in created}) == _CONCURRENCY
            assert (await s.search()).total_results == _CONCURRENCY
        contract.run(check)

    def test_concurrent_renames_to_one_user_name_let_one_win(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            users = await s.create_all(*(full_user(f"r{n}@example.com") for n in range(5)))
            renames = (s.users.replace(user["id"], full_user("Taken@Example.com" if n % 2 else "taken@example.COM"))
                       for n, user in enumerate(users))
            results = await asyncio.gather(*renames, return_exceptions=True)
            wins, errors = _outcomes(results)
            _only(errors, AlreadyExists)
            assert len(wins) == 1, f"{len(wins)} concurrent renames to one userName succeeded"
            names = sorted(r["userName"].lower() for r in await s.all_resources())
            assert names.count("taken@example.com") == 1
        contract.run(check)
