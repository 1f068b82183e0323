"""Several worker processes on one port (``vizmo-scim serve --processes N``).

:func:`run_workers` forks the workers and restarts a worker that dies abnormally (the loop of
``tornado.process.fork_processes``, with a budget of restarts per minute instead of per life, see
:func:`_fork_workers`). Each worker listens on a socket of its own bound with ``SO_REUSEPORT``
(:func:`listeners`), and the kernel spreads new connections over those sockets by a hash of the
client's address and port. Workers sharing one socket, as before, left the spreading to whichever
worker woke first: it accepted every connection queued (Tornado accepts up to 128 per wake-up), so
a client that opens its connections at once got them all on one worker. Measured with wrk's 32
connections (``bench/load.py --processes 2``, PATCH, ten rounds): 32/0 in half the rounds and
24-30 against 2-8 in most others; the round's p99 was 35 ms with one busy worker, 87-104 ms with a
lopsided pair (the busy worker kept meeting the other's write lock while it lagged), and the two
workers did the work of one. Where ``SO_REUSEPORT`` is missing the workers share the sockets bound
before the fork. Told to stop, the supervising parent forwards SIGTERM and SIGINT to the workers,
each drains and exits 0, and the parent then exits 0. A worker the parent restarts while stopping
exits at once. The workers never outlive the parent (Linux ``PR_SET_PDEATHSIG``: a parent killed
by SIGKILL stops its workers with SIGTERM, and they drain), and when the parent gives up restarting
(:data:`MAX_RESTARTS`) it stops the workers still serving before it exits 1, so the port is never
held by an orphan. SIGHUP is logged and ignored (nothing is reloaded; its default action killed
the parent alone).
Workers share nothing in memory: tenants, revocations and users live in the storage, so any
worker (or any host) can answer any request.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import tornado.netutil

log = logging.getLogger("vizmo_scim.app")

#: How many abnormal deaths of workers within :data:`RESTART_WINDOW` seconds the supervisor
#: restarts; one more and it gives up (and stops the gateway, for its own supervisor to restart
#: whole): workers that die as fast as they start would otherwise be forked forever.
MAX_RESTARTS = 20
RESTART_WINDOW = 60.0

#: How long a supervisor giving up waits for the workers still serving to drain (then SIGKILL).
GIVE_UP_SECONDS = 30.0

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkersGaveUp(RuntimeError):
    """Workers died more than :data:`MAX_RESTARTS` times within :data:`RESTART_WINDOW` seconds;
    the others were stopped."""


#: Each worker can listen on a socket of its own (Linux 3.9+, the BSDs).
CAN_REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


#: Open files per process below which ``serve`` warns: each client connection takes one.
FEW_OPEN_FILES = 4096
#: The most ``serve`` raises its soft limit to: each connection holds about 24 KiB, so this bounds
#: what idle connections can take of a worker's memory (about 1.5 GiB; a security review saw
#: 12,000 of them add 290 MiB under a hard limit of a million).
MAX_OPEN_FILES = 65536


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit, at most
    :data:`MAX_OPEN_FILES` (its workers inherit it); return the limit now in force, warning when
    it is below :data:`FEW_OPEN_FILES`.

    systemd starts services with a soft limit of 1,024 (and a hard one far above): past about a
    thousand client connections a worker's accept then failed with EMFILE in a loop, logging a
    traceback each time (a review: 68,000 in 15 s, 41 MB) while new requests waited seconds."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_OPEN_FILES)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.debug("open files limit unchanged: %s", exc)
    if soft != resource.RLIM_INFINITY and soft < FEW_OPEN_FILES:
        log.warning("a process may open only %d files%s: each client connection takes one, so a worker serves "
                    "fewer than %d clients at once; raise it (LimitNOFILE= in a systemd unit, ulimit -Hn in a shell)",
                    soft, " (its hard limit)" if soft == hard else "", soft)
    return soft


def bind_port(port: int, host: str | None, processes: int) -> tuple[int, list[socket.socket]]:
    """Claim ``port`` on ``host`` for ``processes`` workers: the port (the one picked for ``0``)
    and the sockets to serve on, or ``[]`` when each worker binds its own with :func:`listeners`.

    The check binds without ``SO_REUSEPORT``, so it fails if anything else holds the port, even a
    second gateway whose workers could otherwise join this one's and take half of its traffic.
    """
    try:
        sockets = tornado.netutil.bind_sockets(port, address=host)
    except OSError as exc:
        raise cannot_listen(exc, host, port) from None
    picked = sockets[0].getsockname()[1]
    if processes == 1 or not CAN_REUSE_PORT:
        return picked, sockets
    for sock in sockets:
        sock.close()
    return picked, []


def cannot_listen(exc: OSError, host: str | None, port: int, setting: str = "") -> OSError:
    """The refusal of a bind to ``host:port`` (``setting`` names it, e.g. ``[metrics] port``), with
    the likely cause: another program on the port only when the port is in use (a host name that
    does not resolve, or a privileged port, was blamed on another program: a configuration review)."""
    where = f"{setting + ' ' if setting else ''}{host or '*'}:{port}"
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        reason += " (another gateway, or another program, holds that port)"
    elif exc.errno == errno.EACCES:
        reason += " (a port below 1024 needs privileges)"
    elif isinstance(exc, socket.gaierror):
        reason += " (the host does not resolve to an address of this machine)"
    return OSError(exc.errno, f"cannot listen on {where}: {reason}")


def listeners(port: int, host: str | None, shared: list[socket.socket]) -> list[socket.socket]:
    """A worker's listening sockets: ``shared`` when :func:`bind_port` kept them, else its own,
    bound with ``SO_REUSEPORT`` beside its siblings' (a restarted worker joins them again)."""
    return shared or tornado.netutil.bind_sockets(port, address=host, reuse_port=True)


