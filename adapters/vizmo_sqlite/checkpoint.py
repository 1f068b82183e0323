"""WAL checkpoints off the event loop.

In WAL mode every commit appends to ``directory.db-wal``; by default the connection whose commit
takes the WAL past 1,000 pages copies it back into the database file (a checkpoint, with an
fsync) inside that ``COMMIT``. The gateway commits on its event loop, so such a commit stalled
every request of the process for 40–60 ms every few hundred writes: the write p99 of
bench/load.py. The gateway's write connection therefore sets ``wal_autocheckpoint=0`` and this
thread checkpoints instead, on its own connection, shortly after writes happened. ``sqlite3``
releases the GIL while SQLite works, so the copy and the fsync run beside the loop.

Each round is a ``PASSIVE`` checkpoint, which never waits for readers or writers, followed by
an fdatasync of the database file from this thread. SQLite syncs the database file only at the
end of a checkpoint that caught up with the whole WAL, which under steady writes a passive one
never does: without that sync the pages of every passive round stayed dirty in the OS cache,
and the checkpoint that finally caught up flushed them all while it held writers off (30–140 ms
measured). Under steady writes SQLite also only starts the WAL over (at the next write) after a
checkpoint that caught up, so once the WAL holds ``restart_frames`` frames a ``FULL`` checkpoint
follows the passive round and its sync. It copies the few frames written since, syncs what is
left, and holds writers off for those few milliseconds; a gateway write that meets it
meanwhile waits for the lock on the busy writer's thread (``VizmoSqliteAdapter.write``,
:mod:`.busy_writer`), never on the event loop, and reads go on. Other writers of the file (the
portal, the CLI) keep their own autocheckpoints.

Every wait in this module (the interval between rounds, the pause between FULL tries) runs on
the checkpoint thread itself, never on an event loop: ``time.sleep`` and ``Event.wait`` here
hold up nothing but the next checkpoint. Durability is unchanged: a
committed transaction is in the WAL, SQLite replays the WAL after a crash, and the extra sync
only flushes earlier what SQLite syncs later.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

from adapters.sqlite_wal import WAL_SIZE_LIMIT

log = logging.getLogger("vizmo_scim.adapter.sqlite")

#: Seconds between checkpoints while writes keep coming.
CHECKPOINT_INTERVAL = 0.25

#: WAL frames (pages) after which a FULL checkpoint lets the WAL start over (16,384 pages:
#: 64 MiB at 4 KiB pages, the most the WAL grows to unless a reader holds an old snapshot; the
#: file is then cut back to ``WAL_SIZE_LIMIT`` when it starts over). Each holds writes off for a
#: few ms.
FULL_CHECKPOINT_FRAMES = 16384

#: Niceness of the checkpoint thread (Linux; 0 = the process's own). Its page copies compete
#: for the cores with the event loops that serve requests; at a lower priority they run in the
#: gaps. bench/load.py-style A/B, two workers, PATCH at 32 connections, alternating runs: p99
#: median 44.8 ms against 47.9 ms (5 rounds) and 49.1 against 51.3 ms (4 rounds), throughput
#: within the noise. The thread holds the GIL only between SQLite calls, for microseconds.
CHECKPOINT_NICENESS = 10

#: FULL checkpoints tried per round, ``FULL_CHECKPOINT_PAUSE`` seconds apart. Each is tried
#: without a busy handler: SQLite's would sleep up to tens of ms while holding writers off,
#: waiting for a reader of an older snapshot. A try that meets the loop's writer or such a
#: reader returns at once; the next round tries again.
FULL_CHECKPOINT_ATTEMPTS = 20
FULL_CHECKPOINT_PAUSE = 0.002

#: WAL length, in multiples of ``restart_frames``, past which a WAL that cannot start over is
#: warned about (``WalCheckpointer._held_back``).
HELD_BACK_FACTOR = 4


class WalCheckpointer:
    """A daemon thread that checkpoints the WAL within ``interval`` of :meth:`note_write`."""

    def __init__(self, path: Path | str, *, interval: float = CHECKPOINT_INTERVAL,
                 restart_frames: int = FULL_CHECKPOINT_FRAMES) -> None:
        self.path = Path(path)
        self.interval = interval
        self.restart_frames = restart_frames
        self.checkpoints = 0  # completed checkpoint rounds (read by tests)
        self.restarts = 0  # of which were FULL checkpoints, after which the WAL starts over
        self._reported_frames = 0  # the WAL length last warned about (_held_back)
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
        _lower_priority(CHECKPOINT_NICENESS)
        # The descriptor to sync stays open as long as the connection: closing any descriptor of
        # the file drops every POSIX lock this process holds on it, SQLite's included, and another
        # process closing its last connection could then take the gateway's for gone and delete
        # the WAL under them (SQLite's "How To Corrupt An SQLite Database File", §2.2).
        sync_fd = os.open(self.path, os.O_RDONLY)
        try:
            conn = sqlite3.connect(str(self.path), timeout=0, isolation_level=None)
            try:
                while True:
                    self._dirty.wait()
                    self._stopping.wait(self.interval)  # gather the writes of one interval
                    self._dirty.clear()
                    # Read after the clear: stop() sets _stopping before _dirty, so a stop whose
                    # _dirty this clear erased is seen here, and a later one's _dirty wakes the
                    # wait above. (Taking the wait's result instead missed a stop that came just
                    # after it timed out: the thread then waited for _dirty forever and
                    # ``serve`` never exited after SIGTERM: one stop in 15 with 0.2 ms rounds.)
                    stopping = self._stopping.is_set()
                    self._checkpoint(conn, sync_fd)
                    if stopping:
                        return
            finally:
                conn.close()
        finally:
            os.close(sync_fd)

    def _checkpoint(self, conn: sqlite3.Connection, sync_fd: int) -> None:
        try:
            # fetchall: a statement left unfinished would hold the connection busy
            _, wal_frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            _sync(sync_fd)
            if wal_frames >= self.restart_frames:
                if self._full_checkpoint(conn):
                    self._caught_up()
                else:
                    self._dirty.set()
                    self._held_back(conn, wal_frames)
            self.checkpoints += 1
        except sqlite3.Error as exc:  # another checkpoint is running: the next interval retries
            log.debug("WAL checkpoint skipped: %s", exc)
            self._dirty.set()

    def _full_checkpoint(self, conn: sqlite3.Connection) -> bool:
        """Copy the rest of the WAL with writers held off; True once it caught up (the WAL restarts)."""
        for attempt in range(FULL_CHECKPOINT_ATTEMPTS):
            if attempt:
                time.sleep(FULL_CHECKPOINT_PAUSE)  # on the checkpoint thread (see the module doc)
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchall()[0]
            if not busy:
                self.restarts += 1
                return True
        return False


    def _held_back(self, conn: sqlite3.Connection, wal_frames: int) -> None:
        """Warn once the WAL has grown to :data:`HELD_BACK_FACTOR` times its usual length, and
        again each time it doubles, while FULL checkpoints keep failing: a reader holds an old
        snapshot, and the file grows (and its disk space stays taken) until that reader ends."""
        if wal_frames < max(HELD_BACK_FACTOR * self.restart_frames, 2 * self._reported_frames):
            return
        self._reported_frames = wal_frames
        page_size = conn.execute("PRAGMA page_size").fetchall()[0][0]
        log.warning("the WAL %s-wal has grown to %d MiB and cannot start over: a reader of the directory (a long "
                    "query of the portal's, a backup) holds an old snapshot; it is cut back to %d MiB once that "
                    "reader ends", self.path, wal_frames * page_size // 2**20, WAL_SIZE_LIMIT // 2**20)

    def _caught_up(self) -> None:
        if self._reported_frames:
            log.info("the WAL %s-wal caught up and starts over", self.path)
            self._reported_frames = 0


def _lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux: a thread id is a process id for
    ``setpriority``; elsewhere it would name another process, so nothing is done)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
    except OSError as exc:  # e.g. a sandbox that forbids it: checkpoints still run
        log.debug("checkpoint thread priority unchanged: %s", exc)


def _sync(fd: int) -> None:
    """Flush the pages a passive round copied, while writers go on (see the module doc)."""
    try:
        getattr(os, "fdatasync", os.fsync)(fd)
    except OSError as exc:  # a platform that will not sync a read-only descriptor: SQLite still syncs
        log.debug("database file not synced: %s", exc)
