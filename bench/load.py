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
before it in the same run (the host's speed drifts over a run), beside the issues' targets
(bench/targets.py: issue 14 §6, or issue 16 §3 with ``--everything-on``) and PASS/MISS for each.
With ``--repeat N`` each kind and its ceiling are measured N times, alternately, and every
figure is the median of the N rounds. ``--compare-activity`` and ``--compare-processes`` run two
gateways over the same directory and measure them alternately instead (bench/compare.py).
Traffic goes to 127.0.0.1 only.

    python3 bench/load.py                                  # 100,000 employees, 10 s per kind
    python3 bench/load.py --employees 10000 --duration 5
    python3 bench/load.py --compare-sizes 10000,1000000    # lookups at each size, and the ratio
    python3 bench/load.py --processes 2                    # two workers (gateway and ceiling) share a port
    python3 bench/load.py --repeat 3                       # each kind 3 times beside its ceiling; medians
    python3 bench/load.py --adapter postgres               # a throwaway PostgreSQL (tests/pg_cluster.py)
    python3 bench/load.py --everything-on --repeat 3       # JSON logs too (issue 16 §3 targets)
    python3 bench/load.py --compare-activity --repeat 3    # post, patch with [activity] enabled = true / false
    python3 bench/load.py --compare-processes --repeat 3   # post, patch (and the ceiling) with 1 and 2 processes
    python3 bench/load.py --serve-arg=--base-url --serve-arg=http://x   # any flag for every gateway started
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

from bench import compare, cpu, servers, wrk  # noqa: E402
from bench.report import (NOISY_OTHER_CORES, KindResult, SizeRun, access_log_stats, as_json,  # noqa: E402
                          format_comparison, format_run, median_result)
from bench.seed import LOCATION_ID, SeededDirectory, SeedError, seed_directory  # noqa: E402
from bench.targets import ISSUE_14, ISSUE_16, TargetSet  # noqa: E402

KINDS = ("filter", "get", "post", "patch")
LOOKUP_KINDS = ("filter", "get")
WRITE_KINDS = ("post", "patch")
#: ``--everything-on`` (issue 16 §3) adds JSON logs; metrics, the activity log and the rate limit
#: are always on.
EVERYTHING_ON_ARGS = ("--log-format", "json")
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
    parser.add_argument("--kinds", type=_kinds,
                        help=f"comma-separated request kinds (default {','.join(KINDS)}; "
                             f"{','.join(WRITE_KINDS)} with --compare-activity or --compare-processes)")
    parser.add_argument("--data-dir", type=Path,
                        help="where to seed (DIR/employees-N/, kept afterwards; default: a temporary directory)")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--compare-sizes", type=_sizes, metavar="N,M",
                       help="run the lookup kinds at each size instead of --employees and print the ratio")
    modes.add_argument("--compare-activity", action="store_true",
                       help="measure the kinds with the activity log on and off ([activity] enabled = false "
                            "in a --config file), alternately, and print the ratio on/off (issue 16 §3: >= 0.9)")
    modes.add_argument("--compare-processes", action="store_true",
                       help="measure the kinds (and the ceiling) with --processes 1 and 2, alternately, and "
                            "print the ratio 2/1 (issue 16 §3: >= 1.7)")
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="an argument for every 'vizmo-scim serve' started (repeat it; write "
                             "--serve-arg=--flag for one that starts with a dash)")
    parser.add_argument("--everything-on", action="store_true",
                        help=f"serve with {' '.join(EVERYTHING_ON_ARGS)} (metrics, the activity log and the rate "
                             f"limit, raised with {' '.join(servers.RATE_LIMIT_ARGS)}, are always on) and judge "
                             "against issue 16 §3 instead of issue 14 §6")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help="measure each kind N times, each right after its own ceiling run (or the other "
                             "variant's), and report the median of each figure (default 1; 3 with "
                             "--compare-activity or --compare-processes; the host's speed drifts between runs)")
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


def serve_args(args: argparse.Namespace) -> list[str]:
    """The extra arguments of every ``vizmo-scim serve`` this run starts."""
    return [*servers.RATE_LIMIT_ARGS, *(EVERYTHING_ON_ARGS if args.everything_on else ()), *args.serve_arg]


