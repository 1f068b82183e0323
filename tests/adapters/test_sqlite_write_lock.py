"""How a write of the SQLite adapter meets another writer's lock (``VizmoSqliteAdapter.write``
and :mod:`adapters.vizmo_sqlite.busy_writer`): the write tries the lock once on the event loop
and, finding it taken, waits for it off the loop, which meanwhile runs other callbacks; past
``write_lock_wait`` it gives up (503) having written nothing. Real files, real second
connections (the portal) on threads of their own, and two adapters on two loops as two worker
processes would be, with the WAL checkpointer's FULL rounds holding writers off too."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Awaitable

import pytest

from adapters.errors import Unavailable
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.polling import wait_until_async


def _user(name: str) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"{name}@example.com"}


class _Portal:
    """Another connection that takes the write lock on a thread of its own and keeps it until
    :meth:`release` (or ``hold`` seconds), as the portal or the CLI would."""

    def __init__(self, path: Path, hold: float = 60.0) -> None:
        self._taken, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(path, hold))
        self._thread.start()
        assert self._taken.wait(10)

    def _hold(self, path: Path, hold: float) -> None:
        other = sqlite3.connect(str(path), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO companies (name) VALUES ('Other writer')")
            self._taken.set()
            self._release.wait(hold)
            other.execute("COMMIT")
        finally:
            other.close()

    def release(self) -> None:
        self._release.set()
        self._thread.join()


def _run(coroutine: Awaitable[Any]) -> Any:
    """On a loop of its own: asyncio.run would drop the loop pytest-tornado leaves current."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coroutine, 60))
    finally:
        loop.close()


def _count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "directory.db"
    create_directory(path)
    return path


@pytest.mark.parametrize("hold", [0.05, 0.3])  # another worker's long transaction; the portal
def test_a_write_that_meets_the_lock_leaves_the_loop_free_and_then_commits(directory: Path, hold: float) -> None:
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> tuple[list[str], str]:
        await adapter.start()
        try:
            ran: list[str] = []
            portal = _Portal(directory, hold)  # commits by itself after `hold` seconds
            asyncio.get_running_loop().call_soon(ran.append, "other callback")
            created = await adapter.resource_adapter("User", "1").create(_user("waited"))
            seen = list(ran)  # before stop(), which yields to the loop
            portal.release()
            return seen, created["userName"]
        finally:
            await adapter.stop()

    ran, user_name = _run(scenario())
    assert user_name == "waited@example.com"
    assert ran == ["other callback"]  # the loop ran others while the write waited
    assert _count(directory, "SELECT count(*) FROM companies") == 2  # both writers committed
    assert _count(directory, "SELECT count(*) FROM employees WHERE email = 'waited@example.com'") == 1


def test_past_the_wait_limit_a_write_is_refused_and_writes_nothing(directory: Path) -> None:
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> None:
        await adapter.start()
        try:
            adapter.write_lock_wait = 0.2
            users = adapter.resource_adapter("User", "1")
            portal = _Portal(directory)
            try:
                with pytest.raises(Unavailable):
                    await users.create(_user("refused"))
            finally:
                portal.release()
            assert (await users.create(_user("accepted")))["userName"] == "accepted@example.com"
        finally:
            await adapter.stop()

    _run(scenario())
    assert _count(directory, "SELECT count(*) FROM employees WHERE email = 'refused@example.com'") == 0
    assert _count(directory, "SELECT count(*) FROM employees WHERE email = 'accepted@example.com'") == 1


def test_stop_fails_a_write_still_waiting_for_the_lock_and_ends(directory: Path) -> None:
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> None:
        await adapter.start()
        portal = _Portal(directory)
        try:
            tries: list[str] = []
            assert adapter._write_now is not None
            adapter._write_now.set_trace_callback(lambda sql: tries.append(sql) if sql == "BEGIN IMMEDIATE" else None)
            waiting = asyncio.ensure_future(adapter.resource_adapter("User", "1").create(_user("stopped")))
            await wait_until_async(lambda: len(tries) >= 2)  # it met the lock twice: it is on the thread
            await adapter.stop()
            with pytest.raises(Unavailable):
                await waiting
        finally:
            portal.release()
            await adapter.stop()

    _run(scenario())
    assert _count(directory, "SELECT count(*) FROM employees WHERE email = 'stopped@example.com'") == 0


def test_a_write_on_the_thread_runs_to_its_end_when_its_task_is_cancelled(directory: Path) -> None:
    """A write handed to the thread cannot be called back: the task that awaits it is
    cancelled once the write has committed, as an awaited transaction on the loop would be."""
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> None:
        await adapter.start()
        try:
            tries: list[str] = []
            assert adapter._write_now is not None
            adapter._write_now.set_trace_callback(lambda sql: tries.append(sql) if sql == "BEGIN IMMEDIATE" else None)
            portal = _Portal(directory)
            try:
                waiting = asyncio.ensure_future(adapter.resource_adapter("User", "1").create(_user("cancelled")))
                await wait_until_async(lambda: len(tries) >= 2)  # on the thread
                waiting.cancel()
            finally:
                portal.release()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert waiting.cancelled()
        finally:
            await adapter.stop()

    _run(scenario())
    assert _count(directory, "SELECT count(*) FROM employees WHERE email = 'cancelled@example.com'") == 1


