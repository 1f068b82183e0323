"""Closing the SQLite state store's per-thread connections (adapters/sqlite_activity.py
``SqliteFile``) while a call still runs on one of them: closing a connection another thread is
using crashed ``vizmo-scim serve`` with SIGSEGV in about half of its stops soon after start (the
activity log's first prune was still running). Real files, real worker threads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from adapters.errors import Unavailable
from adapters.sqlite_activity import SqliteFile


@pytest.mark.gen_test(timeout=30)
async def test_close_waits_for_the_call_under_way_then_refuses_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (n INTEGER)")
        setup.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(5)])
    setup.close()
    file = SqliteFile(path, timeout=5.0)
    started, release = threading.Event(), threading.Event()

    def slow_count(conn: sqlite3.Connection) -> int:
        started.set()
        release.wait(10)
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]

    call = asyncio.ensure_future(file.run(slow_count))
    await asyncio.to_thread(started.wait, 10)
    closing = asyncio.ensure_future(file.close())
    for _ in range(20):  # the loop goes on meanwhile; the close must not finish under the call
        await asyncio.sleep(0.005)
        assert not closing.done()
    release.set()
    assert await call == 5  # its connection was still open
    await asyncio.wait_for(closing, 10)
    with pytest.raises(Unavailable, match="closed"):
        await file.run(lambda conn: conn.execute("SELECT 1").fetchone())
