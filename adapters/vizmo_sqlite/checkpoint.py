"""WAL checkpoints off the event loop.

In WAL mode every commit appends to ``directory.db-wal``; by default the connection whose commit
takes the WAL past 1,000 pages copies it back into the database file (a checkpoint, with an
fsync) inside that ``COMMIT``. The gateway commits on its event loop, so such a commit stalled
every request of the process for 40–60 ms every few hundred writes: the write p99 of
bench/load.py. The gateway's write connection therefore sets ``wal_autocheckpoint=0`` and this
thread checkpoints instead, on its own connection, shortly after writes happened. ``sqlite3``
releases the GIL while SQLite works, so the copy and the fsync run beside the loop.

``PASSIVE`` never waits for readers or writers: what a reader still needs is copied by a later
checkpoint. Other writers of the file (the portal, the CLI) keep their own autocheckpoints.
Durability is unchanged: a committed transaction is in the WAL, and SQLite replays the WAL
after a crash.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("vizmo_scim.adapter.sqlite")

#: Seconds between checkpoints while writes keep coming.
CHECKPOINT_INTERVAL = 0.25


class WalCheckpointer:
    """A daemon thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` after :meth:`note_write`."""

    def __init__(self, path: Path | str, *, interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = Path(path)
        self.interval = interval
        self.checkpoints = 0  # completed checkpoint calls (read by tests)
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vizmo-wal-checkpoint", daemon=True)
        self._thread.start()

    def note_write(self) -> None:
        """A transaction was committed on the loop: checkpoint within ``interval``."""
        self._dirty.set()

    def stop(self) -> None:
        """Run a last checkpoint and end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._dirty.set()
        thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), timeout=0, isolation_level=None, check_same_thread=True)
        try:
            while True:
                self._dirty.wait()
                stopping = self._stopping.wait(self.interval)  # gather the writes of one interval
                self._dirty.clear()
                self._checkpoint(conn)
                if stopping:
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:  # another checkpoint is running: the next interval retries
            log.debug("WAL checkpoint skipped: %s", exc)
            self._dirty.set()
