"""The SQLite activity log's table (adapters/sqlite_activity.py): what an entry costs a write, the
migration of files made before, and retention without an index on ``time``. Real files, the
state store as the gateway opens it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from adapters.activity import ActivityEntry, ActivityRecord, Outcome, activity_time, read_conditions
from adapters.sqlite_state import SqliteStateStore
from gateway.activity.recorder import prune

#: The schema of files created before the activity log dropped its time index and AUTOINCREMENT.
_EARLIER_DDL = """
CREATE TABLE scim_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, location_id INTEGER NOT NULL, method TEXT NOT NULL,
    operation TEXT NOT NULL, resource_id TEXT, user_name TEXT, attributes TEXT NOT NULL, status INTEGER NOT NULL,
    scim_type TEXT, request_id TEXT NOT NULL, changed_values TEXT);
CREATE INDEX scim_activity_location_time ON scim_activity (location_id, time);
CREATE INDEX scim_activity_time ON scim_activity (time);
"""


def _entry(time: str, request_id: str) -> ActivityEntry:
    return ActivityEntry(time=time, tenant="1", method="PATCH", operation="patch", resource_id="7",
                         user_name="ada@example.com", attributes=("title",), status=200, scim_type=None,
                         request_id=request_id)


def _run(coroutine: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _indexes(path: Path) -> list[str]:
    conn = sqlite3.connect(str(path))
    try:
        return [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scim_activity' ORDER BY name")]
    finally:
        conn.close()


def _wal_frames_of_one_append(path: Path, status: int = 200) -> int:
    """WAL frames (pages) one appended entry writes, in a file checkpointed just before."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("INSERT INTO scim_activity (time, location_id, method, operation, attributes, status, "
                      "request_id) VALUES ('2026-12-06T00:00:00.000Z', 1, 'PATCH', 'patch', '[]', ?, 'x')", (status,))
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        conn.close()


def _read_plan(path: Path, *, before: ActivityRecord | None, outcome: Outcome | None) -> list[str]:
    """SQLite's plan of the Activity page's read of location 1 (``EXPLAIN QUERY PLAN`` steps)."""
    where, params = read_conditions("1", since=None, before=before, user_name=None, outcome=outcome,
                                    same_user_name="user_name = ? COLLATE NOCASE")
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM scim_activity WHERE {where} ORDER BY time DESC, id DESC LIMIT 50",
            params)]
    finally:
        conn.close()


def test_an_entry_writes_two_pages_its_table_and_the_per_location_index(tmp_path: Path) -> None:
    """Each page an entry touches is one more WAL frame inside every journaled write's transaction;
    the refusals' partial index is touched by a refusal's entry alone."""
    path = tmp_path / "state.db"
    store = SqliteStateStore(path)
    _run(store.start())
    _run(store.close())
    assert _indexes(path) == ["scim_activity_location_time", "scim_activity_refusals"]
    assert _wal_frames_of_one_append(path) == 2
    assert _wal_frames_of_one_append(path, status=409) == 3


def test_a_file_made_before_loses_the_time_index_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_EARLIER_DDL)
    conn.execute("INSERT INTO scim_activity (time, location_id, method, operation, attributes, status, request_id) "
                 "VALUES ('2020-01-01T00:00:00.000Z', 1, 'PATCH', 'patch', '[]', 200, 'before')")
    conn.commit()
    conn.close()
    assert _wal_frames_of_one_append(path) == 4  # the table, two indexes, sqlite_sequence

    store = SqliteStateStore(path)

    async def scenario() -> list[str]:
        await store.start()
        try:
            log = store.activity_log()
            await log.append([_entry("2026-12-06T08:00:00.000Z", "after")])
            return [record.entry.request_id for record in await log.read("1")]
        finally:
            await store.close()

    assert _run(scenario()) == ["after", "x", "before"]
    assert _indexes(path) == ["scim_activity_location_time", "scim_activity_refusals"]
    assert _wal_frames_of_one_append(path) == 3  # AUTOINCREMENT's sqlite_sequence row stays