def _gateway(stack: ExitStack, seeded: SeededDirectory, config: Path | None, args: argparse.Namespace, *,
             processes: int, name: str = "gateway") -> servers.ServerProcess:
    """A gateway over the seeded directory, stopped when ``stack`` closes; reports ``GET /metrics``."""
    gateway = stack.enter_context(servers.gateway(seeded.data_dir, seeded.data_dir / f"{name}.log",
                                                  processes=processes, config=config,
                                                  extra_args=serve_args(args)))
    _progress(f"{name}: pid {gateway.pid} at {gateway.url}, {processes} process(es), "
              f"GET /metrics -> {gateway.probe('/metrics') or 'no answer'}, log {gateway.log_path}")
    return gateway


def _activity_off_config(data_dir: Path, config: Path | None) -> Path:
    """The gateway's config (if any) plus ``[activity] enabled = false`` (issue 15 §1)."""
    base = config.read_text(encoding="utf-8") if config is not None else ""
    path = data_dir / "gateway-activity-off.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(base + "\n[activity]\nenabled = false\n")
    return path


def _run_size(wrk_path: str, ceiling: servers.ServerProcess, base_dir: Path, employees: int,
              kinds: list[str], args: argparse.Namespace) -> SizeRun:
    with ExitStack() as stack:
        seeded, config = _seed(stack, base_dir, employees, args)
        gateway = _gateway(stack, seeded, config, args, processes=args.processes)
        return _measure_size(wrk_path, ceiling, gateway, seeded, kinds, args)


def _seed(stack: ExitStack, base_dir: Path, employees: int,
          args: argparse.Namespace) -> tuple[SeededDirectory, Path | None]:
    _progress(f"seeding {employees:,} employees ({args.adapter}) in {base_dir / f'employees-{employees}'} ...")
    seeded, config = stack.enter_context(_seeded(base_dir / f"employees-{employees}", employees, args.adapter))
    _progress(f"seeded {seeded.employees:,} employees ({seeded.scim_users:,} with scim_users rows) "
              f"in {seeded.seconds:.1f} s")
    return seeded, config


def _run_compare(wrk_path: str, stack: ExitStack, base_dir: Path, kinds: list[str],
                 args: argparse.Namespace) -> tuple[compare.Comparison, list[compare.PairResult]]:
    """``--compare-activity`` / ``--compare-processes``: two gateways over one directory (A, B),
    measured alternately; with processes, also two ceilings (the host's own scaling)."""
    seeded, config = _seed(stack, base_dir, args.employees, args)
    ceilings: list[servers.ServerProcess] = []
    if args.compare_activity:
        comparison = compare.ACTIVITY
        off = _activity_off_config(seeded.data_dir, config)
        variants = [_gateway(stack, seeded, config, args, processes=args.processes, name="gateway-activity-on"),
                    _gateway(stack, seeded, off, args, processes=args.processes, name="gateway-activity-off")]
    else:
        comparison = compare.PROCESSES
        variants = [_gateway(stack, seeded, config, args, processes=2, name="gateway-2-processes"),
                    _gateway(stack, seeded, config, args, processes=1, name="gateway-1-process")]
        ceilings = [stack.enter_context(servers.ceiling(base_dir / f"ceiling-{n}.log", processes=n)) for n in (2, 1)]

    def measure(variant: int, kind: str) -> KindResult:
        label = comparison.labels[variant]
        _progress(f"{kind} ({label}): {args.duration:g} s ...")
        if kind == "ceiling":
            return _measure(wrk_path, ceilings[variant], "filter", seeded, args, label="ceiling", access_log=False)
        return _measure(wrk_path, variants[variant], kind, seeded, args)

    return comparison, compare.run_pairs((["ceiling"] if ceilings else []) + kinds, args.repeat, measure, _progress)


def _measure_size(wrk_path: str, ceiling: servers.ServerProcess, gateway: servers.ServerProcess,
                  seeded: SeededDirectory, kinds: list[str], args: argparse.Namespace) -> SizeRun:
    _progress(f"ceiling pid {ceiling.pid} at {ceiling.url}")
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
            "connections": args.connections, "threads": 1, "serve_args": serve_args(args),
            "duration_s": args.duration, "warmup_s": args.warmup, "repeat": args.repeat, "cpus": os.cpu_count(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "load_average": os.getloadavg()}


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _check(args: argparse.Namespace) -> tuple[list[int], list[str]]:
    """The sizes and kinds to measure; fills in the defaults that depend on the mode."""
    comparing = args.compare_activity or args.compare_processes
    if args.repeat is None:
        args.repeat = 3 if comparing else 1
    sizes = args.compare_sizes or [args.employees]
    kinds = args.kinds or list(WRITE_KINDS if comparing else KINDS)
    if args.compare_sizes:
        kinds = [k for k in kinds if k in LOOKUP_KINDS]
        if not kinds:
            raise BenchError("--compare-sizes measures lookups: include filter or get in --kinds")
    if min(sizes) < 1 or min(args.connections, args.duration, args.processes, args.repeat) < 1:
        raise BenchError("--employees, --connections, --duration, --processes and --repeat must be at least 1")
    if args.compare_processes and args.processes != 1:
        raise BenchError("--compare-processes runs 1 and 2 processes itself; leave out --processes")
    if comparing and args.repeat < 3:
        _progress("warning: a ratio from fewer than 3 alternating rounds is easily moved by the host's drift")
    if args.data_dir is not None:
        taken = [args.data_dir / f"employees-{n}" for n in sizes if (args.data_dir / f"employees-{n}").exists()]
        if taken:
            raise BenchError(f"{taken[0]} already exists; choose a fresh --data-dir (the benchmark seeds anew)")
    return sizes, kinds


