"""Several worker processes on one port (``vizmo-scim serve --processes N``).

``tornado.process.fork_processes`` forks the workers and restarts a worker that dies abnormally.
Each worker listens on a socket of its own bound with ``SO_REUSEPORT`` (:func:`listeners`), and
the kernel spreads new connections over those sockets by a hash of the client's address and
port. Workers sharing one socket, as before, left the spreading to whichever worker woke first:
it accepted every connection queued (Tornado accepts up to 128 per wake-up), so a client that
opens its connections at once got them all on one worker. Measured with wrk's 32 connections
(``bench/load.py --processes 2``, PATCH, ten rounds): 32/0 in half the rounds and 24-30 against 2-8
in most others; the round's p99 was 35 ms with one busy worker, 87-104 ms with a lopsided pair
(the busy worker kept meeting the other's write lock while it lagged), and the two workers did
the work of one. Where ``SO_REUSEPORT`` is missing the workers share the sockets bound before the
fork. ``fork_processes`` does not stop its workers when told to stop: here the supervising parent
forwards SIGTERM and SIGINT to them, each worker drains and exits 0, and the parent then exits 0.
Workers share nothing in memory: tenants, revocations and users live in the storage, so any
worker (or any host) can answer any request.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import tornado.netutil
import tornado.process

#: How often a worker that dies abnormally is restarted before the supervisor gives up.
MAX_RESTARTS = 20


#: Each worker can listen on a socket of its own (Linux 3.9+, the BSDs).
CAN_REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


def bind_port(port: int, host: str | None, processes: int) -> tuple[int, list[socket.socket]]:
    """Claim ``port`` on ``host`` for ``processes`` workers: the port (the one picked for ``0``)
    and the sockets to serve on, or ``[]`` when each worker binds its own with :func:`listeners`.

    The check binds without ``SO_REUSEPORT``, so it fails if anything else holds the port, even a
    second gateway whose workers could otherwise join this one's and take half of its traffic.
    """
    sockets = tornado.netutil.bind_sockets(port, address=host)
    picked = sockets[0].getsockname()[1]
    if processes == 1 or not CAN_REUSE_PORT:
        return picked, sockets
    for sock in sockets:
        sock.close()
    return picked, []


def listeners(port: int, host: str | None, shared: list[socket.socket]) -> list[socket.socket]:
    """A worker's listening sockets: ``shared`` when :func:`bind_port` kept them, else its own,
    bound with ``SO_REUSEPORT`` beside its siblings' (a restarted worker joins them again)."""
    return shared or tornado.netutil.bind_sockets(port, address=host, reuse_port=True)


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
