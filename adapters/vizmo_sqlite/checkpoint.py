"""WAL checkpoints off the event loop.

In WAL mode every commit appends to ``directory.db-wal``; by default the connection whose commit
takes the WAL past 1,000 pages copies it back into the database file (a checkpoint, with an
fsync) inside that ``COMMIT``. The gateway commits on its event loop, so such a commit stalled
every request of the process for 40–60 ms every few hundred writes: the write p99 of
bench/load.py. The gateway's write connection therefore sets ``wal_autocheckpoint=0`` and this
thread checkpoints instead, on its own connection, shortly after writes happened. ``sqlite3``
releases the GIL while SQLite works, so the copy and the fsync run beside the loop.

Each round is a ``PASSIVE`` checkpoint, which never waits for readers or writers. Under steady
writes it never catches up with the end of the WAL, and SQLite only starts the WAL over (at the
next write) after a checkpoint that did: so once the WAL holds ``restart_frames`` frames, a
``FULL`` checkpoint follows. It copies what the passive one left and syncs the database file
while new writers are held off (bench/load.py: a stall of some tens of milliseconds, hence the
large threshold); the gateway's writes meanwhile get "busy" and retry after short sleeps on the
loop (``VizmoSqliteAdapter.write``), and reads go on. Other writers of the file (the portal, the
CLI) keep their own autocheckpoints. Durability is unchanged: a committed transaction is in the
WAL, and SQLite replays the WAL after a crash.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("vizmo_scim.adapter.sqlite")

#: Seconds between checkpoints while writes keep coming.
CHECKPOINT_INTERVAL = 0.25

#: WAL frames (pages) after which a FULL checkpoint lets the WAL start over (16,384 pages:
#: 64 MiB at 4 KiB pages, the most the WAL grows to). Each holds writes off, so they are kept rare.
FULL_CHECKPOINT_FRAMES = 16384

#: Milliseconds a FULL checkpoint waits for the writer and older readers of the moment to finish.
FULL_CHECKPOINT_WAIT_MS = 1000


class WalCheckpointer:
    """A daemon thread that checkpoints the WAL within ``interval`` of :meth:`note_write`."""

    def __init__(self, path: Path | str, *, interval: float = CHECKPOINT_INTERVAL,
                 restart_frames: int = FULL_CHECKPOINT_FRAMES) -> None:
        self.path = Path(path)
        self.interval = interval
        self.restart_frames = restart_frames
        self.checkpoints = 0  # completed checkpoint rounds (read by tests)
        self.restarts = 0  # of which were FULL checkpoints, after which the WAL starts over
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
        conn = sqlite3.connect(str(self.path), timeout=FULL_CHECKPOINT_WAIT_MS / 1000, isolation_level=None)
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
            # fetchall: a statement left unfinished would hold the connection busy
            _, wal_frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            if wal_frames >= self.restart_frames:
                conn.execute("PRAGMA wal_checkpoint(FULL)").fetchall()
                self.restarts += 1
            self.checkpoints += 1
        except sqlite3.Error as exc:  # another checkpoint is running: the next interval retries
            log.debug("WAL checkpoint skipped: %s", exc)
            self._dirty.set()
