"""Reads that may scan, on aiosqlite's worker thread: one at a time, and stopped once abandoned.

aiosqlite runs every call queued on its connection's thread whether or not its caller still
waits, so a search the gateway had answered ``503`` at ``adapter_timeout_seconds`` ran on for
seconds, and every other location's list waited behind it (a directory of 1,000,000 employees:
40 s of CPU after three such 503s; a scale review). Here the connection is lent to one read at a
time, so the statement on the thread is always the borrower's: a read cancelled while it waits
for its turn never runs, and one cancelled while it runs is interrupted (``sqlite3_interrupt``,
through aiosqlite's ``Connection.interrupt``, which any thread may call) and gives the
connection back only once the thread has left the statement, so the interrupt cannot reach the
next read.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import aiosqlite


class ScanReader:
    """Lends one aiosqlite connection to one read at a time (see the module's note)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._turn = asyncio.Lock()

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        async with self._turn:
            reading = asyncio.ensure_future(self._fetch_all(sql, params))
            try:
                return await asyncio.shield(reading)
            except asyncio.CancelledError:
                if not reading.done():
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
