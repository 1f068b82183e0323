"""Results of a benchmark run and the printed tables, with the issues' targets (bench/targets.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from statistics import median
from pathlib import Path
from typing import Any

from bench.cpu import CpuUse
from bench.targets import TargetSet, verdict
from bench.wrk import WrkResult

#: ``--compare-sizes``: the largest size's req/s must be within 30 % of the smallest's.
SIZE_RATIO_TARGET = 0.70
#: CPU (in cores) used by other processes during a measurement above which it is flagged noisy.
NOISY_OTHER_CORES = 0.15

_ACCESS_LINE = re.compile(r"vizmo_scim\.access (\d{3}) [A-Z]+ \S+ ([\d.]+)ms")
#: ``--log-format json``: a request line is a JSON object with a status and a duration.
_DURATION_KEYS = (("duration_ms", 1.0), ("duration", 1000.0), ("duration_s", 1000.0), ("elapsed_ms", 1.0))


@dataclass
class KindResult:
    """One request kind against one server."""

    kind: str  # "filter", "get", "post", "patch" or "ceiling"
    wrk: WrkResult
    statuses: dict[str, int] = field(default_factory=dict)  # from the gateway's access log
    server_p50_ms: float | None = None                      # the gateway's own request time
    cpu: CpuUse | None = None                               # CPU use during the measured run

    def share(self, ceiling: WrkResult) -> float:
        return self.wrk.requests_per_second / ceiling.requests_per_second if ceiling.requests_per_second else 0.0

    def errors(self) -> bool:
        """Non-2xx answers (wrk's count or the gateway's access log) or socket errors."""
        return bool(self.wrk.errors_4xx_5xx or any(not s.startswith("2") for s in self.statuses)
                    or sum(self.wrk.socket_errors.values()))

    def verdict(self, targets: TargetSet, ceiling: WrkResult, connections: int, processes: int) -> str:
        """PASS/MISS against this kind's target in ``targets`` (issue 14 §6 or 16 §3)."""
        return verdict(targets.of(self.kind), share=self.share(ceiling), p99_ms=self.wrk.p99_ms,
                       errors=self.errors(), connections=connections, processes=processes)


def median_result(rounds: list[KindResult]) -> KindResult:
    """Several rounds of one kind as one (``--repeat``): the median of each figure, the
    gateway's status counts and wrk's error counts summed. One round is returned as it is."""
    if len(rounds) == 1:
        return rounds[0]
    runs = [r.wrk for r in rounds]
    wrk = WrkResult(
        requests=sum(w.requests for w in runs), seconds=sum(w.seconds for w in runs),
        requests_per_second=median(w.requests_per_second for w in runs),
        latency_ms={p: median(w.latency_ms[p] for w in runs) for p in runs[0].latency_ms},
        errors_4xx_5xx=sum(w.errors_4xx_5xx for w in runs),
        socket_errors=dict(sum((Counter(w.socket_errors) for w in runs), Counter())))
    statuses = sum((Counter(r.statuses) for r in rounds), Counter())
    p50s = [r.server_p50_ms for r in rounds if r.server_p50_ms is not None]
    cpus = [r.cpu for r in rounds if r.cpu is not None]
    cpu = None
    if cpus:
        def mid(values: list[float | None]) -> float | None:
            known = [v for v in values if v is not None]
            return median(known) if known else None
        cpu = replace(cpus[0], server=mid([c.server for c in cpus]), wrk=median(c.wrk for c in cpus),
                      other=mid([c.other for c in cpus]))
    return KindResult(rounds[0].kind, wrk, dict(sorted(statuses.items())), median(p50s) if p50s else None, cpu)


