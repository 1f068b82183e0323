"""The SQLite adapter's first start on a directory: creating the file and switching it to WAL
while other processes use it (adapters/vizmo_sqlite/bootstrap.py). Real files, real threads.

Both were traps: a directory still in rollback-journal mode (the portal's default) made
``serve`` fail at once with ``database is locked`` whenever the portal was mid-write, since
SQLite answers that switch with SQLITE_BUSY without waiting; and two processes creating the
embedded directory at once shared one temporary name, so one could replace the file under the
other's connections (``disk I/O error``, ``readonly database``, or writes lost in a deleted file).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from adapters.errors import Unavailable
from adapters.sqlite_state import SqliteStateStore
from adapters.vizmo_sqlite import bootstrap
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter

#: How long the portal keeps its write transaction open while the gateway starts.
PORTAL_HOLD_SECONDS = 0.3


def _portal_writing(path: Path, until: threading.Event) -> tuple[threading.Thread, threading.Event]:
    """A portal connection that takes the write lock (``BEGIN IMMEDIATE`` and an update), holds
    it until ``until`` is set, then commits; the returned event is set once the lock is held."""
    holding = threading.Event()

    def portal() -> None:
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE locations SET name = 'Delhi HQ' WHERE id = 1")
            holding.set()
            until.wait(30)
            conn.execute("COMMIT")
        finally:
            conn.close()

    thread = threading.Thread(target=portal)
    thread.start()
    return thread, holding


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.gen_test(timeout=30)
async def test_the_first_start_waits_for_a_portal_write_under_way(tmp_path: Path) -> None:
    path = tmp_path / "directory.db"
    bootstrap.create_directory(path)
    assert _journal_mode(path) == "delete"  # as the portal left it
    release = threading.Event()
    portal, holding = _portal_writing(path, release)
    assert holding.wait(10)
    timer = threading.Timer(PORTAL_HOLD_SECONDS, release.set)
    timer.start()

    async def start_and_read() -> tuple[bool, str]:
        adapter = VizmoSqliteAdapter(path)
        await adapter.start()
        released_first = release.is_set()  # the start cannot end while the portal holds the lock
        try:
            return released_first, str(adapter.read_now("SELECT name FROM locations WHERE id = 1", ())[0][0])
        finally:
            await adapter.stop()

    try:
        released_first, name = await start_and_read()
    finally:
        release.set()
        timer.cancel()
        portal.join(10)
    assert released_first
    assert name == "Delhi HQ"  # the portal's write, committed before the gateway went on
    assert _journal_mode(path) == "wal"


def test_a_directory_locked_past_the_wait_is_unavailable_with_the_reason(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "directory.db"
    bootstrap.create_directory(path)
    monkeypatch.setattr(bootstrap, "SETUP_WAIT", 0.2)
    release = threading.Event()
    portal, holding = _portal_writing(path, release)
    try:
        assert holding.wait(10)
        with pytest.raises(Unavailable, match=r"locked by another writer \(the portal, another gateway process or a "
                                              r"vizmo-scim command\) for 0.2 s"):
            bootstrap.connect(path)
    finally:
        release.set()
        portal.join(10)
    assert _journal_mode(path) == "delete"  # nothing half-switched; the next start switches it
    bootstrap.connect(path).close()
    assert _journal_mode(path) == "wal"


@pytest.mark.parametrize("round_", range(10))
def test_two_first_starts_creating_the_directory_at_once_use_one_file(tmp_path: Path, round_: int) -> None:
    """Two adapters (as ``serve`` and a CLI command would, here on two threads with their own
    connections) start on a missing directory at the same moment; each then writes through its
    own connections, and both writes are in the one file left at the path (none went to a file
    replaced under it)."""
    path = tmp_path / "directory.db"
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def first_start(company: int) -> None:
        async def go() -> None:
            adapter = VizmoSqliteAdapter(path, create_if_missing=True)
            barrier.wait(10)
            await adapter.start()
            try:
                await adapter.write(lambda conn: conn.execute(
                    "INSERT INTO companies (id, name) VALUES (?, ?)", (company, f"Company {company}")))
            finally:
                await adapter.stop()
        try:
            asyncio.run(go())  # on this thread's own loop, closed after
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=first_start, args=(company,)) for company in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    conn = sqlite3.connect(str(path))
    try:
        companies = conn.execute("SELECT id, name FROM companies ORDER BY id").fetchall()
    finally:
        conn.close()
    assert companies == [(1, bootstrap.DEMO_COMPANY), (2, "Company 2"), (3, "Company 3")]
    assert sorted(p.name for p in tmp_path.iterdir() if "creating" in p.name) == []


@pytest.mark.gen_test(timeout=30)
async def test_a_state_file_opened_while_another_process_writes_it_waits_for_the_write(tmp_path: Path) -> None:
    """The state store of the other adapters (``state.db``) switches to WAL on its first start too."""
    path = tmp_path / "state.db"
    other = sqlite3.connect(str(path), isolation_level=None)  # e.g. a CLI command, still in rollback mode
    other.execute("CREATE TABLE locations (id INTEGER PRIMARY KEY, name TEXT)")
    other.execute("INSERT INTO locations VALUES (1, 'Delhi')")
    other.close()
    release = threading.Event()
    writer, holding = _portal_writing(path, release)
    assert holding.wait(10)
    timer = threading.Timer(PORTAL_HOLD_SECONDS, release.set)
    timer.start()

    async def start_and_enable() -> str:
        store = SqliteStateStore(path)
        await store.start()
        try:
            await store.enable("1")
            return str(await store.active_token_id("1"))
        finally:
            await store.close()

    try:
        token_id = await start_and_enable()
    finally:
        release.set()
        timer.cancel()
        writer.join(10)
    assert len(token_id) == 32
    assert _journal_mode(path) == "wal"


def test_a_filesystem_without_hard_links_still_gets_the_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Some network mounts refuse ``link()`` (EPERM): the new directory is renamed into place
    instead, and an existing one is still never replaced."""
    def no_hard_links(src: object, dst: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(bootstrap.os, "link", no_hard_links)
    path = tmp_path / "directory.db"
    bootstrap.create_directory(path)
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("INSERT INTO companies (id, name) VALUES (2, 'Kept')")
        conn.commit()
    finally:
        conn.close()
    bootstrap.create_directory(path)  # a second creation finds the file there
    conn = sqlite3.connect(str(path))
    try:
        names = conn.execute("SELECT name FROM companies ORDER BY id").fetchall()
        assert names == [(bootstrap.DEMO_COMPANY,), ("Kept",)]
    finally:
        conn.close()
    assert [p.name for p in tmp_path.iterdir()] == ["directory.db"]


@pytest.mark.gen_test(timeout=30)
async def test_a_state_file_whose_tables_stay_locked_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    """Already in WAL mode, but another writer holds the lock past the store's timeout while the
    store creates its tables: ``Unavailable`` (a 503 or a one-line CLI error), not a raw SQLite error."""
    path = tmp_path / "state.db"
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE locations (id INTEGER PRIMARY KEY, name TEXT)")
    other.execute("INSERT INTO locations VALUES (1, 'Delhi')")
    other.close()
    release = threading.Event()
    writer, holding = _portal_writing(path, release)
    try:
        assert holding.wait(10)
        with pytest.raises(Unavailable, match="state store .*state.db could not be opened: database is locked"):
            await SqliteStateStore(path, timeout=0.2).start()
    finally:
        release.set()
        writer.join(10)
    store = SqliteStateStore(path, timeout=0.2)  # once the writer is gone it opens
    await store.start()
    try:
        assert await store.enable("1")
    finally:
        await store.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_damaged_state_file_is_unavailable_saying_to_restore_it(tmp_path: Path) -> None:
    """A truncated ``gateway-state.db`` (beside LDAP) ended ``serve`` and every command with a raw
    ``sqlite3.DatabaseError`` traceback (a durability review): ``Unavailable`` with what to do."""
    path = tmp_path / "gateway-state.db"
    store = SqliteStateStore(path)
    await store.start()
    await store.enable("1")
    await store.close()
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.seek(0)
        file.write(b"\xa5" * min(size, 4096))
    with pytest.raises(Unavailable, match=r"state store .*gateway-state.db is damaged \(.*\): restore it from a "
                                          r"backup \(README: Backups\)"):
        await SqliteStateStore(path).start()