def test_writes_queued_behind_a_waiting_write_go_back_to_the_loop_once_the_lock_is_free(directory: Path) -> None:
    """Six writes meet the portal's lock and go to the busy writer's thread. Once the portal
    commits, the thread runs the first (it had the lock in hand) and gives the other five back
    to the loop, which commits them on its own connection: run on the thread one after another,
    each would hold the lock across GIL hand-offs and send the loop's next writes to the thread
    too (the convoy of :meth:`BusyWriter._hand_back_waiting`)."""
    adapter = VizmoSqliteAdapter(directory)
    writes = 6

    async def scenario() -> tuple[int, int, int]:
        await adapter.start()
        try:
            assert adapter._write_now is not None and adapter._busy_writer is not None
            statements: list[str] = []
            adapter._write_now.set_trace_callback(
                lambda sql: statements.append(sql) if sql in ("BEGIN IMMEDIATE", "COMMIT") else None)
            users = adapter.resource_adapter("User", "1")
            portal = _Portal(directory)
            try:
                waiting = [asyncio.ensure_future(users.create(_user(f"queued-{n}"))) for n in range(writes)]
                # each tries twice on the loop, then is queued for the thread in the same step
                await wait_until_async(lambda: statements.count("BEGIN IMMEDIATE") >= 2 * writes)
                assert not any(task.done() for task in waiting)
            finally:
                portal.release()
            created = await asyncio.gather(*waiting)
            assert sorted(user["userName"] for user in created) == [f"queued-{n}@example.com" for n in range(writes)]
            return adapter._busy_writer.committed, adapter._busy_writer.handed_back, statements.count("COMMIT")
        finally:
            await adapter.stop()

    on_thread, handed_back, committed_on_loop = _run(scenario())
    assert (on_thread, handed_back, committed_on_loop) == (1, writes - 1, writes - 1)
    assert _count(directory, "SELECT count(*) FROM employees WHERE email LIKE 'queued-%'") == writes


def test_two_workers_the_portal_and_full_checkpoints_write_concurrently(directory: Path) -> None:
    """Two adapters, each on its own loop and thread (two worker processes' event loops), create
    users while the portal commits transactions of its own and the checkpointers run FULL rounds
    (a restart every few frames here). The portal's first transaction is held until each worker
    has met it with 8 writes under way, so those wait for the lock off the loop. Every write
    commits exactly once and the file stays sound."""
    per_worker, batch, portal_rows = 120, 8, 30
    all_started, portal_has_lock, all_met_the_lock = threading.Barrier(3), threading.Event(), threading.Barrier(3)
    outcomes: dict[str, Any] = {}
    checkpointers: list[Any] = []

    def worker(name: str) -> None:
        adapter = VizmoSqliteAdapter(directory)

        async def scenario() -> tuple[int, int]:
            await adapter.start()  # before the portal takes the lock: start() creates tables
            try:
                assert adapter._checkpointer is not None and adapter._busy_writer is not None
                adapter._checkpointer.restart_frames = 8
                checkpointers.append(adapter._checkpointer)
                users = adapter.resource_adapter("User", "1")
                await asyncio.to_thread(all_started.wait, 30)
                assert await asyncio.to_thread(portal_has_lock.wait, 30)
                first = [asyncio.ensure_future(users.create(_user(f"{name}-{n}"))) for n in range(batch)]
                await asyncio.sleep(0)  # each of them has run up to its first try of the lock
                await asyncio.to_thread(all_met_the_lock.wait, 30)
                assert len(await asyncio.gather(*first)) == batch
                for start in range(batch, per_worker, batch):  # 8 requests under way at a time
                    assert len(await asyncio.gather(*(users.create(_user(f"{name}-{n}"))
                                                      for n in range(start, start + batch)))) == batch
                extra, deadline = 0, time.monotonic() + 30
                while not any(c.restarts for c in checkpointers) and time.monotonic() < deadline:
                    await users.create(_user(f"{name}-extra-{extra}"))  # until a FULL round restarted the WAL
                    extra += 1
                    await asyncio.sleep(0.01)
                return adapter._busy_writer.committed + adapter._busy_writer.handed_back, per_worker + extra
            finally:
                await adapter.stop()

        try:
            outcomes[name] = _run(scenario())
        except BaseException as exc:  # reported by the test's thread
            outcomes[name] = exc

    def portal() -> None:
        try:
            outcomes["portal"] = _portal_transactions()
        except BaseException as exc:  # reported by the test's thread
            outcomes["portal"] = exc

    def _portal_transactions() -> int:
        conn = sqlite3.connect(str(directory), isolation_level=None, timeout=30)
        try:
            all_started.wait(30)
            for n in range(portal_rows):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO companies (name) VALUES (?)", (f"portal {n}",))
                if n == 0:
                    portal_has_lock.set()
                    all_met_the_lock.wait(30)
                else:
                    threading.Event().wait(0.002)  # a portal transaction that takes its time
                conn.execute("COMMIT")
            return portal_rows
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    threads.append(threading.Thread(target=portal))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    failures = {name: repr(outcome) for name, outcome in outcomes.items() if isinstance(outcome, BaseException)}
    assert not failures, failures
    for name in ("a", "b"):
        assert outcomes[name][0] >= batch  # at least its first writes waited off the loop (or were handed back)
    assert any(c.restarts for c in checkpointers)
    created = sum(outcomes[name][1] for name in ("a", "b"))
    assert _count(directory, "SELECT count(*) FROM employees WHERE email LIKE '%@example.com'") == created
    assert _count(directory, "SELECT count(*) FROM scim_users") == created
    assert _count(directory, "SELECT count(*) FROM companies") == 1 + portal_rows
    conn = sqlite3.connect(str(directory))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
