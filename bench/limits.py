"""The worst requests the limits allow, and what another tenant sees meanwhile (issue 13 §1, §2).

    python3 bench/limits.py [--duration 10]

Starts the real gateway (one worker, the embedded SQLite directory) with locations 1 and 2. A
separate process plays the other tenant: location 2 reads one of its users (``GET /Users/{id}``)
over and over on one keep-alive connection, timing each answer. Meanwhile location 1 sends, one
phase after another, the heaviest requests the limits admit:

- ``quiet``: nothing (the other tenant's baseline);
- ``patch-many-ops``: PATCHes of the maximum number of operations, each re-adding one of the
  user's 100 emails (the original attack was 12,000 such operations);
- ``patch-most-values``: PATCHes with the most values allowed (10 operations each re-adding all
  100 emails);
- ``post-largest``: POSTs of a user just under the stored-size limit, with 100 values in every
  multi-valued attribute, each deleted again;
- ``list-largest``: ``GET /Users?count=200`` over 200 users of that size (the largest page).

It prints, per phase, location 1's request size and latency and location 2's GET latency (p50,
p99, max), then the largest page's answer size, time and the worker's memory (RSS before and
after, and its peak). Figures, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.seed import enable_integration  # noqa: E402
from adapters.vizmo_sqlite import bootstrap  # noqa: E402
from gateway.config import MAX_BODY_BYTES  # noqa: E402
from gateway.scim.limits import (  # noqa: E402
    MAX_PATCH_OPERATIONS,
    MAX_PATCH_VALUES,
    MAX_RESOURCE_BYTES,
    MAX_VALUES,
)

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MULTI = ("emails", "phoneNumbers", "ims", "entitlements", "roles", "x509Certificates")


class Client:
    """One keep-alive connection to a location's Tenant URL."""

    def __init__(self, port: int, location: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(servers.HOST, port, timeout=120)
        self.prefix = f"/scim/v2/locations/{location}"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        start = time.perf_counter()
        self.conn.request(method, self.prefix + path, body=payload, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start


def other_tenant(port: int, token: str, user_id: str, stop: Any, out: Any) -> None:
    """Location 2's reader: (start time, seconds) of every GET until ``stop`` is set."""
    client = Client(port, 2, token)
    samples = []
    while not stop.is_set():
        started = time.time()
        status, _, seconds = client.call("GET", f"/Users/{user_id}")
        if status != 200:
            raise SystemExit(f"other tenant's GET answered {status}")
        samples.append((started, seconds))
    out.put(samples)


def email_values(count: int) -> list[dict[str, str]]:
    return [{"value": f"address{i:03d}@mail.example.com", "type": "other"} for i in range(count)]


def largest_user(name: str) -> dict[str, Any]:
    """A user just under the stored-size limit: the most values allowed in ``emails``, values in
    the other multi-valued attributes while they fit, then padding."""
    user: dict[str, Any] = {"schemas": [CORE], "userName": name, "displayName": "Largest User",
                            "emails": [{"value": f"e{i:03d}-{name}", "type": "other"} for i in range(MAX_VALUES)]}
    for attr in MULTI[1:]:
        for i in range(MAX_VALUES):
            user.setdefault(attr, []).append({"value": f"{attr}-{i:03d}"})
            if len(json.dumps(user, separators=(",", ":"))) > MAX_RESOURCE_BYTES - 600:
                user[attr].pop()
                break
    size = len(json.dumps(user, separators=(",", ":")))
    user["nickName"] = "n" * max(0, MAX_RESOURCE_BYTES - size - 400)
    return user


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def rss_kib(pid: int) -> tuple[int, int]:
    """The worker's resident memory now and at its peak (VmRSS, VmHWM), in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def run(duration: float) -> int:
    with tempfile.TemporaryDirectory(prefix="vizmo-limits-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        bootstrap.create_directory(data_dir / "directory.db")  # what a first serve creates
        token1 = enable_integration(data_dir)
        conn = sqlite3.connect(data_dir / "directory.db")
        conn.execute("INSERT INTO locations (id, company_id, name) VALUES (2, 1, 'Pune')")
        conn.commit()
        conn.close()
        token2 = json.loads(servers.subprocess.run(
            [sys.executable, "-m", "gateway.cli", "integration", "add", "--data-dir", str(data_dir), "--location",
             "2", "--json"], cwd=servers.ROOT, env=servers.child_env(), capture_output=True, text=True,
            check=True).stdout)["secret_token"]
        with servers.gateway(data_dir, Path(tmp) / "gateway.log") as gateway:
            return measure(gateway, token1, token2, duration)


def measure(gateway: servers.ServerProcess, token1: str, token2: str, duration: float) -> int:
    attacker = Client(gateway.port, 1, token1)
    reader = Client(gateway.port, 2, token2)
    status, body, _ = reader.call("POST", "/Users", {"schemas": [CORE], "userName": "host@pune.example.com"})
    assert status == 201, body
    reader_id = json.loads(body)["id"]
    status, body, _ = attacker.call("POST", "/Users", {"schemas": [CORE], "userName": "target@delhi.example.com",
                                                        "emails": email_values(MAX_VALUES)})
    assert status == 201, body
    target = json.loads(body)["id"]

    many_ops = json.dumps({"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "emails", "value": [email_values(MAX_VALUES)[i % MAX_VALUES]]}
        for i in range(MAX_PATCH_OPERATIONS)]}).encode()
    op = {"op": "add", "path": "emails", "value": email_values(MAX_VALUES)}
    big_values = json.dumps({"schemas": [PATCH_OP], "Operations": [op] * (MAX_PATCH_VALUES // MAX_VALUES)}).encode()

    phases: list[tuple[str, float, float, list[float], int]] = []
    worker = gateway.pid  # one process: the worker is the server process itself
    stop, queue = multiprocessing.Event(), multiprocessing.Queue()
    prober = multiprocessing.Process(target=other_tenant, args=(gateway.port, token2, reader_id, stop, queue))
    prober.start()
    try:
        time.sleep(0.5)  # the reader is connected and reading

        def phase(name: str, send: Any, size: int) -> None:
            latencies: list[float] = []
            start = time.time()
            while time.time() - start < duration:
                latencies.append(send())
            phases.append((name, start, time.time(), latencies, size))

        phase("quiet", lambda: (time.sleep(0.05), 0.0)[1], 0)

        def patch(body: bytes) -> float:
            status, data, seconds = attacker.call("PATCH", f"/Users/{target}", body)
            assert status == 200, data[:300]
            return seconds

        phase("patch-many-ops", lambda: patch(many_ops), len(many_ops))
        phase("patch-most-values", lambda: patch(big_values), len(big_values))
        counter = iter(range(10**9))
        template = largest_user("big@x.io")  # built once: the client's own work stays out of the phase

        def post() -> float:
            status, data, seconds = attacker.call("POST", "/Users", {**template, "userName": f"big{next(counter)}@x.io"})
            assert status == 201, data[:300]
            attacker.call("DELETE", f"/Users/{json.loads(data)['id']}")
            return seconds

        post_size = len(json.dumps(largest_user("big0@x.io")).encode())
        phase("post-largest", post, post_size)
        for n in range(200):
            status, data, _ = attacker.call("POST", "/Users", {**template, "userName": f"page{n:03d}@x.io"})
            assert status == 201, data[:300]
        rss_before = rss_kib(worker) if worker else (0, 0)
        page_sizes: list[int] = []

        def listing() -> float:
            status, data, seconds = attacker.call("GET", "/Users?count=200")
            assert status == 200 and json.loads(data)["itemsPerPage"] == 200
            page_sizes.append(len(data))
            return seconds

        phase("list-largest", listing, 0)
        rss_after = rss_kib(worker) if worker else (0, 0)
    finally:
        stop.set()
        samples: list[tuple[float, float]] = queue.get(timeout=60)  # before join: the child waits for it
        prober.join(timeout=10)
    print_report(phases, samples, page_sizes, rss_before, rss_after)
    return 0


def print_report(phases: list[tuple[str, float, float, list[float], int]], samples: list[tuple[float, float]],
                 page_sizes: list[int], rss_before: tuple[int, int], rss_after: tuple[int, int]) -> None:
    print(f"limits: {MAX_PATCH_OPERATIONS} PATCH operations, {MAX_PATCH_VALUES} values per PATCH, "
          f"{MAX_VALUES} values per attribute, "
          f"{MAX_RESOURCE_BYTES} bytes per user, {MAX_BODY_BYTES} bytes per body")
    print(f"{'phase':<18}{'loc-1 req bytes':>16}{'loc-1 n':>9}{'loc-1 p50 ms':>14}{'loc-1 max ms':>14}"
          f"{'loc-2 GETs':>12}{'loc-2 p50 ms':>14}{'loc-2 p99 ms':>14}{'loc-2 max ms':>14}")
    for name, start, end, latencies, size in phases:
        other = [seconds for started, seconds in samples if start <= started < end]
        own = [s for s in latencies if s > 0]
        print(f"{name:<18}{size or '':>16}{len(own) or '':>9}"
              f"{(statistics.median(own) * 1000 if own else float('nan')):>14.1f}"
              f"{(max(own) * 1000 if own else float('nan')):>14.1f}{len(other):>12}"
              f"{percentile(other, 0.5) * 1000:>14.2f}{percentile(other, 0.99) * 1000:>14.2f}"
              f"{(max(other) * 1000 if other else float('nan')):>14.2f}")
    if page_sizes:
        print(f"largest page: 200 users, {page_sizes[0] / 1e6:.1f} MB answer; worker RSS {rss_before[0] / 1024:.0f} "
              f"-> {rss_after[0] / 1024:.0f} MiB (peak {rss_after[1] / 1024:.0f} MiB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default 10)")
    return run(parser.parse_args().duration)


if __name__ == "__main__":
    sys.exit(main())