def _header(args: argparse.Namespace, settings: dict[str, Any], targets: TargetSet) -> str:
    database = f"SQLite {settings['sqlite']}" if args.adapter == "sqlite" else "PostgreSQL (throwaway cluster)"
    processes = ("1 and 2 processes" if args.compare_processes
                 else f"{args.processes} process(es) each for the gateway and the ceiling")
    load = ", ".join(f"{v:.2f}" for v in settings["load_average"])
    return (f"commit {servers.commit()}; adapter {args.adapter}, {processes}; wrk -t1 -c{args.connections} -d{args.duration:g}s "
            f"(after {args.warmup:g} s warm-up){f', medians of {args.repeat} rounds' if args.repeat > 1 else ''}, "
            f"{settings['cpus']} CPUs, Python {settings['python']}, {database}\n"
            f"serve arguments: {' '.join(settings['serve_args']) or '(none)'}"
            f"{' (--everything-on)' if args.everything_on else ''}; targets: {targets.name}; "
            f"load average at start {load}\n")


def run(args: argparse.Namespace) -> int:
    wrk_path = wrk.find_wrk()
    if wrk_path is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    sizes, kinds = _check(args)
    targets = ISSUE_16 if args.everything_on else ISSUE_14
    signal.signal(signal.SIGTERM, _raise_interrupt)
    settings = _settings(args, kinds, sizes)
    runs: list[SizeRun] = []
    with ExitStack() as stack:
        if args.data_dir is None:
            base_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vizmo-bench-")))
        else:
            base_dir = args.data_dir
            base_dir.mkdir(parents=True, exist_ok=True)
        if args.compare_activity or args.compare_processes:
            comparison, pairs = _run_compare(wrk_path, stack, base_dir, kinds, args)
            if args.json:
                print(json.dumps({"settings": settings, "comparison": compare.pairs_json(comparison, pairs)},
                                 indent=2))
            else:
                print(_header(args, settings, targets))
                print(compare.format_pairs(comparison, pairs, args.repeat))
            return 0
        ceiling = stack.enter_context(servers.ceiling(base_dir / "ceiling.log", processes=args.processes))
        for employees in sizes:
            runs.append(_run_size(wrk_path, ceiling, base_dir, employees, kinds, args))
    if args.json:
        print(json.dumps(as_json(runs, settings, targets), indent=2))
        return 0
    print(_header(args, settings, targets))
    print("\n\n".join(format_run(r, args.connections, args.processes, targets) for r in runs))
    if len(runs) > 1:
        print("\n" + format_comparison(runs))
    return 0


def _explain_server_error(exc: servers.ServerError, args: argparse.Namespace) -> str:
    """A server that did not start; an argparse refusal of ``serve`` says which flags are missing."""
    complaint = servers.usage_error(str(exc))
    if complaint is None:
        return f"bench: {exc}"
    given = " ".join(serve_args(args))
    return (f"bench: 'vizmo-scim serve' refused its arguments ({given}): {complaint}\n"
            "bench: this gateway does not have those flags yet"
            + f" (every run passes {' '.join(servers.RATE_LIMIT_ARGS)}; "
              f"--everything-on adds {' '.join(EVERYTHING_ON_ARGS)}: "
              "the rate limit and JSON logs of issue 16 §1-2); check them and any --serve-arg against "
              "'vizmo-scim serve --help'")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    except servers.ServerError as exc:
        print(_explain_server_error(exc, args), file=sys.stderr)
        return 2 if servers.usage_error(str(exc)) else 1
    except (BenchError, SeedError, wrk.WrkError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
