"""Two gateway variants over one directory, measured alternately (``--compare-activity``,
``--compare-processes``; issue 15 §1 and issue 16 §3).

The host's speed drifts by tens of percent within a minute, so a ratio is only meaningful
between measurements taken side by side: each round measures both variants back to back, the
order swapped every round (A B, B A, A B, ...) so neither always runs second, and the verdict is
the median of the per-round ratios A/B (the ratio of the medians is printed beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from bench.report import KindResult, median_result, table
from bench.targets import ACTIVITY_RATIO_TARGET, PROCESSES_RATIO_TARGET, ratio_verdict

#: ``measure(variant_index, kind)``: one warmed-up, measured wrk run of ``kind`` against a variant.
Measure = Callable[[int, str], KindResult]


@dataclass(frozen=True)
class Comparison:
    """What is compared: variant A over variant B, and the issue's target for A/B."""

    title: str
    labels: tuple[str, str]
    target: float
    target_text: str
    note: str = ""


ACTIVITY = Comparison("Activity log on vs off", ("on", "off"), ACTIVITY_RATIO_TARGET,
                      "issue 16 §3: write req/s with the activity log >= 90 % of without")
PROCESSES = Comparison("--processes 2 vs 1", ("2 proc", "1 proc"), PROCESSES_RATIO_TARGET,
                       "issue 16 §3: with --processes 2, >= 1.7x the one-process figures",
                       note="wrk runs on the same cores as the gateway's workers (on a 2-core machine it takes "
                            "CPU from them), so the ceiling row shows what this host allows two processes")


@dataclass
class PairResult:
    """One kind's rounds for both variants (index 0 = A, 1 = B), in measurement order."""

    kind: str
    rounds: tuple[list[KindResult], list[KindResult]] = field(default_factory=lambda: ([], []))

    def round_ratios(self) -> list[float]:
        return [a.wrk.requests_per_second / b.wrk.requests_per_second if b.wrk.requests_per_second else 0.0
                for a, b in zip(*self.rounds)]

    def ratio(self) -> float:
        """The verdict's figure: the median of the per-round ratios A/B."""
        ratios = self.round_ratios()
        return median(ratios) if ratios else 0.0

    def medians(self) -> tuple[KindResult, KindResult]:
        return median_result(self.rounds[0]), median_result(self.rounds[1])


def round_order(round_number: int) -> tuple[int, int]:
    """Variant indices in measurement order: A first in even rounds, B first in odd ones."""
    return (0, 1) if round_number % 2 == 0 else (1, 0)


def run_pairs(kinds: list[str], repeat: int, measure: Measure,
              progress: Callable[[str], None] = lambda _: None) -> list[PairResult]:
    """Every kind, ``repeat`` rounds of both variants, alternately."""
    results = []
    for kind in kinds:
        pair = PairResult(kind)
        for number in range(repeat):
            for variant in round_order(number):
                pair.rounds[variant].append(measure(variant, kind))
            a, b = pair.rounds[0][-1].wrk, pair.rounds[1][-1].wrk
            progress(f"  {kind} round {number + 1}: {a.requests_per_second:,.0f} vs {b.requests_per_second:,.0f} "
                     f"req/s (ratio {pair.round_ratios()[-1]:.2f})")
        results.append(pair)
    return results


def _errors(result: KindResult) -> str:
    odd = sum(n for s, n in result.statuses.items() if not s.startswith("2"))
    return str(max(odd, result.wrk.errors_4xx_5xx) + sum(result.wrk.socket_errors.values()))


def format_pairs(comparison: Comparison, pairs: list[PairResult], repeat: int) -> str:
    """The side-by-side table with the ratio, the target and PASS/MISS."""
    a_label, b_label = comparison.labels
    header = ["kind", f"{a_label} req/s", f"{a_label} p99 ms", f"{b_label} req/s", f"{b_label} p99 ms", "errors",
              "ratio per round", f"ratio {a_label}/{b_label}", "ratio of medians", "target", "result"]
    rows = []
    for pair in pairs:
        a, b = pair.medians()
        of_medians = a.wrk.requests_per_second / b.wrk.requests_per_second if b.wrk.requests_per_second else 0.0
        judged = pair.kind != "ceiling"
        rows.append([pair.kind, f"{a.wrk.requests_per_second:,.0f}", f"{a.wrk.p99_ms:.2f}",
                     f"{b.wrk.requests_per_second:,.0f}", f"{b.wrk.p99_ms:.2f}", f"{_errors(a)}/{_errors(b)}",
                     " ".join(f"{r:.2f}" for r in pair.round_ratios()), f"{pair.ratio():.2f}", f"{of_medians:.2f}",
                     f">= {comparison.target:g}" if judged else "(host)",
                     ratio_verdict(pair.ratio(), comparison.target) if judged else ""])
    lines = [f"{comparison.title} ({comparison.target_text}); medians of {repeat} alternating round(s)",
             table(header, rows, numeric={1, 2, 3, 4, 7, 8}),
             "  (ratio per round: each round measures both variants back to back, order swapped each round; "
             "the verdict is their median)"]
    if comparison.note:
        lines.append(f"  note: {comparison.note}")
    return "\n".join(lines)


def pairs_json(comparison: Comparison, pairs: list[PairResult]) -> dict[str, Any]:
    out: dict[str, Any] = {"title": comparison.title, "labels": list(comparison.labels),
                           "target_ratio_at_least": comparison.target, "kinds": {}}
    for pair in pairs:
        a, b = pair.medians()
        out["kinds"][pair.kind] = {
            comparison.labels[0]: {**a.wrk.as_dict(), "gateway_statuses": a.statuses},
            comparison.labels[1]: {**b.wrk.as_dict(), "gateway_statuses": b.statuses},
            "round_ratios": pair.round_ratios(), "ratio": pair.ratio(),
            "verdict": ratio_verdict(pair.ratio(), comparison.target) if pair.kind != "ceiling" else None}
    return out
