"""How a write of the SQLite adapter meets another writer's lock (``VizmoSqliteAdapter.write``):
a short hold (another worker's transaction) is polled for with the loop held, so the write
does not pay a whole loop turn per try; a long one (the portal, the CLI) is waited out with
the loop free. Real files, a real second connection on a thread of its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory


def _user(name: str) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"{name}@example.com"}


def _hold_write_lock(path: Path, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """Another connection takes the write lock on a thread and commits ``seconds`` later."""
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(str(path), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO companies (id, name) VALUES (2, 'Other writer')")
            taken.set()
            threading.Event().wait(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    return thread, taken


def _run(coroutine: Any) -> Any:
    """On a loop of its own: asyncio.run would drop the loop pytest-tornado leaves current."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coroutine, 60))
    finally:
        loop.close()


def _create_while_held(tmp_path: Path, name: str, *, hold: float, spin: float) -> tuple[Path, list[str], str]:
    """Create user ``name`` while another connection holds the write lock for ``hold`` seconds,
    with ``spin`` seconds of polling. Returns the file, what the loop ran meanwhile (a callback
    scheduled just before the write) and the created userName."""
    path = tmp_path / "directory.db"
    create_directory(path)
    adapter = VizmoSqliteAdapter(path)

    async def scenario() -> tuple[list[str], str]:
        await adapter.start()
        try:
            adapter.write_lock_spin = spin
            ran: list[str] = []
            thread, _ = _hold_write_lock(path, hold)
            asyncio.get_running_loop().call_soon(ran.append, "other callback")
            created = await adapter.resource_adapter("User", "1").create(_user(name))
            seen = list(ran)  # before stop(), which yields to the loop
            thread.join()
            return seen, created["userName"]
        finally:
            await adapter.stop()

    ran, user_name = _run(scenario())
    return path, ran, user_name


def test_a_short_hold_is_polled_for_without_yielding_the_loop(tmp_path: Path) -> None:
    # a spin far longer than the hold, however slow the machine
    _, ran, user_name = _create_while_held(tmp_path, "polled", hold=0.05, spin=5.0)
    assert user_name == "polled@example.com"
    assert ran == []  # the write committed before the loop ran anything else


def test_a_long_hold_is_waited_out_with_the_loop_free(tmp_path: Path) -> None:
    path, ran, user_name = _create_while_held(tmp_path, "waited", hold=0.3, spin=0.001)
    assert user_name == "waited@example.com"
    assert ran == ["other callback"]  # the loop served others while the write waited
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("SELECT count(*) FROM companies").fetchone()[0] == 2  # both writers committed
    finally:
        conn.close()
