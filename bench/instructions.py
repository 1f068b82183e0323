"""Instructions per request of the gateway and of the ceiling, counted by valgrind. Not a test.

Requests per second on a shared host drift by tens of percent within a minute (so
``bench/load.py`` measures side by side, in alternating rounds); an instruction count does not:
two runs of the same code differ by well under 1 %. A change to the request path can so be
judged by its instructions per request, before ``bench/load.py`` judges its speed. What the count
leaves out: system calls (the kernel's work), cache misses, and threads' waits.

Seeds a directory (``bench/seed.py``), starts ``python -m gateway.cli serve`` and
``bench/ceiling.py`` under ``valgrind --tool=callgrind --instr-atstart=no``, sends each a few
hundred requests to warm up, switches counting on (``callgrind_control -i on``), sends N requests
over one keep-alive connection, and prints the instructions per request of each and their ratio:

    python3 bench/instructions.py                          # filter and get, 100,000 employees
    python3 bench/instructions.py --kinds filter --requests 2000 --employees 10000

Needs valgrind (Debian package ``valgrind``). Traffic goes to 127.0.0.1 only. Under valgrind a
server runs about 50 times slower: 1,000 look-ups take about half a minute.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.seed import LOCATION_ID, SeededDirectory, seed_directory  # noqa: E402

KINDS = ("filter", "get")
WARM_UP = 200
#: A server under valgrind starts in tens of seconds (Python's start-up and imports, 50x slower).
START_SECONDS = 600.0


def callgrind_totals(text: str) -> int:
    """The ``totals:`` (else ``summary:``) instruction count of a callgrind output file."""
    for key in ("totals:", "summary:"):
        for line in text.splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    raise ValueError("no totals: or summary: line in the callgrind output")


def paths(seeded: SeededDirectory, kind: str, count: int) -> list[str]:
    """``count`` request paths of ``kind``, cycling through the seeded userNames or ids."""
    source = seeded.emails_file if kind == "filter" else seeded.ids_file
    items = source.read_text().split()
    tenant = f"/scim/v2/locations/{LOCATION_ID}/Users"
    if kind == "filter":
        return [f"{tenant}?filter=userName%20eq%20%22{items[n % len(items)]}%22" for n in range(count)]
    return [f"{tenant}/{items[n % len(items)]}" for n in range(count)]


def send(port: int, request_paths: Sequence[str], token: str) -> int:
    """Send each GET over one keep-alive connection; the number of answers that were not 200."""
    conn = http.client.HTTPConnection(servers.HOST, port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
    failed = 0
    try:
        for path in request_paths:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            failed += response.status != 200
    finally:
        conn.close()
    return failed


def _control(server: servers.ServerProcess, *flags: str) -> None:
    subprocess.run(["callgrind_control", *flags, str(server.pid)], check=True, capture_output=True, timeout=120)


def count(server: servers.ServerProcess, work_dir: Path, warm_up: Sequence[str], measured: Sequence[str],
          token: str) -> int:
    """Instructions per request of ``server`` (not started yet), run under callgrind."""
    out = work_dir / f"{server.name}.callgrind"
    server.argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *server.argv]
    server.start(timeout=START_SECONDS)
    try:
        send(server.port, warm_up, token)
        _control(server, "-i", "on")
        failed = send(server.port, measured, token)
        _control(server, "-i", "off")
        _control(server, "-d")  # written to <out>.1; the count at exit goes to <out> itself
    finally:
        server.stop(timeout=120)
    if failed:
        raise SystemExit(f"bench: {server.name}: {failed} of {len(measured)} answers were not 200 "
                         f"(see {server.log_path})")
    return callgrind_totals(Path(f"{out}.1").read_text()) // len(measured)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000, help="employees to seed (default 100000)")
    parser.add_argument("--requests", type=int, default=1000, help="requests counted per kind (default 1000)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: filter, get (default both)")
    args = parser.parse_args(argv)
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if not kinds or set(kinds) - set(KINDS) or args.requests < 1:
        parser.error(f"--kinds takes {', '.join(KINDS)}; --requests at least 1")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("bench: needs valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="vizmo-scim-instructions-") as tmp:
        work_dir = Path(tmp)
        seeded = seed_directory(work_dir / "data", args.employees)
        token = seeded.token_file.read_text().strip()
        ceiling = count(servers.ceiling(work_dir / "ceiling.log"), work_dir, ["/"] * WARM_UP,
                        ["/"] * args.requests, token)
        print(f"commit {servers.commit()}; {args.employees:,} employees, {args.requests:,} requests per kind "
              f"after {WARM_UP} to warm up, one keep-alive connection, one process")
        print(f"ceiling  {ceiling:>11,} instructions per request (GET /)")
        for kind in kinds:
            measured = paths(seeded, kind, WARM_UP + args.requests)
            gateway = servers.gateway(seeded.data_dir, work_dir / f"gateway-{kind}.log",
                                      extra_args=servers.RATE_LIMIT_ARGS)
            gateway.name = f"gateway-{kind}"
            per_request = count(gateway, work_dir, measured[:WARM_UP], measured[WARM_UP:], token)
            print(f"{kind:<8} {per_request:>11,} instructions per request, {per_request / ceiling:.2f}x the ceiling's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
