"""A scan the caller gave up on stops (``adapters/vizmo_sqlite/scan_reader.py``): aiosqlite ran
every queued call to its end, so a search answered 503 at the adapter timeout kept the worker's
one reading thread busy for seconds more, and every other location's lists waited behind it (a
scale review, 1,000,000 employees). A real directory file; the slow statement is a recursive
count that runs for minutes unless interrupted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from adapters.query import AttrPath, Compare, ListQuery
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.polling import run_on_own_loop

#: Minutes of work for SQLite's virtual machine unless it is interrupted.
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c"


def run_with_adapter(tmp_path: Path, scenario: Callable[[VizmoSqliteAdapter], Awaitable[None]]) -> None:
    create_directory(tmp_path / "directory.db")

    async def with_adapter() -> None:
        adapter = VizmoSqliteAdapter(tmp_path / "directory.db")
        await adapter.start()
        try:
            await scenario(adapter)
        finally:
            await adapter.stop()

    run_on_own_loop(with_adapter())


def test_a_scan_given_up_on_is_interrupted_and_the_next_read_runs(tmp_path: Path) -> None:
    async def scenario(adapter: VizmoSqliteAdapter) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(adapter.read(RUNAWAY, ()), 0.3)
        rows = await asyncio.wait_for(adapter.read("SELECT count(*) AS n FROM employees", ()), 20)
        assert rows[0]["n"] >= 0

    run_with_adapter(tmp_path, scenario)


def test_a_scan_given_up_on_before_its_turn_never_runs(tmp_path: Path) -> None:
    """Two runaway scans, both abandoned: the second, queued behind the first, must not start
    once the first is interrupted (it would hold the thread for minutes)."""
    async def scenario(adapter: VizmoSqliteAdapter) -> None:
        scans = [asyncio.ensure_future(adapter.read(RUNAWAY, ())) for _ in range(2)]
        done, _ = await asyncio.wait(scans, timeout=0.3)
        assert not done
        for scan in scans:
            scan.cancel()
        await asyncio.gather(*scans, return_exceptions=True)
        assert all(scan.cancelled() for scan in scans)
        rows = await asyncio.wait_for(adapter.read("SELECT 1 AS one", ()), 20)
        assert rows[0]["one"] == 1

    run_with_adapter(tmp_path, scenario)


def test_a_scan_given_up_on_before_its_statement_started_never_runs_long(tmp_path: Path) -> None:
    """Cancelled once it has the connection but before its statement reached the thread: an
    interrupt then finds nothing running and is lost, and the statement ran to its end (a
    review of the reader); the abandoned flag stops it as soon as it starts."""
    async def scenario(adapter: VizmoSqliteAdapter) -> None:
        scan = asyncio.ensure_future(adapter.read(RUNAWAY, ()))
        await asyncio.sleep(0)  # it has taken its turn and queued nothing on the thread yet
        scan.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(scan, 20)
        rows = await asyncio.wait_for(adapter.read("SELECT 2 AS two", ()), 20)
        assert rows[0]["two"] == 2

    run_with_adapter(tmp_path, scenario)


def test_a_point_look_up_does_not_wait_behind_a_scan(tmp_path: Path) -> None:
    """``userName eq`` with ``count=1`` found its user and then counted the matches through the
    scans' reader, behind a million-employee list (a review); the count is an index look-up
    too, read on the event loop."""
    async def scenario(adapter: VizmoSqliteAdapter) -> None:
        users = adapter.resource_adapter("User", "1")
        await users.create({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "p@example.com"})
        scan = asyncio.ensure_future(adapter.read(RUNAWAY, ()))
        await asyncio.sleep(0)
        try:
            query = ListQuery(filter=Compare(AttrPath("userName"), "eq", "P@example.com"), count=1)
            page = await asyncio.wait_for(users.search(query), 20)
            assert page.total_results == 1 and [u["userName"] for u in page.resources] == ["p@example.com"]
            assert not scan.done()  # it was still running: the look-up did not wait for it
        finally:
            scan.cancel()
            await asyncio.gather(scan, return_exceptions=True)

    run_with_adapter(tmp_path, scenario)
