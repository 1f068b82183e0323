"""WAL checkpoints of the SQLite adapter run on their own thread, never inside a commit on the
event loop (adapters/vizmo_sqlite/checkpoint.py), and still copy the WAL back into the file.

What reached the database file itself is read from a copy of that file alone: without its
``-wal``, SQLite sees only what a checkpoint has copied.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import connect, create_directory
from adapters.sqlite_wal import WAL_SIZE_LIMIT
from adapters.vizmo_sqlite.checkpoint import CHECKPOINT_NICENESS, WalCheckpointer
from tests.polling import wait_until

USERS = 400


def _user(n: int) -> dict[str, Any]:
    # ~2 KB per user, so the WAL passes SQLite's default autocheckpoint (1,000 pages) on the way.
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{n}@example.com",
            "nickName": "x" * 2000}


_MAIN_FILE_ROWS = """
import shutil, sqlite3, sys
shutil.copyfile(sys.argv[1], sys.argv[2])
print(sqlite3.connect(sys.argv[2]).execute(sys.argv[3]).fetchone()[0])
"""


def _rows_in_main_file(path: Path, tmp: Path, sql: str) -> int | None:
    """Counted in a process of its own: closing a descriptor of the file in this process would drop
    the POSIX locks SQLite holds on it here, and another process could then take this one's
    connections for gone and delete the WAL under them (SQLite's "How To Corrupt" §2.2). None when
    the copy was taken while a checkpoint was writing the file (a torn copy: ask again)."""
    copy = tmp / f"main-only-{time.monotonic_ns()}.db"  # the database file alone, without directory.db-wal
    done = subprocess.run([sys.executable, "-c", _MAIN_FILE_ROWS, str(path), str(copy), sql],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        assert "malformed" in done.stderr, done.stderr
        return None
    return int(done.stdout)


def _run(coroutine: Any) -> None:
    """On a loop of its own: asyncio.run would drop the loop pytest-tornado leaves current, unclosed."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(coroutine, 60))
    finally:
        loop.close()


def test_the_adapter_commits_without_checkpointing_and_its_thread_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "directory.db"
    create_directory(path)
    adapter = VizmoSqliteAdapter(path)
    count = "SELECT count(*) FROM employees WHERE email LIKE 'user%'"

    async def scenario() -> None:
        await adapter.start()
        try:
            assert adapter._write_now is not None and adapter._checkpointer is not None
            assert adapter._write_now.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            users = adapter.resource_adapter("User", "1")
            for n in range(USERS):
                await users.create(_user(n))
            wait_until(lambda: _rows_in_main_file(path, tmp_path, count) == USERS)
            wait_until(lambda: adapter._checkpointer.checkpoints >= 1)  # the round ends after its sync
        finally:
            await adapter.stop()

    _run(scenario())


def _writer_and_checkpointer(tmp_path: Path, **options: Any) -> tuple[Path, sqlite3.Connection, WalCheckpointer]:
    """A new directory, a writer that leaves the WAL alone (as the adapter's), a started checkpointer."""
    path = tmp_path / "directory.db"
    create_directory(path)
    writer = connect(path)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    checkpointer = WalCheckpointer(path, **options)
    checkpointer.start()
    return path, writer, checkpointer


def test_a_commit_on_a_connection_without_autocheckpoint_leaves_the_wal_to_the_thread(tmp_path: Path) -> None:
    """The checkpointer on its own: nothing reaches the file until it is told of a write."""
    count = "SELECT count(*) FROM companies"
    path, writer, checkpointer = _writer_and_checkpointer(tmp_path, interval=0.05)
    try:
        for n in range(2, 1202):
            writer.execute("INSERT INTO companies (id, name) VALUES (?, ?)", (n, "c" * 500))
        time.sleep(0.3)
        assert _rows_in_main_file(path, tmp_path, count) == 1  # only the demo company: no checkpoint ran
        checkpointer.note_write()
        wait_until(lambda: _rows_in_main_file(path, tmp_path, count) == 1201)
    finally:
        checkpointer.stop()
        writer.close()


def test_stop_ends_the_thread_after_a_last_checkpoint(tmp_path: Path) -> None:
    # only stop() can make it checkpoint in time
    path, writer, checkpointer = _writer_and_checkpointer(tmp_path, interval=60)
    try:
        writer.execute("INSERT INTO companies (id, name) VALUES (2, 'Acme')")
        checkpointer.note_write()
        checkpointer.stop()
        assert checkpointer._thread is None and checkpointer.checkpoints == 1
        assert _rows_in_main_file(path, tmp_path, "SELECT count(*) FROM companies") == 2
    finally:
        writer.close()


def test_stop_ends_the_thread_whenever_it_comes_in_a_round(tmp_path: Path) -> None:
    """A stop arriving just as a round's wait for more writes ends must still end the thread.
    It once went unseen there and the thread waited forever, so ``serve`` never exited after
    SIGTERM (tests/interop/test_scim2_tester.py met it in CI); with a 0.2 ms round, stops sent
    at random moments hit that window in about one of 15 (500 stops: it fails every time)."""
    path = tmp_path / "directory.db"
    create_directory(path)
    for attempt in range(500):
        checkpointer = WalCheckpointer(path, interval=0.0002)
        checkpointer.start()
        checkpointer.note_write()
        time.sleep(random.random() * 0.0005)
        stopping = threading.Thread(target=checkpointer.stop, daemon=True)
        stopping.start()
        stopping.join(timeout=10)
        assert not stopping.is_alive(), f"stop {attempt + 1} never returned"


def test_a_reader_of_an_older_snapshot_does_not_hold_writers_off(tmp_path: Path) -> None:
    """The FULL step runs without a busy handler: SQLite's would keep the write lock while it
    slept, waiting for a reader of an older snapshot. The round gives up, leaves the writer
    free, and a later round starts the WAL over once that reader is gone."""
    path = tmp_path / "directory.db"
    create_directory(path)
    writer = connect(path, timeout=0.2)  # far less than a busy handler's wait for the reader
    writer.execute("PRAGMA wal_autocheckpoint=0")
    reader = connect(path)
    checkpointer = WalCheckpointer(path, interval=0.02, restart_frames=10)
    checkpointer.start()
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM companies").fetchone()[0] == 1  # a snapshot is held
        for n in range(2, 202):
            writer.execute("INSERT INTO companies (id, name) VALUES (?, ?)", (n, "c" * 500))
        checkpointer.note_write()
        wait_until(lambda: checkpointer.checkpoints >= 3)
        assert checkpointer.restarts == 0  # the old snapshot still needs the WAL
        writer.execute("BEGIN IMMEDIATE")  # no checkpoint is left holding the write lock
        writer.execute("INSERT INTO companies (id, name) VALUES (500, 'late')")
        writer.execute("COMMIT")
        reader.execute("COMMIT")
        checkpointer.note_write()
        wait_until(lambda: checkpointer.restarts >= 1)
        assert _rows_in_main_file(path, tmp_path, "SELECT count(*) FROM companies") == 202
    finally:
        checkpointer.stop()
        writer.close()
        reader.close()


def test_a_wal_a_reader_holds_back_is_warned_about_then_cut_back(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """While a reader holds an old snapshot the WAL cannot start over and grows: that is warned
    about (a review saw 395 MB, silently); once the reader ends the file is cut back to
    ``WAL_SIZE_LIMIT`` instead of keeping its largest size until the gateway stops."""
    caplog.set_level(logging.INFO, logger="vizmo_scim.adapter.sqlite")
    path = tmp_path / "directory.db"
    create_directory(path)
    wal = path.with_name(path.name + "-wal")
    writer = connect(path)  # a gateway connection (bootstrap.connect)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    reader = connect(path)
    checkpointer = WalCheckpointer(path, interval=0.02, restart_frames=1000)
    checkpointer.start()
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM companies").fetchone()[0] == 1  # a snapshot is held
        for n in range(2, 82):  # 80 MiB
            writer.execute("INSERT INTO companies (id, name) VALUES (?, ?)", (n, "c" * 2**20))
            checkpointer.note_write()
        assert wal.stat().st_size > WAL_SIZE_LIMIT
        wait_until(lambda: "cannot start over" in caplog.text)
        assert "has grown to" in caplog.text and "holds an old snapshot" in caplog.text
        reader.execute("COMMIT")
        writer.execute("INSERT INTO companies (id, name) VALUES (100, 'after')")
        checkpointer.note_write()
        wait_until(lambda: checkpointer.restarts >= 1)
        writer.execute("INSERT INTO companies (id, name) VALUES (101, 'starts the WAL over')")
        assert wal.stat().st_size <= WAL_SIZE_LIMIT
        wait_until(lambda: "caught up and starts over" in caplog.text)
        assert 1 <= caplog.text.count("cannot start over") <= 5  # from 4 MiB, again each time it doubled
    finally:
        checkpointer.stop()
        writer.close()
        reader.close()


def test_the_wal_is_started_over_under_steady_writes(tmp_path: Path) -> None:
    """Passive checkpoints alone never catch up with a WAL that keeps growing; a FULL one once it
    is long lets SQLite start it over, so the file stays bounded (the writes retry meanwhile)."""
    path = tmp_path / "directory.db"
    create_directory(path)
    adapter = VizmoSqliteAdapter(path)
    wal = path.with_name(path.name + "-wal")
    sizes: list[int] = []

    async def scenario() -> None:
        await adapter.start()
        try:
            checkpointer = adapter._checkpointer
            assert checkpointer is not None
            checkpointer.interval, checkpointer.restart_frames = 0.02, 200
            users = adapter.resource_adapter("User", "1")
            for n in range(1500):  # about 7 pages each: unchecked, the WAL would pass 40 MB
                await users.create(_user(n))
                await asyncio.sleep(0.001)  # steady writes, with the gaps a loop serving requests has
                if n % 100 == 99:
                    sizes.append(wal.stat().st_size)
            assert checkpointer.restarts >= 1, (checkpointer.checkpoints, sizes)  # rounds run, WAL sizes
        finally:
            await adapter.stop()

    _run(scenario())
    assert max(sizes) < 8 * 1024 * 1024, sizes  # the file keeps its high-water mark
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("SELECT count(*) FROM employees WHERE email LIKE 'user%'").fetchone()[0] == 1500
    finally:
        conn.close()


def test_a_round_keeps_the_locks_sqlite_holds_on_the_file_in_this_process(tmp_path: Path) -> None:
    """The round's sync must not close a descriptor of the database file: that dropped every POSIX
    lock of the process on it, and another process closing its only connection then took this
    one's connections for gone and deleted the WAL under them."""
    path, writer, checkpointer = _writer_and_checkpointer(tmp_path, interval=0.02)
    try:
        for n in range(2, 200):
            writer.execute("INSERT INTO companies (id, name) VALUES (?, ?)", (n, "c" * 100))
        checkpointer.note_write()
        wait_until(lambda: checkpointer.checkpoints >= 1)  # a round with its sync has run
        writer.execute("INSERT INTO companies (id, name) VALUES (200, 'after the round')")
        open_and_close = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                          "c.execute('SELECT count(*) FROM companies').fetchone(); c.close()")
        subprocess.run([sys.executable, "-c", open_and_close, str(path)], check=True, timeout=60)
        assert path.with_name(path.name + "-wal").exists()  # the other process saw this one's connections
    finally:
        checkpointer.stop()
        writer.close()


def _niceness(tid: int) -> int:
    """A thread's nice value, from /proc (field 19 of its stat line)."""
    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_the_checkpoint_thread_runs_below_the_event_loops_priority(tmp_path: Path) -> None:
    """Its page copies give way to request handling; the rest of the process keeps its priority."""
    own = _niceness(threading.get_native_id())  # a CI runner may itself run niced
    _, writer, checkpointer = _writer_and_checkpointer(tmp_path)
    try:
        assert checkpointer._thread is not None
        tid = checkpointer._thread.native_id
        assert tid is not None
        wait_until(lambda: _niceness(tid) == max(own, CHECKPOINT_NICENESS))
        assert _niceness(threading.get_native_id()) == own
    finally:
        checkpointer.stop()
        writer.close()
