"""Switching an SQLite file to WAL mode while other processes may be writing to it, and keeping
its WAL file from staying at the largest size it ever reached."""

from __future__ import annotations

import sqlite3
import time

from adapters.errors import Unavailable

#: Seconds a gateway connection waits for another writer's lock (SQLite's busy timeout; the
#: portal's transactions, another worker's, a CLI command's) before the file is unavailable.
LOCK_WAIT = 5.0

#: Seconds between two tries of a switch that SQLite refused at once.
RETRY_PAUSE = 0.01

#: Bytes the ``-wal`` file is cut back to when a connection of the gateway starts it over
#: (``PRAGMA journal_size_limit``): the WAL grows past its usual 64 MiB while a reader holds an
#: old snapshot (a long portal report, a backup), and SQLite keeps a file at its largest size for
#: reuse. A review saw 395 MB kept until the gateway stopped.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


#: Who else writes an SQLite file the gateway uses, for messages about a lock held too long.
OTHER_WRITERS = "another writer (the portal, another gateway process or a vizmo-scim command)"


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite answered ``SQLITE_BUSY`` ("database is locked"), or one of its extended codes."""
    return isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


def use_wal(conn: sqlite3.Connection, wait: float) -> None:
    """``PRAGMA journal_mode=WAL``, tried again for up to ``wait`` seconds while the file is busy.

    A file still in rollback-journal mode (the Vizmo portal's own default, or a state file just
    created) switches on the gateway's first start. The switch reads the file under a shared
    lock and then needs an exclusive one; while another connection holds the write lock (the
    portal mid-transaction, or a second process making the same switch) SQLite answers
    ``SQLITE_BUSY`` at once, without its busy handler, since waiting there could deadlock. So the
    wait is done here, with no lock held between tries; past it the file is ``Unavailable``, with
    the reason. It may sleep: call it off the event loop. Sets :data:`WAL_SIZE_LIMIT` too."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise Unavailable(f"the database stayed locked by {OTHER_WRITERS} for {wait:g} s "
                                  f"while the gateway switched it to WAL mode: {exc}") from exc
        time.sleep(RETRY_PAUSE)
