"""Several worker processes sharing one listening socket (``vizmo-scim serve --processes N``).

The parent binds the socket, forks the workers, forwards SIGTERM/SIGINT to them and restarts a
worker that dies unexpectedly (at most ``max_restarts`` times). Workers share nothing in memory:
tenants, revocations and users live in the storage, so any worker (or any host) can answer
any request.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("vizmo_scim.app")


def run_workers(count: int, worker: Callable[[int], int], *, max_restarts: int = 20,
                on_exit: Callable[[int], None] | None = None) -> int:
    """Fork ``count`` workers running ``worker(slot)`` (slots 0 to count-1) and supervise them;
    ``on_exit(slot)`` runs in the supervisor whenever a worker has exited. Returns the exit status."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 1
            try:
                status = worker(slot)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children[pid] = slot

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for slot in range(count):
        spawn(slot)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts, status = 0, 0
    while children:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is None:
            continue
        if on_exit is not None:
            on_exit(slot)
        code = os.waitstatus_to_exitcode(wait_status)
        if stopping:
            continue
        if code != 0 and restarts < max_restarts:
            restarts += 1
            log.error("worker %d (pid %d) exited with %d; restarting it", slot, pid, code)
            spawn(slot)
        else:
            status = status or code
    return status
