"""Where the CPU went during one measurement (Linux ``/proc``; other systems report nothing).

The gateway is single-threaded Python: at 100 % of one core it is saturated, and its
throughput is then what its per-request CPU allows. CPU used by anything other than the
server and wrk makes the numbers noisy; the benchmark warns about it.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds at one instant."""

    machine_busy: float | None  # all CPUs, all processes
    machine_total: float | None
    server: float | None        # the server process and its children (--processes workers)
    children: float             # finished children of this process (wrk runs)


@dataclass(frozen=True)
class CpuUse:
    """CPU used between two samples, in cores (1.0 = one core fully busy)."""

    server: float | None
    wrk: float
    other: float | None  # everything else on the machine
    cpus: int


def _machine() -> tuple[float, float] | tuple[None, None]:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None, None
    total = sum(fields) / _TICKS
    return total - (fields[3] + fields[4]) / _TICKS, total  # busy, total (idle and iowait excluded)


def _process(pid: int | None) -> float | None:
    """CPU seconds of ``pid`` and its live descendants (the gateway's forked workers)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return own + sum(_process(child) or 0.0 for child in _children(pid))


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(c) for c in children.read().split()]
    except (OSError, ValueError):
        return []


def sample(server_pid: int | None) -> CpuSample:
    busy, total = _machine()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSample(busy, total, _process(server_pid), usage.ru_utime + usage.ru_stime)


def between(before: CpuSample, after: CpuSample, wall_seconds: float) -> CpuUse:
    """CPU use from ``before`` to ``after`` over ``wall_seconds`` of wall time."""
    cpus = os.cpu_count() or 1
    wall = max(wall_seconds, 1e-9)
    wrk = (after.children - before.children) / wall
    server = None if before.server is None or after.server is None else (after.server - before.server) / wall
    other = None
    if before.machine_busy is not None and after.machine_busy is not None:
        other = max(0.0, (after.machine_busy - before.machine_busy) / wall - wrk - (server or 0.0))
    return CpuUse(server=server, wrk=wrk, other=other, cpus=cpus)