@dataclass
class SizeRun:
    """Every kind measured against a gateway over a directory of ``employees`` rows."""

    employees: int
    scim_users: int
    seed_seconds: float
    ceiling: KindResult  # the first ceiling measurement (before the first kind)
    kinds: dict[str, KindResult] = field(default_factory=dict)
    #: The ceiling measured right before each kind: the host's speed drifts by tens of percent
    #: over a run, so each kind is judged against the ceiling next to it.
    ceilings: dict[str, KindResult] = field(default_factory=dict)

    def ceiling_of(self, kind: str) -> WrkResult:
        """The ceiling ``kind`` is judged against."""
        return self.ceilings.get(kind, self.ceiling).wrk


def access_log_stats(log_path: Path, offset: int) -> tuple[dict[str, int], float | None]:
    """Status counts and the median request time in the gateway's access log after ``offset``
    (text lines, or JSON lines with ``--log-format json``)."""
    with open(log_path, "rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    statuses: Counter[str] = Counter()
    times: list[float] = []
    for status, ms in _ACCESS_LINE.findall(text):
        statuses[status] += 1
        times.append(float(ms))
    for line in text.splitlines():
        found = json_access_line(line)
        if found is not None:
            statuses[found[0]] += 1
            times.append(found[1])
    times.sort()
    return dict(sorted(statuses.items())), (times[len(times) // 2] if times else None)


def json_access_line(line: str) -> tuple[str, float] | None:
    """``(status, milliseconds)`` of a JSON log line that records a request, else None."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    status = record.get("status")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    for key, scale in _DURATION_KEYS:
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(status), float(value) * scale
    return None


def _row(cells: list[str], widths: list[int], numeric: set[int]) -> str:
    return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


def table(header: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """A plain-text table; columns in ``numeric`` are right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths, numeric), _row(["-" * w for w in widths], widths, numeric)]
    return "\n".join([*lines, *(_row(r, widths, numeric) for r in rows)])


def _cpu_cell(result: KindResult) -> str:
    return "" if result.cpu is None or result.cpu.server is None else f"{100 * result.cpu.server:.0f} %"


def format_run(run: SizeRun, connections: int, processes: int, targets: TargetSet) -> str:
    """The table of one size: kind, req/s, p50, p99, non-2xx, % of ceiling, the server's CPU
    (100 % = one core: a single-threaded server is saturated), the issue's target, PASS/MISS."""
    header = ["kind", "req/s", "p50 ms", "p99 ms", "non-2xx", "ceiling req/s", "% ceiling", "server CPU",
              f"target, {targets.name}", "result"]
    c = run.ceiling.wrk
    rows = [["ceiling", f"{c.requests_per_second:,.0f}", f"{c.p50_ms:.2f}", f"{c.p99_ms:.2f}",
             str(c.errors_4xx_5xx), "", "100.0 %", _cpu_cell(run.ceiling), "", ""]]
    notes = []
    for kind, result in run.kinds.items():
        w, beside = result.wrk, run.ceiling_of(kind)
        rows.append([kind, f"{w.requests_per_second:,.0f}", f"{w.p50_ms:.2f}", f"{w.p99_ms:.2f}",
                     str(w.errors_4xx_5xx), f"{beside.requests_per_second:,.0f}",
                     f"{100 * result.share(beside):.1f} %", _cpu_cell(result), targets.of(kind).describe(),
                     result.verdict(targets, beside, connections, processes)])
        odd = {s: n for s, n in result.statuses.items() if not s.startswith("2")}
        if odd or sum(w.socket_errors.values()):
            notes.append(f"  {kind}: gateway statuses {result.statuses}, wrk socket errors {w.socket_errors}")
        if not result.statuses:
            notes.append(f"  {kind}: no request lines found in the gateway's log (its status counts are unknown)")
    later_ceilings = [c for c in run.ceilings.values() if c is not run.ceiling]  # the first is run.ceiling
    for result in (run.ceiling, *later_ceilings, *run.kinds.values()):
        if result.cpu is not None and result.cpu.other is not None and result.cpu.other > NOISY_OTHER_CORES:
            notes.append(f"  {result.kind}: other processes used "
                         f"{result.cpu.other:.2f} CPU cores meanwhile; the numbers are noisy")
    title = (f"{run.employees:,} employees ({run.scim_users:,} with scim_users rows), "
             f"seeded in {run.seed_seconds:.1f} s")
    out = [title, table(header, rows, numeric={1, 2, 3, 4, 5, 6, 7}),
           "  (each kind's share is of the ceiling measured right before it, in the ceiling req/s column)"]
    return "\n".join(out + notes)


def comparison(runs: list[SizeRun]) -> dict[str, dict[str, Any]]:
    """Per lookup kind: req/s at the smallest and the largest size and their ratio."""
    small, large = min(runs, key=lambda r: r.employees), max(runs, key=lambda r: r.employees)
    result: dict[str, dict[str, Any]] = {}
    for kind in small.kinds.keys() & large.kinds.keys():
        a, b = small.kinds[kind], large.kinds[kind]
        ratio = b.wrk.requests_per_second / a.wrk.requests_per_second if a.wrk.requests_per_second else 0.0
        small_share = a.share(small.ceiling_of(kind))
        share_ratio = b.share(large.ceiling_of(kind)) / small_share if small_share else 0.0
        result[kind] = {"small": small.employees, "large": large.employees,
                        "small_rps": a.wrk.requests_per_second, "large_rps": b.wrk.requests_per_second,
                        "small_p99_ms": a.wrk.p99_ms, "large_p99_ms": b.wrk.p99_ms,
                        "ratio": ratio, "share_ratio": share_ratio, "ok": ratio >= SIZE_RATIO_TARGET}
    return dict(sorted(result.items()))


def format_comparison(runs: list[SizeRun]) -> str:
    """The ``--compare-sizes`` table: largest vs smallest directory."""
    header = ["kind", "sizes", "req/s", "p99 ms", "ratio", "ratio of % ceiling", "target", "result"]
    rows = []
    for kind, c in comparison(runs).items():
        rows.append([kind, f"{c['small']:,} -> {c['large']:,}",
                     f"{c['small_rps']:,.0f} -> {c['large_rps']:,.0f}",
                     f"{c['small_p99_ms']:.2f} -> {c['large_p99_ms']:.2f}", f"{c['ratio']:.2f}",
                     f"{c['share_ratio']:.2f}", f">= {SIZE_RATIO_TARGET:.2f}", "ok" if c["ok"] else "MISS"])
    return "Size comparison (lookups)\n" + table(header, rows, numeric={4, 5})


def _cpu_json(result: KindResult) -> dict[str, float | None] | None:
    if result.cpu is None:
        return None
    return {"server": result.cpu.server, "wrk": result.cpu.wrk, "other": result.cpu.other}


def as_json(runs: list[SizeRun], settings: dict[str, Any], targets: TargetSet) -> dict[str, Any]:
    """The machine-readable form of a whole run (``--json``)."""
    out: dict[str, Any] = {
        "settings": settings,
        "targets": {"name": targets.name, "size_ratio_at_least": SIZE_RATIO_TARGET,
                    "kinds": {k: {"share_of_ceiling": t.share, "p99_ms_below": t.p99_ms, "processes": t.processes}
                              for k, t in targets.kinds.items()}},
        "runs": [],
    }
    for run in runs:
        out["runs"].append({
            "employees": run.employees, "scim_users": run.scim_users, "seed_seconds": run.seed_seconds,
            "ceiling": {**run.ceiling.wrk.as_dict(), "cpu_cores": _cpu_json(run.ceiling)},
            "kinds": {k: {**r.wrk.as_dict(), "ceiling_rps": run.ceiling_of(k).requests_per_second,
                          "share_of_ceiling": r.share(run.ceiling_of(k)),
                          "gateway_statuses": r.statuses, "gateway_p50_ms": r.server_p50_ms,
                          "cpu_cores": _cpu_json(r),
                          "verdict": r.verdict(targets, run.ceiling_of(k), settings["connections"],
                                               settings["processes"])}
                      for k, r in run.kinds.items()},
        })
    if len(runs) > 1:
        out["size_comparison"] = comparison(runs)
    return out
