"""The speed targets of the issues, and the PASS/MISS verdict of a measured kind against them.

Issue 14 §6 (the ``tornado.web`` layer, one process, 32 connections, 100,000 employees):
``filter`` and ``get`` at ≥ 55 % of the hello world's requests/s with p99 < 25 ms; PATCH p99 < 50 ms
with ``--processes 2``.

Issue 16 §3 (the same, with "everything on": metrics, the activity log, rate limiting, JSON logs):
``filter`` and ``get`` at ≥ 50 % with p99 < 25 ms; PATCH p99 < 50 ms; write throughput with the
activity log ≥ 90 % of write throughput without it (``--compare-activity``); with ``--processes 2``
≥ 1.7× the one-process figures (``--compare-processes``).

Every target is judged only where the issue states it (its number of processes, 32 connections).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The connection count every p99 target is stated at.
P99_CONNECTIONS = 32
#: ``--compare-activity``: write req/s with the activity log on, as a share of off (issue 16 §3).
ACTIVITY_RATIO_TARGET = 0.90
#: ``--compare-processes``: req/s with ``--processes 2`` over one process (issue 16 §3).
PROCESSES_RATIO_TARGET = 1.7


@dataclass(frozen=True)
class KindTarget:
    """What one request kind must reach: a share of the ceiling's req/s and/or a p99 bound,
    judged only at ``processes`` worker processes."""

    share: float | None = None
    p99_ms: float | None = None
    processes: int = 1

    def describe(self) -> str:
        parts = ([f">= {100 * self.share:.0f} %"] if self.share is not None else []) + \
                ([f"p99 < {self.p99_ms:g} ms"] if self.p99_ms is not None else [])
        where = " (1 process)" if self.processes == 1 else f" ({self.processes} processes)"
        return (", ".join(parts) + where) if parts else "none"


@dataclass(frozen=True)
class TargetSet:
    """The targets of one issue, by kind (a kind without an entry has none)."""

    name: str
    kinds: dict[str, KindTarget] = field(default_factory=dict)

    def of(self, kind: str) -> KindTarget:
        return self.kinds.get(kind, KindTarget())


ISSUE_14 = TargetSet("issue 14 §6 (web layer)", {
    "filter": KindTarget(share=0.55, p99_ms=25.0),
    "get": KindTarget(share=0.55, p99_ms=25.0),
    "patch": KindTarget(p99_ms=50.0, processes=2),
})
ISSUE_16 = TargetSet("issue 16 §3 (everything on)", {
    "filter": KindTarget(share=0.50, p99_ms=25.0),
    "get": KindTarget(share=0.50, p99_ms=25.0),
    "patch": KindTarget(p99_ms=50.0),
})


def verdict(target: KindTarget, *, share: float, p99_ms: float, errors: bool, connections: int,
            processes: int) -> str:
    """``PASS``, ``MISS: <what>``, or why the target is not judged in this run; non-2xx
    answers or socket errors are a miss whatever the target."""
    missed = ["errors"] if errors else []
    has_target = target.share is not None or target.p99_ms is not None
    if not has_target:
        return "MISS: errors" if missed else "no target"
    if processes != target.processes:
        why = f"not judged (target at {target.processes} process{'es' if target.processes > 1 else ''})"
        return f"MISS: errors; {why}" if missed else why
    if target.share is not None and share < target.share:
        missed.insert(0, "throughput")
    if target.p99_ms is not None:
        if connections != P99_CONNECTIONS:
            return f"not judged (p99 target at {P99_CONNECTIONS} connections)" if not missed else \
                "MISS: " + ", ".join(missed)
        if p99_ms >= target.p99_ms:
            missed.insert(len(missed) - ("errors" in missed), "p99")
    return "MISS: " + ", ".join(missed) if missed else "PASS"


def ratio_verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "MISS"
