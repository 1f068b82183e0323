"""Load benchmark of the gateway against a bare Tornado handler (issue 2 §7). Not a test.

Seeds a fresh directory with N employees of location 1, enables SCIM there, starts the real
gateway (``python -m gateway.cli serve``) and a trivial Tornado "ceiling" server on loopback
ports, and drives Entra ID-shaped traffic at both with ``wrk`` (``-t1 -c<connections>``):

    filter  GET /Users?filter=userName eq "<existing email>"
    get     GET /Users/<existing id>
    post    POST /Users with a fresh userName (Microsoft's "Create User" example)
    patch   PATCH /Users/<existing id>: title, displayName, name.familyName, active (the shapes Entra sends
            without and with aadOptscim062020)

Prints req/s, p50/p99 and non-2xx counts per kind, each as a share of the ceiling measured right
before it in the same run (the host's speed drifts over a run), beside the issue's targets.
With ``--repeat N`` each kind and its ceiling are measured N times, alternately, and every
figure is the median of the N rounds.
Traffic goes to 127.0.0.1 only.

    python3 bench/load.py                                  # 100,000 employees, 10 s per kind
    python3 bench/load.py --employees 10000 --duration 5
    python3 bench/load.py --compare-sizes 10000,1000000    # lookups at each size, and the ratio
    python3 bench/load.py --processes 2                    # two workers (gateway and ceiling) share a port
    python3 bench/load.py --repeat 3                       # each kind 3 times beside its ceiling; medians
    python3 bench/load.py --adapter postgres               # a throwaway PostgreSQL (tests/pg_cluster.py)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Iterator, Sequence

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu, servers, wrk  # noqa: E402
from bench.report import (NOISY_OTHER_CORES, KindResult, SizeRun, access_log_stats, as_json,  # noqa: E402
                          format_comparison, format_run, median_result)
from bench.seed import LOCATION_ID, SeededDirectory, SeedError, seed_directory  # noqa: E402

KINDS = ("filter", "get", "post", "patch")
LOOKUP_KINDS = ("filter", "get")
ADAPTERS = ("sqlite", "postgres")
TENANT_PATH = f"/scim/v2/locations/{LOCATION_ID}"
WRK_MISSING = ("bench/load.py needs wrk (https://github.com/wg/wrk), which is not on PATH.\n"
               "Install it with:  sudo apt-get install wrk   (Debian/Ubuntu; macOS: brew install wrk)")


class BenchError(Exception):
    """A failure reported without a traceback (exit status 1)."""


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"kinds are {', '.join(KINDS)}; got {text!r}")
    return list(dict.fromkeys(kinds))


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are comma-separated integers; got {text!r}") from None
    if len(sizes) < 2 or sizes[0] < 1:
        raise argparse.ArgumentTypeError("give at least two positive sizes, e.g. 10000,1000000")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/load.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--employees", type=int, default=100_000, help="employees to seed (default 100000)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per kind (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="unmeasured seconds of the same traffic before each measurement (default 2; 0: none)")
    parser.add_argument("--kinds", type=_kinds, default=list(KINDS),
                        help=f"comma-separated request kinds (default {','.join(KINDS)})")
    parser.add_argument("--data-dir", type=Path,
                        help="where to seed (DIR/employees-N/, kept afterwards; default: a temporary directory)")
    parser.add_argument("--compare-sizes", type=_sizes, metavar="N,M",
                        help="run the lookup kinds at each size instead of --employees and print the ratio")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure each kind N times, each right after its own ceiling run, and report "
                             "the median of each figure (default 1; the host's speed drifts between runs)")
    parser.add_argument("--processes", type=int, default=1,
                        help="worker processes of the gateway (serve --processes) and of the ceiling (default 1)")
    parser.add_argument("--adapter", choices=ADAPTERS, default="sqlite",
                        help="directory to seed: the embedded SQLite file, or a throwaway PostgreSQL "
                             "started with tests/pg_cluster.py (default sqlite)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return parser


def _measure(wrk_path: str, server: servers.ServerProcess, kind: str, seeded: SeededDirectory,
             args: argparse.Namespace, *, label: str | None = None, access_log: bool = True) -> KindResult:
    """A warm-up, then the measured wrk run; the gateway's access log gives its status counts.

    wrk stops with requests still queued in the gateway (Tornado finishes a request whose
    client has gone); they are waited for, so they neither slow the next run nor get cut off.
    ``label`` names the result (default ``kind``; the ceiling is driven with the filter script).
    """
    label = label or kind
    lists = {"filter": seeded.emails_file, "get": seeded.ids_file, "patch": seeded.ids_file}

    def run_args() -> list[str]:  # a fresh tag per wrk run keeps POSTed userNames unique
        return [kind, str(lists.get(kind, "-")), str(seeded.token_file), TENANT_PATH, secrets.token_hex(4)]

    if args.warmup > 0:
        wrk.run(wrk_path, server.url, run_args(), connections=args.connections, duration=args.warmup)
        if access_log:
            server.wait_idle()
    offset = server.log_size()
    before, started = cpu.sample(server.pid), time.monotonic()
    result = wrk.run(wrk_path, server.url, run_args(), connections=args.connections, duration=args.duration)
    use = cpu.between(before, cpu.sample(server.pid), time.monotonic() - started)
    if use.other is not None and use.other > NOISY_OTHER_CORES:
        _progress(f"warning: other processes used {use.other:.2f} CPU cores during {label}; its numbers are noisy")
    if not access_log:
        return KindResult(label, result, cpu=use)
    server.wait_idle()
    statuses, server_p50 = access_log_stats(server.log_path, offset)
    return KindResult(label, result, statuses, server_p50, cpu=use)


@contextmanager
def _seeded(data_dir: Path, employees: int, adapter: str) -> Iterator[tuple[SeededDirectory, Path | None]]:
    """The seeded directory and the gateway's ``--config`` (None: the embedded SQLite directory);
    a PostgreSQL cluster lives as long as the context."""
    if adapter == "sqlite":
        yield seed_directory(data_dir, employees), None
        return
    from bench.pg_seed import postgres_directory  # needs asyncpg and the PostgreSQL binaries
    with postgres_directory(data_dir, employees) as pg:
        yield pg.seeded, pg.config


def _run_size(wrk_path: str, ceiling: servers.ServerProcess, base_dir: Path, employees: int,
              kinds: list[str], args: argparse.Namespace) -> SizeRun:
    _progress(f"seeding {employees:,} employees ({args.adapter}) in {base_dir / f'employees-{employees}'} ...")
    with ExitStack() as stack:
        seeded, config = stack.enter_context(_seeded(base_dir / f"employees-{employees}", employees, args.adapter))
        _progress(f"seeded {seeded.employees:,} employees ({seeded.scim_users:,} with scim_users rows) "
                  f"in {seeded.seconds:.1f} s")
        gateway = stack.enter_context(servers.gateway(seeded.data_dir, seeded.data_dir / "gateway.log",
                                                      processes=args.processes, config=config))
        return _measure_size(wrk_path, ceiling, gateway, seeded, kinds, args)


def _measure_size(wrk_path: str, ceiling: servers.ServerProcess, gateway: servers.ServerProcess,
                  seeded: SeededDirectory, kinds: list[str], args: argparse.Namespace) -> SizeRun:
    _progress(f"gateway pid {gateway.pid} at {gateway.url}, ceiling pid {ceiling.pid} at {ceiling.url}")
    def measure_ceiling() -> KindResult:
        _progress(f"ceiling: {args.duration:g} s ...")
        return _measure(wrk_path, ceiling, "filter", seeded, args, label="ceiling", access_log=False)

    first = measure_ceiling()
    run = SizeRun(employees=seeded.employees, scim_users=seeded.scim_users, seed_seconds=seeded.seconds,
                  ceiling=first)
    for number, kind in enumerate(kinds):
        ceilings, results = [], []
        for round_number in range(args.repeat):  # each round: a ceiling, then the kind right after it
            ceilings.append(first if number == 0 and round_number == 0 else measure_ceiling())
            _progress(f"{kind}: {args.duration:g} s" + (f" (round {round_number + 1} of {args.repeat})"
                                                         if args.repeat > 1 else "") + " ...")
            results.append(_measure(wrk_path, gateway, kind, seeded, args))
            if args.repeat > 1:
                w, c = results[-1].wrk, ceilings[-1].wrk
                _progress(f"  {kind}: {w.requests_per_second:,.0f} req/s ({100 * results[-1].share(c):.1f} % of "
                          f"{c.requests_per_second:,.0f}), p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms")
        run.ceilings[kind], run.kinds[kind] = median_result(ceilings), median_result(results)
    return run


def _settings(args: argparse.Namespace, kinds: list[str], sizes: list[int]) -> dict[str, Any]:
    return {"sizes": sizes, "kinds": kinds, "adapter": args.adapter, "processes": args.processes,
            "connections": args.connections, "threads": 1,
            "duration_s": args.duration, "warmup_s": args.warmup, "repeat": args.repeat, "cpus": os.cpu_count(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace) -> int:
    wrk_path = wrk.find_wrk()
    if wrk_path is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    sizes = args.compare_sizes or [args.employees]
    kinds = [k for k in args.kinds if k in LOOKUP_KINDS] if args.compare_sizes else args.kinds
    if not kinds:
        raise BenchError("--compare-sizes measures lookups: include filter or get in --kinds")
    if min(sizes) < 1 or min(args.connections, args.duration, args.processes, args.repeat) < 1:
        raise BenchError("--employees, --connections, --duration, --processes and --repeat must be at least 1")
    if args.data_dir is not None:
        taken = [args.data_dir / f"employees-{n}" for n in sizes if (args.data_dir / f"employees-{n}").exists()]
        if taken:
            raise BenchError(f"{taken[0]} already exists; choose a fresh --data-dir (the benchmark seeds anew)")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    settings = _settings(args, kinds, sizes)
    runs: list[SizeRun] = []
    with ExitStack() as stack:
        if args.data_dir is None:
            base_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vizmo-bench-")))
        else:
            base_dir = args.data_dir
            base_dir.mkdir(parents=True, exist_ok=True)
        ceiling = stack.enter_context(servers.ceiling(base_dir / "ceiling.log", processes=args.processes))
        for employees in sizes:
            runs.append(_run_size(wrk_path, ceiling, base_dir, employees, kinds, args))
    if args.json:
        print(json.dumps(as_json(runs, settings), indent=2))
        return 0
    database = f"SQLite {settings['sqlite']}" if args.adapter == "sqlite" else "PostgreSQL (throwaway cluster)"
    print(f"adapter {args.adapter}, {args.processes} process(es) each for the gateway and the ceiling; "
          f"wrk -t1 -c{args.connections} -d{args.duration:g}s (after {args.warmup:g} s warm-up)"
          f"{f', medians of {args.repeat} rounds' if args.repeat > 1 else ''}, "
          f"{settings['cpus']} CPUs, Python {settings['python']}, {database}\n")
    print("\n\n".join(format_run(r, args.connections) for r in runs))
    if len(runs) > 1:
        print("\n" + format_comparison(runs))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    except (BenchError, SeedError, servers.ServerError, wrk.WrkError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
