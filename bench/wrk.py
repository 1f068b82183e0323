"""Running ``wrk`` (https://github.com/wg/wrk) and reading its ``--latency`` report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: The wrk script every run uses (request kinds are chosen by its first argument).
SCRIPT = Path(__file__).with_name("scim.lua")

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY_LINE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL_LINE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX_LINE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_LINE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(Exception):
    """wrk failed or printed something this module cannot read."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run. ``errors_4xx_5xx`` is wrk's "Non-2xx or 3xx responses" line, which
    (wrk 4.1, ``response_complete``) counts statuses above 399."""

    requests: int
    seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]  # "50", "75", "90", "99" → milliseconds
    errors_4xx_5xx: int
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_wrk() -> str | None:
    """The wrk executable on PATH, or None."""
    return shutil.which("wrk")


def parse_report(text: str) -> WrkResult:
    """Read wrk's ``--latency`` report."""
    latency = {pct: float(value) * _TIME_UNITS_MS[unit] for pct, value, unit in _LATENCY_LINE.findall(text)}
    total, rps = _TOTAL_LINE.search(text), _RPS_LINE.search(text)
    if total is None or rps is None or set(latency) != {"50", "75", "90", "99"}:
        raise WrkError(f"unexpected wrk output:\n{text}")
    non_2xx = _NON_2XX_LINE.search(text)
    sockets = _SOCKET_LINE.search(text)
    socket_errors = {} if sockets is None else dict(zip(("connect", "read", "write", "timeout"),
                                                        map(int, sockets.groups())))
    return WrkResult(requests=int(total.group(1)),
                     seconds=float(total.group(2)) * _TIME_UNITS_MS[total.group(3)] / 1000.0,
                     requests_per_second=float(rps.group(1)), latency_ms=latency,
                     errors_4xx_5xx=int(non_2xx.group(1)) if non_2xx else 0, socket_errors=socket_errors)


def run(wrk: str, url: str, script_args: list[str], *, connections: int, duration: float,
        threads: int = 1) -> WrkResult:
    """``wrk -t<threads> -c<connections> -d<duration>s --latency -s scim.lua <url> -- <script_args>``."""
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
            "-s", str(SCRIPT), url, "--", *script_args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return parse_report(done.stdout)
