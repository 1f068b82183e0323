"""Contract checks of the adapter's state store (:class:`adapters.state.StateStore`), skipped when
``state_store()`` returns None (the gateway then keeps its state in SQLite in its data directory).

- ``enable`` is conditional: a second ``enable`` of an enabled tenant raises ``AlreadyExists`` and
  leaves its token id alone, and of concurrent ``enable`` calls exactly one wins. The CLI's
  ``integration add`` relies on this: two runs at once must not both print a token.
- ``rotate`` replaces the token id of an enabled tenant only; ``remove`` disables it; token ids
  are never reused. ``rotate_if_current``/``remove_if_current`` act only while the token id is the
  one named: of concurrent calls naming one id exactly one acts, the others raise ``VersionMismatch``
  (the admin page's forms: a double-click rotated twice, and one of the tokens shown never worked).
- ``claim_signing_key``: the first claim wins, concurrent claims all see the same winner, later
  claims never change it. Every gateway of a deployment relies on this to refuse a signing key
  that differs from the others'.

Concurrent calls go through two state stores of the one adapter (two connections where the
store has connections), so the storage has to decide, not the order of calls in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from adapters.errors import AlreadyExists, NotFound, VersionMismatch
from adapters.state import SigningKeyRecord, StateStore
from adapters.testkit.session import ContractRunner, ContractSession

__all__ = ["StateStoreChecks"]

_CONCURRENCY = 10

StateCheck = Callable[[StateStore, StateStore, ContractSession], Awaitable[None]]


async def _with_state_stores(s: ContractSession, check: StateCheck) -> None:
    """Run ``check`` with two started state stores of the adapter (skipped if it has none)."""
    first = s.adapter.state_store()
    s.require(first is not None, "the adapter brings no state store (state_store() returns None)")
    second = s.adapter.state_store()
    assert first is not None and second is not None, "state_store() returned a store once and None once"
    await first.start()
    try:
        await second.start()
        try:
            await check(first, second, s)
        finally:
            await second.close()
    finally:
        await first.close()


def _is_datetime(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


class StateStoreChecks:
    """The state store's enable, rotate, remove and signing-key claims."""

    def test_enable_is_conditional_and_rotate_replaces_the_token_id(self, contract: ContractRunner) -> None:
        async def check(state: StateStore, other: StateStore, s: ContractSession) -> None:
            assert await state.active_token_id(s.tenant) is None
            first = await state.enable(s.tenant)
            assert await other.active_token_id(s.tenant) == first
            try:
                await other.enable(s.tenant)
            except AlreadyExists:
                pass
            else:
                raise AssertionError("enable of an enabled tenant must raise AlreadyExists")
            assert await state.active_token_id(s.tenant) == first, "a refused enable changed the token id"
            rotated = await other.rotate(s.tenant)
            assert rotated != first and await state.active_token_id(s.tenant) == rotated
            assert [i.tenant for i in await state.list()] == [s.tenant]
            await state.remove(s.tenant)
            assert await other.active_token_id(s.tenant) is None
            for call in (lambda: other.rotate(s.tenant), lambda: other.remove(s.tenant)):
                try:
                    await call()
                except NotFound:
                    continue
                raise AssertionError("rotate and remove of a tenant without SCIM must raise NotFound")
            again = await other.enable(s.tenant)
            assert again not in (first, rotated), "a token id was reused"
        contract.run(lambda s: _with_state_stores(s, check))

    def test_concurrent_enables_let_one_win(self, contract: ContractRunner) -> None:
        async def check(state: StateStore, other: StateStore, s: ContractSession) -> None:
            results = await asyncio.gather(*[(state, other)[i % 2].enable(s.tenant) for i in range(_CONCURRENCY)],
                                           return_exceptions=True)
            wins = [r for r in results if isinstance(r, str)]
            losses = [r for r in results if not isinstance(r, str)]
            assert len(wins) == 1, f"{len(wins)} concurrent enables of one tenant succeeded"
            unexpected = [e for e in losses if not isinstance(e, AlreadyExists)]
            assert not unexpected, f"expected only AlreadyExists, got {unexpected!r}"
            assert await state.active_token_id(s.tenant) == wins[0] == await other.active_token_id(s.tenant)
        contract.run(lambda s: _with_state_stores(s, check))

    def test_conditional_rotations_and_removals_let_one_win(self, contract: ContractRunner) -> None:
        async def check(state: StateStore, other: StateStore, s: ContractSession) -> None:
            first = await state.enable(s.tenant)
            results = await asyncio.gather(*[(state, other)[i % 2].rotate_if_current(s.tenant, first)
                                             for i in range(_CONCURRENCY)], return_exceptions=True)
            wins = [r for r in results if isinstance(r, str)]
            assert len(wins) == 1, f"{len(wins)} concurrent rotations from one token id succeeded"
            unexpected = [e for e in results if not isinstance(e, (str, VersionMismatch))]
            assert not unexpected, f"expected only VersionMismatch, got {unexpected!r}"
            assert await other.active_token_id(s.tenant) == wins[0] != first
            for stale in (lambda: other.remove_if_current(s.tenant, first),
                          lambda: other.rotate_if_current(s.tenant, first)):
                try:
                    await stale()
                except VersionMismatch:
                    continue
                raise AssertionError("a rotation or removal naming a replaced token id must raise VersionMismatch")
            assert await state.active_token_id(s.tenant) == wins[0], "a refused call changed the token id"
            await other.remove_if_current(s.tenant, wins[0])
            assert await state.active_token_id(s.tenant) is None
            try:
                await state.rotate_if_current(s.tenant, wins[0])
            except NotFound:
                return
            raise AssertionError("rotate_if_current of a tenant without SCIM must raise NotFound")
        contract.run(lambda s: _with_state_stores(s, check))

    def test_the_first_signing_key_claim_wins(self, contract: ContractRunner) -> None:
        async def check(state: StateStore, other: StateStore, s: ContractSession) -> None:
            candidates = [SigningKeyRecord(key_id=f"{i:016x}", host=f"host-{i}", source=f"/keys/{i}")
                          for i in range(_CONCURRENCY)]
            results = await asyncio.gather(*[(state, other)[i % 2].claim_signing_key(c)
                                             for i, c in enumerate(candidates)])
            assert len(set(results)) == 1, f"concurrent claims saw different records: {set(results)!r}"
            winner = results[0]
            assert any(winner.key_id == c.key_id and winner.host == c.host and winner.source == c.source
                       for c in candidates), f"the record {winner!r} is none of the claims"
            assert _is_datetime(winner.recorded_at), f"recorded_at {winner.recorded_at!r} is no dateTime with a zone"
            later = SigningKeyRecord(key_id="f" * 16, host="late", source="/keys/late")
            assert await other.claim_signing_key(later) == winner, "a later claim changed the record"
            assert await state.claim_signing_key(candidates[0]) == winner
        contract.run(lambda s: _with_state_stores(s, check))