#: The signals that stop the gateway (forwarded by the supervisor to each worker).
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def run_workers(count: int, worker: Callable[[int], int], *, max_restarts: int = MAX_RESTARTS,
                restart_window: float = RESTART_WINDOW) -> int:
    """Fork ``count`` workers running ``worker(task_id)`` (0 to count-1) and supervise them.

    Returns in each worker with its exit status; the supervising parent never returns here: it
    exits 0 once every worker has exited 0, and raises :class:`WorkersGaveUp` after more than
    ``max_restarts`` abnormal deaths within ``restart_window`` seconds.
    """
    parent = os.getpid()
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # a worker forked after this (a restart) inherits it, and exits
        _signal_children(parent, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, ignore_hangup)
    task_id = _fork_workers(count, max_restarts, restart_window, lambda: stopping)
    if task_id is None:  # the parent, giving up (the other workers still serve)
        _stop_children(parent)
        raise WorkersGaveUp(f"workers died more than {max_restarts} times within {restart_window:g} s; stopped "
                            "the gateway (its supervisor may start it again): see the log for how they died")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # in a worker: its event loop installs its own
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked across the fork (_fork_workers)
    _die_with(parent)
    if stopping:
        return 0
    return worker(task_id)


def _fork_workers(count: int, max_restarts: int, restart_window: float,
                  stopping: Callable[[], bool]) -> int | None:
    """In each worker, its task id; in the parent, None once more than ``max_restarts`` workers
    died within ``restart_window`` seconds (it exits 0 once every worker exited after a stop).
    Once ``stopping()``, a worker that dies is not restarted: one the forwarded SIGTERM reached
    before its event loop took the signal over dies of it, and was restarted, counted as a crash
    (64 workers stopped as they started gave up, exit 1: a configuration review).

    The loop of ``tornado.process.fork_processes``, written out for one change: Tornado counts
    restarts over the parent's whole life, so a gateway whose workers were killed now and then
    (the OOM killer, an operator's ``kill -9``) stopped for good at the 21st death, months apart.
    Here only a crash loop, deaths faster than the window allows, stops it. (Tornado's reseeding
    of ``random`` in the child is done by the stdlib's own fork hook since Python 3.7.)"""
    children: dict[int, int] = {}  # pid -> task id
    deaths: deque[float] = deque()  # when workers died abnormally, within the window
    to_start = list(range(count))
    while True:
        for task_id in to_start:
            # Blocked across the fork: a stop signal reaching a new worker before it set its own
            # handlers ran the supervisor's there (it signalled itself, into a RecursionError), or was
            # lost for good when the handler was replaced before Python ran it (a worker served on
            # after the stop). Held pending instead, it ends the worker once unblocked.
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            pid = os.fork()
            if pid == 0:
                return task_id  # unblocked by run_workers once the worker's handlers are the default
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            children[pid] = task_id
        to_start = []
        if not children:
            sys.exit(0)
        pid, status = os.wait()
        if pid not in children:
            continue
        task_id, code = children.pop(pid), os.waitstatus_to_exitcode(status)
        if stopping() and code in (0, -signal.SIGTERM, -signal.SIGINT):
            log.info("worker %d (pid %d) exited", task_id, pid)
            continue
        if stopping():
            log.warning("worker %d (pid %d) exited with status %d while stopping", task_id, pid, code)
            continue
        # A worker drains and exits 0 on a SIGTERM of its own too (an operator's `kill` of a stuck
        # worker): not a stop of the gateway, so it is started again (it was not, and once every
        # worker had gone so, the gateway exited 0 and its supervisor did not restart it; a soak review).
        how = ("exited without a stop of the gateway (a SIGTERM sent to it alone?)" if code == 0
               else f"was killed by signal {-code}" if code < 0 else f"exited with status {code}")
        now = time.monotonic()
        deaths.append(now)
        while deaths[0] <= now - restart_window:
            deaths.popleft()
        if len(deaths) > max_restarts:
            log.error("worker %d (pid %d) %s: %d deaths within %g s, giving up", task_id, pid, how,
                      len(deaths), restart_window)
            return None
        log.warning("worker %d (pid %d) %s; restarting it", task_id, pid, how)
        to_start = [task_id]


def ignore_hangup(signum: int = signal.SIGHUP, frame: FrameType | None = None) -> None:
    """SIGHUP: logged, nothing reloaded (restart the gateway to apply a new configuration; a
    renewed certificate is loaded without one, :mod:`gateway.certificates`); its default action
    would end the process without a drain."""
    log.warning("SIGHUP ignored: the gateway reloads nothing on a signal; restart it (SIGTERM drains) to apply a new "
                "configuration (renewed certificate files are loaded by themselves)")


def _die_with(parent: int) -> None:
    """This worker gets SIGTERM (and drains) when the parent dies (Linux; elsewhere nothing)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request: nobody would send it
        os.kill(os.getpid(), signal.SIGTERM)


def _signal_children(parent: int, signum: int) -> None:
    for pid in children_of(parent):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _stop_children(parent: int) -> None:
    """SIGTERM to the workers still running, wait for them to drain (at most
    :data:`GIVE_UP_SECONDS`), then SIGKILL any left."""
    _signal_children(parent, signal.SIGTERM)
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while children_of(parent) and time.monotonic() < deadline:
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        time.sleep(0.05)
    _signal_children(parent, signal.SIGKILL)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


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
