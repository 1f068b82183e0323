"""Appending entries off the request path, and pruning old ones in the background.

A request never waits for the log: refusals (and the writes of an adapter that does not journal
them itself) are buffered and appended in batches, one transaction each, by a task of the worker.
A flood of refused requests therefore costs one append per batch, not one write per request.
A refusal of a request to one user that did not carry its userName (a PATCH answered ``412`` or
``400``, a DELETE answered ``412``) gets the user's userName looked up when it is appended, so
that the Activity page's userName filter finds it (it found only the user's changes before).
Entries of locations the directory does not have are dropped (a request that never reached a
tenant). Retention deletes entries older than ``retention_days`` in small batches, a pause
between them, so it never holds the storage for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from adapters.activity import ActivityEntry, ActivityLog, activity_time
from adapters.base import Adapter
from adapters.datetimes import parse_datetime
from adapters.errors import AdapterError, InvalidValue
from adapters.location_ids import location_number
from gateway.activity.journal import MAX_REFUSED_TEXT

log = logging.getLogger("vizmo_scim.app")

#: Entries are appended at most this long after the request (or sooner, once a batch is full).
FLUSH_SECONDS = 0.2
#: While the store fails, each try waits twice as long as the one before, up to this (every 0.2 s
#: was five WARNING lines and connection attempts a second per worker: 18,000 an hour).
RETRY_MAX_SECONDS = 10.0
BATCH = 200
#: At most this many entries wait; past it the oldest are dropped and a warning is logged (a
#: storage that is down must not make the worker's memory grow without bound).
MAX_PENDING = 10_000
PRUNE_EVERY_SECONDS = 3600.0
PRUNE_BATCH = 500
PRUNE_PAUSE_SECONDS = 0.05
#: How long "the directory has no such location" is believed: refusals to a location the portal
#: adds later are stored from then on (they were dropped until a restart: a soak review). What
#: exists is believed for good. Each table holds at most :data:`KNOWN_MAX` locations, the oldest
#: forgotten first.
ABSENT_SECONDS = 60.0
KNOWN_MAX = 10_000
#: How long the look-up of a refused request's user may take before its entry is stored without
#: the userName (the entries after it wait for it).
NAME_LOOKUP_SECONDS = 5.0


V = TypeVar("V")


def _bounded(table: dict[str, V]) -> dict[str, V]:
    """``table`` with room for one more location: its oldest one forgotten when it is full."""
    if len(table) >= KNOWN_MAX:
        del table[next(iter(table))]
    return table


class ActivityRecorder:
    """Buffers entries and appends them to ``log`` in batches from a task of its own."""

    def __init__(self, log_: ActivityLog, adapter: Adapter, *, retention_days: int = 90,
                 absent_seconds: float = ABSENT_SECONDS) -> None:
        self._log = log_
        self._adapter = adapter
        self.retention_days = retention_days
        self.absent_seconds = absent_seconds
        self._pending: list[tuple[ActivityEntry, bool]] = []  # each with whether to name it after its user
        self._flusher: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._stopping = False  # close() was called: a flusher returns after its round
        self._present: dict[str, None] = {}  # an insertion-ordered set
        self._absent: dict[str, float] = {}  # location -> until when it is believed absent (monotonic)

    def record(self, entry: ActivityEntry, *, name_after_user: bool = False) -> None:
        """Queue ``entry`` (never blocks, never raises); a task appends it within
        :data:`FLUSH_SECONDS`, together with whatever else was queued meanwhile. With
        ``name_after_user`` (its ``resource_id`` is a user's), an entry without a userName gets
        that user's, if the user exists then."""
        self._pending.append((entry, name_after_user))
        if len(self._pending) > MAX_PENDING:
            del self._pending[: len(self._pending) - MAX_PENDING]
            log.warning("activity log: %d entries wait to be stored; the oldest are dropped", MAX_PENDING)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())

    def exists(self, tenant: str) -> bool | None:
        """Whether entries of ``tenant`` are stored (its location exists), as far as known yet."""
        if tenant in self._present:
            return True
        until = self._absent.get(tenant)
        return False if until is not None and until > time.monotonic() else None

    def start_pruning(self) -> None:
        """Prune by age now and every :data:`PRUNE_EVERY_SECONDS` (a serving worker's task)."""
        self._pruner = asyncio.ensure_future(self._prune_loop())

    async def close(self) -> None:
        """Stop pruning and store what is still queued. A flush under way is waited for, not
        cancelled: cancelled, it lost the batch it had taken off the queue (neither stored nor
        put back, and nothing logged: an activity review stopped a gateway while the store was
        locked). What cannot be stored even now is counted in a WARNING."""
        self._stopping = True
        if self._pruner is not None and not self._pruner.done():
            self._pruner.cancel()
        await asyncio.gather(*(t for t in (self._pruner, self._flusher) if t is not None), return_exceptions=True)
        self._pruner = self._flusher = None
        await self.flush()
        if self._pending:
            log.warning("activity log: %d entries could not be stored before the stop and are lost",
                        len(self._pending))

    async def flush(self) -> bool:
        """Append every queued entry of a location the directory has, in batches; False when the
        store failed (the entries not stored stay queued)."""
        while self._pending:
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            try:
                kept = [await self._named(entry) if named else entry for entry, named in batch
                        if await self._reaches_a_tenant(entry.tenant)]
                try:
                    await self._log.append(kept)
                except InvalidValue:  # an entry the storage refuses for good: the others one at a time
                    while kept:
                        batch = [(entry, False) for entry in kept]  # what waits if the storage fails now
                        await self._append_alone(kept.pop(0))
            except AdapterError as exc:  # the storage is down: keep the entries for the next round
                self._pending[:0] = batch
                log.warning("activity log: %d entries not stored yet: %s", len(batch), exc.detail)
                return False
            except Exception as exc:  # noqa: BLE001 - an adapter's untranslated error: the batch is kept too
                self._pending[:0] = batch
                log.warning("activity log: %d entries not stored yet: %s: %s", len(batch), type(exc).__name__, exc)
                return False
        return True

    async def _append_alone(self, entry: ActivityEntry) -> None:
        """Append ``entry`` by itself; dropped with a WARNING if the storage refuses a value of it.
        Kept, it was refused again every round, and held every entry queued behind it."""
        try:
            await self._log.append([entry])
        except InvalidValue as exc:
            log.warning("activity log: an entry the storage refuses is dropped (location %s, %s %d, request %s): %s",
                        entry.tenant, entry.method, entry.status, entry.request_id, exc.detail)

    async def _reaches_a_tenant(self, tenant: str) -> bool:
        known = self.exists(tenant)
        if known is None:
            known = location_number(tenant) is not None and await self._adapter.tenant_exists(tenant)
            self._absent.pop(tenant, None)
            if known:
                _bounded(self._present)[tenant] = None
            else:
                _bounded(self._absent)[tenant] = time.monotonic() + self.absent_seconds
        return known

    async def _named(self, entry: ActivityEntry) -> ActivityEntry:
        """``entry`` with the userName of the user its ``resource_id`` names; as it is when it has
        one already, there is no such user, or the look-up fails or takes more than
        :data:`NAME_LOOKUP_SECONDS`."""
        if entry.user_name is not None or entry.resource_id is None:
            return entry
        try:
            async with asyncio.timeout(NAME_LOOKUP_SECONDS):
                user = await self._adapter.resource_adapter("User", entry.tenant).get(entry.resource_id)
        except Exception:  # noqa: BLE001 - no such user, the storage down, an adapter's bug: stored unnamed
            return entry
        name = user.get("userName")
        return replace(entry, user_name=name[:MAX_REFUSED_TEXT]) if isinstance(name, str) else entry

    async def _flush_soon(self) -> None:
        pause = FLUSH_SECONDS
        while True:
            await asyncio.sleep(pause)
            stored = await self.flush()
            if not self._pending or self._stopping:  # checked and returned without an await: record()
                return                                 # starts a new task; close() tries once more
            pause = next_pause(pause, stored)

    async def _prune_loop(self) -> None:
        while True:
            await prune(self._log, self.retention_days)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)


