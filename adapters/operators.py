"""Operator accounts of the admin page (``/admin``), kept by the state store beside the gateway's
other state so that every gateway process and host sees the same accounts and lock-outs.

Only a password *hash* is stored (the gateway hashes with ``hashlib.scrypt``). Every change is
one statement the storage decides, never a read followed by a write. A sign-in is counted
*before* its password is checked (``begin_attempt``), so that guesses sent at once cannot all be
judged against the account as it was before any of them failed: 59 wrong passwords and a right
one sent together, from addresses enough to stay under the per-address limit, signed in while
five failures were meant to lock the account (a security review). ``session_version`` starts
at a random number, so an account removed and added again does not accept the old account's
sessions (they started at 1 again).
"""

from __future__ import annotations

import abc
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    """An admin-page account. ``locations`` None: every location; else only those tenants.
    ``session_version`` is bumped to end every session of the account (sign-out everywhere)."""

    name: str
    password_hash: str
    locations: tuple[str, ...] | None
    failed_attempts: int = 0
    locked_until: str | None = None
    session_version: int = 1


def first_session_version() -> int:
    """A new account's ``session_version``: random, below 2^30 (a 32-bit column takes a
    billion bumps after it)."""
    return secrets.randbelow(1 << 30) + 1


class OperatorStore(abc.ABC):
    """Operator accounts. Every method is a coroutine; names are compared exactly."""

    @abc.abstractmethod
    async def put(self, name: str, password_hash: str, locations: tuple[str, ...] | None) -> None:
        """Create the account, or replace its password and locations (which also clears its
        lock-out and ends its sessions)."""

    @abc.abstractmethod
    async def get(self, name: str) -> Operator | None:
        """The account, or None."""

    @abc.abstractmethod
    async def list(self) -> list[Operator]:
        """Every account, ordered by name."""

    @abc.abstractmethod
    async def remove(self, name: str) -> bool:
        """Delete the account; whether there was one."""

    @abc.abstractmethod
    async def begin_attempt(self, name: str, *, limit: int, now: str) -> bool:
        """Count a sign-in about to be checked, atomically; False (nothing counted) when the
        account is locked at ``now`` (an ISO 8601 UTC time) or ``limit`` are counted already
        (failures in a row and sign-ins under way) or there is no such account."""

    @abc.abstractmethod
    async def record_failure(self, name: str, *, limit: int, locked_until: str) -> None:
        """The attempt counted by :meth:`begin_attempt` failed and stays counted; once
        ``limit`` are counted the account is locked until ``locked_until`` and the count
        starts again. Atomic."""

    @abc.abstractmethod
    async def record_success(self, name: str, *, now: str) -> bool:
        """The attempt counted by :meth:`begin_attempt` had the right password: the count
        starts again, unless the account was locked meanwhile (False, nothing changed)."""

    @abc.abstractmethod
    async def end_sessions(self, name: str) -> None:
        """Bump ``session_version``: every session issued before is refused from now on."""
