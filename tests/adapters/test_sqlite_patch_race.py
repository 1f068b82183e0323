"""A PATCH of the SQLite adapter is worked out before the write lock is taken
(``writes.prepare_patch``) and written only if the row is still the one it was worked out from:
here the portal changes the row while the PATCH waits for the lock, and the PATCH must neither
undo the portal's change nor pass an ``If-Match`` that the portal's change made stale
(RFC 7644 §3.14). Real files, a real second connection holding the lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import VersionMismatch
from adapters.versions import ExpectedVersion
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.adapters.test_sqlite_write_lock import _run

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class _PortalEdit:
    """The portal's edit of one employee's department, in a transaction that keeps the write
    lock until :meth:`commit`."""

    def __init__(self, path: Path, email: str, department: str) -> None:
        self._ready, self._commit = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._edit, args=(path, email, department))
        self._thread.start()
        assert self._ready.wait(10)

    def _edit(self, path: Path, email: str, department: str) -> None:
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE employees SET department = ? WHERE email = ?", (department, email))
            self._ready.set()
            self._commit.wait(30)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def commit(self) -> None:
        self._commit.set()
        self._thread.join()


def _retitle(before: dict[str, Any]) -> dict[str, Any]:
    return {**before, "title": "Engineer"}


async def _loop_rounds(n: int = 5) -> None:
    """Let the PATCH task run up to its wait for the lock (it reads and tries the lock without
    a timer: see VizmoSqliteAdapter.write)."""
    for _ in range(n):
        await asyncio.sleep(0)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "directory.db"
    create_directory(path)
    return path


def _row(path: Path, email: str) -> tuple[Any, ...]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT designation, department FROM employees WHERE email = ?", (email,)).fetchone()
    finally:
        conn.close()


def test_a_patch_keeps_the_portals_change_made_while_it_waited(directory: Path) -> None:
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> dict[str, Any]:
        await adapter.start()
        try:
            users = adapter.resource_adapter("User", "1")
            created = await users.create({"schemas": [CORE], "userName": "raced@example.com",
                                          ENTERPRISE: {"department": "Sales"}})
            portal = _PortalEdit(directory, "raced@example.com", "Portal")
            patch = asyncio.ensure_future(users.modify(created["id"], _retitle))
            await _loop_rounds()
            assert not patch.done()  # worked out from the row before the portal's edit, waiting
            portal.commit()
            return await patch
        finally:
            await adapter.stop()

    patched = _run(scenario())
    assert patched["title"] == "Engineer" and patched[ENTERPRISE]["department"] == "Portal"
    assert _row(directory, "raced@example.com") == ("Engineer", "Portal")


def test_an_if_match_made_stale_while_the_patch_waited_fails(directory: Path) -> None:
    adapter = VizmoSqliteAdapter(directory)

    async def scenario() -> None:
        await adapter.start()
        try:
            users = adapter.resource_adapter("User", "1")
            created = await users.create({"schemas": [CORE], "userName": "stale@example.com"})
            portal = _PortalEdit(directory, "stale@example.com", "Portal")
            expected = ExpectedVersion.exactly(created["meta"]["version"])  # still current when read
            patch = asyncio.ensure_future(users.modify(created["id"], _retitle, expected_version=expected))
            await _loop_rounds()
            assert not patch.done()
            portal.commit()
            with pytest.raises(VersionMismatch):
                await patch
        finally:
            await adapter.stop()

    _run(scenario())
    assert _row(directory, "stale@example.com") == (None, "Portal")  # the PATCH wrote nothing
