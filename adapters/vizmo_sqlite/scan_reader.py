"""Reads that may scan, on aiosqlite's worker thread: one at a time, and stopped once abandoned.

aiosqlite runs every call queued on its connection's thread whether or not its caller still
waits, so a search the gateway had answered ``503`` at ``adapter_timeout_seconds`` ran on for
seconds, and every other location's list waited behind it (a directory of 1,000,000 employees:
40 s of CPU after three such 503s; a scale review). Here the connection is lent to one read at a
time, so the statement on the thread is always the borrower's. A read cancelled while it waits
for its turn never runs. One cancelled after its turn came is marked abandoned: SQLite's
progress handler, called every :data:`CHECK_EVERY` steps of any statement on the connection,
then stops it however far it got (not yet started on the thread, or running), and
``sqlite3_interrupt`` stops it within a single long step (a sort); the connection is handed on
once the thread has left the statement. (An interrupt alone missed a statement the thread had
not started yet, which then ran to its end: a review of this module.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import aiosqlite

#: SQLite virtual-machine steps between two looks at the abandoned flag (a Python call each: 3,310
#: in a page of a 100,000-employee location, lost in the noise of its 0.2 s).
CHECK_EVERY = 1000


class ScanReader:
    """Lends one aiosqlite connection to one read at a time (see the module's note)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._turn = asyncio.Lock()
        self._abandoned = False

    @classmethod
    async def over(cls, conn: aiosqlite.Connection) -> "ScanReader":
        reader = cls(conn)
        await conn.set_progress_handler(reader._stop_if_abandoned, CHECK_EVERY)
        return reader

    def _stop_if_abandoned(self) -> bool:
        """SQLite's progress handler (on the connection's thread): true stops the statement."""
        return self._abandoned

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        async with self._turn:
            self._abandoned = False
            reading = asyncio.ensure_future(self._fetch_all(sql, params))
            try:
                return await asyncio.shield(reading)
            except asyncio.CancelledError:
                if not reading.done():
                    self._abandoned = True
                    await self.conn.interrupt()
                    with contextlib.suppress(Exception):  # its own end: "interrupted", or its rows
                        await reading
                raise

    async def _fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        cursor = await self.conn.execute(sql, params)
        try:
            return list(await cursor.fetchall())
        finally:
            # A fetch that failed halfway leaves its statement open, and with it the read
            # transaction: this connection answered from that snapshot for good (the
            # exception's frames keep the cursor alive until a garbage collection).
            await cursor.close()
