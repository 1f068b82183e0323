"""Several worker processes on one listening socket (``vizmo-scim serve --processes N``).

The sockets are bound once, then ``tornado.process.fork_processes`` forks the workers, which
share them (the kernel hands each new connection to one worker), and restarts a worker that dies
abnormally. It does not stop its workers when it is told to stop: here the supervising parent
forwards SIGTERM and SIGINT to them, each worker drains and exits 0, and the parent then exits 0.
Workers share nothing in memory: tenants, revocations and users live in the storage, so any
worker (or any host) can answer any request.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import tornado.process

#: How often a worker that dies abnormally is restarted before the supervisor gives up.
MAX_RESTARTS = 20


def run_workers(count: int, worker: Callable[[int], int]) -> int:
    """Fork ``count`` workers running ``worker(task_id)`` (0 to count-1) and supervise them.

    Returns in each worker with its exit status; the supervising parent never returns here: it
    exits 0 once every worker has exited 0 (``fork_processes`` raises when restarts run out).
    """
    parent = os.getpid()

    def forward(signum: int, frame: FrameType | None) -> None:
        for pid in children_of(parent):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    task_id = tornado.process.fork_processes(count, max_restarts=MAX_RESTARTS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # in a worker: its event loop installs its own
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return worker(task_id)


def children_of(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux: the kernel's list of the main thread's children,
    else a scan of /proc)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in listed.read_text().split()]
    except OSError:
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found
