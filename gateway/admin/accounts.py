"""Operator sign-in and sessions of the admin page, over the state store's
:class:`~adapters.operators.OperatorStore` (shared by every worker and host).

- Sign-in: every failure (unknown name, wrong password, locked account) is the same ``None``
  after the same work (a decoy hash is verified for an unknown name), so the answer tells an
  attacker nothing about which names exist. :data:`LOCK_AFTER` failures in a row lock the
  account for :data:`LOCK_MINUTES` (the store counts atomically, so concurrent attempts on
  several workers are all counted).
- A session is the operator's name and ``session_version``; it holds only while the account
  exists with that version, so sign-out (which bumps it), ``vizmo-scim admin remove`` and a new
  password (``admin add`` again) end every session of the account on the next request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from adapters.activity import activity_time
from adapters.operators import Operator, OperatorStore
from gateway.admin.passwords import MAX_PASSWORD_CHARS, verify_async

#: Failed sign-ins in a row that lock an account, and for how long.
LOCK_AFTER = 5
LOCK_MINUTES = 15
#: An operator name: letters, digits and ``. _ @ -``, at most 64 (it appears in pages and logs).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Session:
    """What the signed session cookie carries (never the password or its hash)."""

    name: str
    version: int

    def encode(self) -> str:
        return json.dumps({"n": self.name, "v": self.version}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | None) -> "Session | None":
        """The session in a cookie value whose signature Tornado has checked; None if malformed."""
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str) or type(data.get("v")) is not int:
            return None
        return cls(data["n"], data["v"])


def can_see(operator: Operator, location: str) -> bool:
    """Whether ``operator`` may see and change ``location`` (an operator without locations: all)."""
    return operator.locations is None or location in operator.locations


class Accounts:
    """Sign-in, sessions and sign-out against the operator store."""

    def __init__(self, operators: OperatorStore) -> None:
        self.operators = operators

    async def sign_in(self, name: str, password: str, *, now: datetime | None = None) -> Operator | None:
        """The operator when ``name`` and ``password`` match and the account is not locked, else None.

        The attempt is counted before the password is checked (:meth:`OperatorStore.begin_attempt`):
        of guesses sent at once, only as many as the lock allows are checked at all. A refused
        attempt still spends a hash, so that its answer takes as long as any other's."""
        moment = now or datetime.now(timezone.utc)
        operator = await self.operators.get(name) if NAME.fullmatch(name) else None
        if len(password) > MAX_PASSWORD_CHARS:
            password = ""
        counted = operator is not None and await self.operators.begin_attempt(
            name, limit=LOCK_AFTER, now=activity_time(moment))
        matched = await verify_async(password, operator.password_hash if counted and operator is not None else None)
        if operator is None or not counted:
            return None  # no account, locked, or as many attempts under way as the lock allows
        if not matched:
            await self.operators.record_failure(
                name, limit=LOCK_AFTER, locked_until=activity_time(moment + timedelta(minutes=LOCK_MINUTES)))
            return None
        if not await self.operators.record_success(name, now=activity_time(moment)):
            return None  # locked meanwhile by the failures of attempts sent with this one
        return operator

    async def resume(self, session: Session | None) -> Operator | None:
        """The operator of a session that still holds (account present, same session version)."""
        if session is None:
            return None
        operator = await self.operators.get(session.name)
        if operator is None or operator.session_version != session.version:
            return None
        return operator

    async def sign_out(self, operator: Operator) -> None:
        """End every session of the account."""
        await self.operators.end_sessions(operator.name)