def next_pause(pause: float, stored: bool) -> float:
    """How long the flusher waits before its next try: :data:`FLUSH_SECONDS` after a try that
    stored everything, twice ``pause`` (at most :data:`RETRY_MAX_SECONDS`) after one that failed."""
    return FLUSH_SECONDS if stored else min(2 * pause, RETRY_MAX_SECONDS)


async def prune(log_: ActivityLog, retention_days: int, *, batch: int = PRUNE_BATCH,
                pause: float = PRUNE_PAUSE_SECONDS) -> int:
    """Delete the entries older than ``retention_days``, ``batch`` at a time with a ``pause``
    between batches; return how many were deleted. Nothing within ``retention_days`` of the newest
    entry is deleted: a clock running fast when it prunes (an NTP step, a VM resumed) deleted every
    entry for good (a review: 100 days ahead for four seconds emptied the log)."""
    before = activity_time(datetime.now(timezone.utc) - timedelta(days=retention_days))
    deleted = 0
    try:
        newest = parse_datetime(await log_.newest_time() or "")
        if newest is not None and newest - datetime.min.replace(tzinfo=timezone.utc) > timedelta(days=retention_days):
            before = min(before, activity_time(newest - timedelta(days=retention_days)))  # (else it has no date)
        while True:
            count = await log_.prune(before, batch=batch)
            deleted += count
            if count == 0:  # an adapter may delete fewer than a batch before the end (ActivityLog.prune)
                break
            await asyncio.sleep(pause)
    except AdapterError as exc:
        log.warning("activity log: pruning stopped: %s", exc.detail)
    if deleted:
        log.info("activity log: %d entries older than %s deleted ([activity] retention_days = %d)", deleted, before,
                 retention_days)
    return deleted
