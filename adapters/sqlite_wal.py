"""Switching an SQLite file to WAL mode while other processes may be writing to it."""

from __future__ import annotations

import sqlite3
import time

from adapters.errors import Unavailable

#: Seconds between two tries of a switch that SQLite refused at once.
RETRY_PAUSE = 0.01


def use_wal(conn: sqlite3.Connection, wait: float) -> None:
    """``PRAGMA journal_mode=WAL``, tried again for up to ``wait`` seconds while the file is busy.

    A file still in rollback-journal mode (the Vizmo portal's own default, or a state file just
    created) switches on the gateway's first start. The switch reads the file under a shared
    lock and then needs an exclusive one; while another connection holds the write lock (the
    portal mid-transaction, or a second process making the same switch) SQLite answers
    ``SQLITE_BUSY`` at once, without its busy handler, since waiting there could deadlock. So the
    wait is done here, with no lock held between tries; past it the file is ``Unavailable``, with
    the reason. It may sleep: call it off the event loop."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY and its extended codes
                raise
            if time.monotonic() >= deadline:
                raise Unavailable(f"the database stayed locked by another writer for {wait:g} s "
                                  f"while the gateway switched it to WAL mode: {exc}") from exc
        time.sleep(RETRY_PAUSE)
