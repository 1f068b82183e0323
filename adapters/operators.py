"""Operator accounts of the admin page (``/admin``), kept by the state store beside the gateway's
other state so that every gateway process and host sees the same accounts and lock-outs.

Only a password *hash* is stored (the gateway hashes with ``hashlib.scrypt``). Every change is
one statement the storage decides, never a read followed by a write: ``record_failure`` counts
and locks atomically, so concurrent wrong passwords on several workers are all counted.
"""

from __future__ import annotations

import abc
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
    async def record_failure(self, name: str, *, limit: int, locked_until: str) -> None:
        """Count a failed sign-in; the ``limit``-th in a row locks the account until
        ``locked_until`` (an ISO 8601 UTC time) and starts the count again. Atomic."""

    @abc.abstractmethod
    async def record_success(self, name: str) -> None:
        """A successful sign-in: the count of failures starts again."""

    @abc.abstractmethod
    async def end_sessions(self, name: str) -> None:
        """Bump ``session_version``: every session issued before is refused from now on."""