def test_retention_deletes_old_entries_whatever_their_ids_order(tmp_path: Path) -> None:
    """Retention reads each location's old entries from the ``(location_id, time)`` index, ``batch``
    at a time: an old entry appended after newer ones (a refusal batch flushed late) goes too."""
    store = SqliteStateStore(tmp_path / "state.db")

    async def scenario() -> tuple[list[int], list[str]]:
        await store.start()
        try:
            log = store.activity_log()
            times = ["2020-01-01T00:00:00.000Z"] * 3 + ["2026-12-06T08:00:00.000Z"] + ["2020-01-01T00:00:01.000Z"]
            await log.append([_entry(time, f"r{n}") for n, time in enumerate(times)])
            counts = [await log.prune("2026-01-01T00:00:00.000Z", batch=2) for _ in range(4)]
            return counts, sorted(record.entry.request_id for record in await log.read("1"))
        finally:
            await store.close()

    counts, kept = _run(scenario())
    assert counts == [2, 2, 0, 0]
    assert kept == ["r3"]


def test_retention_steps_over_entries_dated_in_the_future(tmp_path: Path) -> None:
    """Entries written while the host's clock ran ahead sit at the oldest ids, dated days ahead or
    less than one: a walk of the oldest ids stopped at them and deleted nothing behind them (reviews:
    600 such entries kept 400,000 old ones; one dated 12 hours ahead did the same); they stay until
    their own time is old enough."""
    store = SqliteStateStore(tmp_path / "state.db")
    now = datetime.now(timezone.utc)
    ahead, old, recent, soon = (activity_time(now + timedelta(days=days)) for days in (165, -100, -10, 0.5))

    async def scenario() -> tuple[int, list[str]]:
        await store.start()
        try:
            log = store.activity_log()
            await log.append([_entry(soon, "soon")] + [_entry(ahead, f"ahead{n}") for n in range(600)]
                             + [_entry(old, f"old{n}") for n in range(1200)]
                             + [_entry(recent, f"recent{n}") for n in range(3)])
            deleted = await prune(log, 90, batch=500, pause=0)
            return deleted, [record.entry.request_id for record in await log.read("1", limit=10_000)]
        finally:
            await store.close()

    deleted, kept = _run(scenario())
    assert deleted == 1200
    assert sorted(kept) == sorted([f"ahead{n}" for n in range(600)] + ["recent0", "recent1", "recent2", "soon"])


def test_a_page_deep_in_the_log_is_an_index_range_read(tmp_path: Path) -> None:
    """The cursor of the next page bounds the ``(location_id, time)`` index's range: as a filter
    alone it read every newer entry first, so each page cost more the deeper it was (a review:
    2 ms for the newest page, 60-88 ms a month back; the CSV export quadratic)."""
    store = SqliteStateStore(tmp_path / "state.db")

    async def scenario() -> None:
        await store.start()
        await store.close()

    _run(scenario())
    cursor = ActivityRecord(7, _entry("2026-11-10T00:00:00.000Z", "r"))
    plan = _read_plan(tmp_path / "state.db", before=cursor, outcome=None)
    assert any("scim_activity_location_time (location_id=? AND time<?)" in step for step in plan), plan


def test_the_refused_filter_reads_the_refusals_index(tmp_path: Path) -> None:
    """The Activity page's "refused" filter walked every entry of the location to find a few
    refusals among the writes (145 ms at 400,000: a soak review); it reads the partial index of
    refusals, newest first."""
    store = SqliteStateStore(tmp_path / "state.db")
    _run(store.start())
    log = store.activity_log()
    assert log is not None
    entries = [ActivityEntry(time=f"2026-11-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z", tenant="1",
                             method="PATCH", operation="patch", resource_id=str(n), user_name=None, attributes=(),
                             status=409 if n % 500 == 0 else 200, scim_type=None, request_id=f"r{n}")
               for n in range(5000)]
    _run(log.append(entries))
    refused = _run(log.read("1", outcome="refused", limit=50))
    _run(store.close())
    assert [r.entry.resource_id for r in refused] == [str(n) for n in range(4500, -1, -500)]
    plan = _read_plan(tmp_path / "state.db", before=None, outcome="refused")
    assert plan == ["SEARCH scim_activity USING INDEX scim_activity_refusals (location_id=?)"], plan
