"""Load and faults (issue 16 §2): Entra-shaped writes from several locations while PostgreSQL
restarts and the gateway is killed, then a check that nothing acknowledged was lost. Not a test.

Loopback only, bounded in time. Starts a throwaway PostgreSQL (tests/pg_cluster.py) holding an
empty Vizmo directory with ``--locations`` locations, enables SCIM for each with the real CLI,
starts the real gateway (``vizmo-scim serve`` with the ``postgres`` adapter) on a fixed port and
runs ``--clients`` client threads per location (bench/fault_traffic.py: POST, both PATCH shapes,
PUT, DELETE; retries on connection errors, 5xx and 429, as Entra does). Meanwhile, at fixed
shares of ``--duration``:

    PostgreSQL restart (pg_ctl stop -m fast, --pg-down seconds down, start)
    gateway SIGKILL, then started again on the same port
    PostgreSQL restart (pg_ctl stop -m immediate: a crash)
    gateway SIGTERM (graceful drain; its exit status is reported), then started again

Then it checks the directory and ``scim_activity`` directly (bench/fault_check.py) and prints the
figures: requests and answers by status, acknowledged writes, 503s and their Retry-After, connection
errors, each fault's outage and the time to the first acknowledged write sent after it, the
statuses seen meanwhile, entries checked, and the violations. Exit status 1 on any violation.

    python3 bench/fault.py                       # 4 locations x 2 clients, 60 s
    python3 bench/fault.py --duration 30 --locations 2 --clients 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.fault_check import CheckResult, check  # noqa: E402
from bench.fault_traffic import Attempt, Shared, start_clients  # noqa: E402
from bench.seed import SeedError, enable_integration  # noqa: E402
from tests.pg_cluster import PgCluster, find_bin_dir, remove_cluster, start_cluster  # noqa: E402

#: The faults, each at a share of ``--duration``.
FAULTS = (("postgres restart (fast)", 0.15), ("gateway SIGKILL + start", 0.35),
          ("postgres restart (immediate)", 0.55), ("gateway SIGTERM + start", 0.75))
DRAIN_SECONDS = 20.0  # after --duration: unanswered changes are retried this long


@dataclass
class Fault:
    name: str
    started: float
    down_at: float = 0.0     # PostgreSQL stopped / the signal sent
    recovered: float = 0.0
    detail: str = ""


def _progress(message: str) -> None:
    print(f"fault: {message}", file=sys.stderr, flush=True)


def _sql(name: str) -> str:
    return resources.files("adapters.vizmo_postgres").joinpath(name).read_text(encoding="utf-8")


def _prepare(cluster: PgCluster, data_dir: Path, locations: list[int]) -> tuple[str, Path, dict[int, str]]:
    """The directory database, the gateway's config and each location's Secret Token."""
    dsn = cluster.create_database("vizmo_fault")
    rows = ", ".join(f"({n}, 1, 'Location {n}')" for n in locations)
    cluster.psql(_sql("directory.sql") + _sql("scim_tables.sql") + "INSERT INTO companies (id, name) VALUES (1, 'Fault');"
                 f"INSERT INTO locations (id, company_id, name) VALUES {rows};", "vizmo_fault")
    dsn_file, config = data_dir / "directory.dsn", data_dir / "gateway.toml"
    for path, text in ((dsn_file, dsn + "\n"), (config, f'[adapter]\nname = "postgres"\n\n[adapter.options]\n'
                                                        f"dsn_file = {json.dumps(str(dsn_file))}\n")):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    tokens = {n: enable_integration(data_dir, config, location=n) for n in locations}
    return dsn, config, tokens


def _pg_ctl(cluster: PgCluster, *args: str) -> None:
    cluster._run(str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.root / "data"), *args)


def _restart_postgres(cluster: PgCluster, mode: str, down: float, fault: Fault) -> None:
    _pg_ctl(cluster, "-m", mode, "-w", "stop")
    fault.down_at = time.monotonic()
    time.sleep(down)  # the outage the clients see
    cluster.start()
    fault.recovered = time.monotonic()


def _restart_gateway(gateway: servers.ServerProcess, signum: int, fault: Fault) -> None:
    gateway.signal(signum)
    fault.down_at = time.monotonic()
    status = gateway.wait_exit(60)
    fault.detail = f"exit status {status}" if status is not None else "did not exit within 60 s"
    if status is None:
        gateway.stop()
    gateway.start()
    fault.recovered = time.monotonic()


def _run_faults(cluster: PgCluster, gateway: servers.ServerProcess, started: float, args: argparse.Namespace,
                faults: list[Fault]) -> None:
    for name, share in FAULTS:
        delay = started + share * args.duration - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fault = Fault(name, time.monotonic())
        faults.append(fault)
        _progress(f"{name} at {fault.started - started:.1f} s")
        if name.startswith("postgres"):
            _restart_postgres(cluster, "fast" if "fast" in name else "immediate", args.pg_down, fault)
        else:
            _restart_gateway(gateway, signal.SIGKILL if "SIGKILL" in name else signal.SIGTERM, fault)


def _status_key(attempt: Attempt) -> str:
    return str(attempt.status) if attempt.status is not None else f"no answer ({attempt.error})"


def _fault_lines(faults: list[Fault], attempts: list[Attempt], started: float) -> list[str]:
    """Per fault: the time until PostgreSQL or the gateway was back (a SIGTERMed gateway drains
    first), the first write acknowledged among those sent after it began, the
    answers to everything sent in between, and the unanswered attempts whose write had committed."""
    lines = []
    for fault in faults:
        after = sorted((a for a in attempts if a.acknowledged and a.sent >= fault.down_at), key=lambda a: a.done)
        first = after[0].done if after else None
        window_end = first if first is not None else float("inf")
        seen = Counter(_status_key(a) for a in attempts if fault.down_at <= a.sent <= window_end)
        lost = Counter("no answer" if a.status is None else str(a.status) for a in attempts
                       if a.committed and fault.started - 1 <= a.sent <= fault.recovered + 1)
        lines.append(f"  {fault.name:<29} at {fault.started - started:5.1f} s: back after {fault.recovered - fault.down_at:5.2f} s"
                     f"{f' ({fault.detail})' if fault.detail else ''}; first acknowledged write "
                     + (f"{first - fault.down_at:.2f} s after" if first is not None else "NEVER")
                     + f"; answers meanwhile {dict(sorted(seen.items()))}; committed writes answered with an error or not at all: {dict(lost)}")
    return lines


def _report(shared: Shared, faults: list[Fault], result: CheckResult, started: float,
            gateway_log: Path, args: argparse.Namespace) -> str:
    attempts = shared.attempts
    statuses = Counter(_status_key(a) for a in attempts)
    writes = Counter(a.method for a in attempts if a.acknowledged)
    retry_after = Counter(a.retry_after for a in attempts if a.status == 503)
    log = gateway_log.read_text(errors="replace") if gateway_log.exists() else ""
    lines = [
        f"commit {servers.commit()}; {len(args.location_ids)} locations x {args.clients} client(s), {args.duration:g} s of traffic "
        f"(+ up to {DRAIN_SECONDS:g} s to finish the last changes), PostgreSQL down {args.pg_down:g} s per restart; "
        f"load average at start {args.load_at_start}",
        f"requests: {len(attempts):,} ({sum(1 for a in attempts if a.is_write):,} writes); answers by status: "
        f"{dict(sorted(statuses.items()))}",
        f"acknowledged writes: {sum(writes.values()):,} {dict(sorted(writes.items()))}; creates confirmed by a look-up "
        f"after a lost answer: {sum(u.confirmed_by_lookup for u in shared.users)}; deletes confirmed by 404 after a "
        f"lost answer: {sum(u.deleted_by_404 for u in shared.users)}",
        f"503 answers: {statuses.get('503', 0)} (Retry-After values {dict(retry_after)}); 500 answers: "
        f"{statuses.get('500', 0)}; other 5xx: {sum(n for s, n in statuses.items() if s[:1] == '5' and s not in ('500', '503'))}; "
        f"connection errors: {sum(n for s, n in statuses.items() if s.startswith('no answer'))}",
        f"gateway log: {log.count('Traceback')} tracebacks, {log.count(' ERROR ')} ERROR lines ({gateway_log})",
        "faults:", *_fault_lines(faults, attempts, started),
        "checks against the database:",
        f"  users: {result.users_checked} checked; {result.present_as_acknowledged} hold their last acknowledged "
        f"values, {result.gone_as_acknowledged} removed after an acknowledged delete, {result.ambiguous_at_end} "
        f"with a change unanswered at the end (either state accepted); {result.never_created} creates never "
        f"acknowledged",
        f"  activity entries: {result.entries_total:,} in scim_activity; acknowledged writes {result.acknowledged_writes:,},"
        f" of which {result.acknowledged_with_one_entry:,} have exactly one matching entry",
        f"  refused write answers by number of entries: {dict(sorted(result.refused_with_entry.items()))}; successful "
        f"entries of requests whose answer was lost: {result.lost_answer_entries} (write attempts without an "
        f"answer: {result.lost_answer_write_attempts}); acknowledged retries that changed nothing, an earlier "
        f"attempt having committed (no entry of their own): {result.noop_retries}",
    ]
    if shared.surprises:
        lines.append(f"unexpected answers ({len(shared.surprises)}): " + "; ".join(shared.surprises[:10]))
    lines.append(f"violations: {len(result.violations)}")
    lines += [f"  {v}" for v in result.violations[:30]]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/fault.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic (default 60)")
    parser.add_argument("--locations", type=int, default=4, help="locations with SCIM enabled (default 4)")
    parser.add_argument("--clients", type=int, default=2, help="client threads per location (default 2)")
    parser.add_argument("--pg-down", type=float, default=2.0, help="seconds PostgreSQL stays down (default 2)")
    parser.add_argument("--seed", type=int, default=16, help="random seed of the clients (default 16)")
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="an argument for 'vizmo-scim serve' (repeat it; --serve-arg=--flag for a flag)")
    parser.add_argument("--keep", type=Path, help="keep the gateway's data directory and log here")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.duration < 10 or args.locations < 1 or args.clients < 1:
        print("fault: --duration must be at least 10, --locations and --clients at least 1", file=sys.stderr)
        return 2
    args.location_ids = list(range(1, args.locations + 1))
    args.load_at_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    with ExitStack() as stack:
        if args.keep is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vizmo-fault-")))
        else:
            data_dir = args.keep
            data_dir.mkdir(parents=True, exist_ok=False, mode=0o700)
        _progress("starting PostgreSQL ...")
        cluster = start_cluster(find_bin_dir())
        stack.callback(remove_cluster, cluster)
        dsn, config, tokens = _prepare(cluster, data_dir, args.location_ids)
        gateway = stack.enter_context(servers.gateway(data_dir, data_dir / "gateway.log", config=config,
                                                      extra_args=[*servers.RATE_LIMIT_ARGS, *args.serve_arg]))
        _progress(f"gateway pid {gateway.pid} at {gateway.url}; traffic for {args.duration:g} s")
        started = time.monotonic()
        shared = Shared(gateway.port, tokens, started + args.duration, started + args.duration + DRAIN_SECONDS)
        threads = start_clients(shared, args.location_ids, args.clients, args.seed)
        faults: list[Fault] = []
        try:
            _run_faults(cluster, gateway, started, args, faults)
        except BaseException:
            shared.stop_at = shared.give_up_at = time.monotonic()  # the clients stop at once
            raise
        finally:
            for thread in threads:
                thread.join(max(0.0, shared.give_up_at - time.monotonic()) + 20)
        if any(thread.is_alive() for thread in threads):
            _progress("warning: a client thread is still running (a request hangs); its attempts are counted so far")
        _progress("traffic done; checking the database ...")
        result = asyncio.run(check(dsn, list(shared.users), list(shared.attempts)))
        print(_report(shared, faults, result, started, gateway.log_path, args))
        return 1 if result.violations else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("fault: interrupted; servers stopped", file=sys.stderr)
        return 130
    except (servers.ServerError, SeedError, RuntimeError, OSError) as exc:
        print(f"fault: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
