"""The real ``vizmo-scim`` command: serve in a subprocess, manage integrations while it runs,
and lose no acknowledged write when the server is killed with SIGKILL under load."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import CORE, PROBE, Server, add_integration, children, cli, first_serve



@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    srv.start()
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)


def test_serve_creates_the_demo_directory_and_integrations_apply_without_restart(server: Server) -> None:
    assert f"127.0.0.1:{server.port}" in server.banner and "integration add" in server.banner
    assert (server.data_dir / "directory.db").exists()
    assert oct((server.data_dir / "signing-key").stat().st_mode & 0o777) == "0o600"
    status, _ = server.request("GET", PROBE, "no-token-yet")
    assert status == 401

    creds = add_integration(server.data_dir)
    assert set(creds) == {"location_id", "tenant_url", "secret_token"}
    assert creds["tenant_url"] == "https://scim.example.com/scim/v2/locations/1"
    status, body = server.request("GET", PROBE, creds["secret_token"])
    assert status == 200 and body["totalResults"] == 0

    again = cli("integration", "add", "--data-dir", str(server.data_dir), "--location", "1")
    assert again.returncode == 1 and "rotate" in again.stderr
    assert cli("integration", "add", "--data-dir", str(server.data_dir), "--location", "77").returncode == 1

    rotated = json.loads(cli("integration", "rotate", "--data-dir", str(server.data_dir), "--location", "1",
                             "--json").stdout)
    assert server.request("GET", PROBE, creds["secret_token"])[0] == 401
    assert server.request("GET", PROBE, rotated["secret_token"])[0] == 200

    listing = cli("integration", "list", "--data-dir", str(server.data_dir), "--json")
    assert [row["location_id"] for row in json.loads(listing.stdout)] == [1]  # a number, as ``add --json`` gives it
    # without --base-url, the Tenant URL of the configuration serve recorded (its port), not a fixed default
    assert json.loads(listing.stdout)[0]["tenant_url"] == f"http://127.0.0.1:{server.port}/scim/v2/locations/1"
    plain = cli("integration", "list", "--data-dir", str(server.data_dir))
    assert plain.stdout.startswith(f"1\thttp://127.0.0.1:{server.port}/scim/v2/locations/1\t"), plain.stdout
    assert rotated["secret_token"] not in listing.stdout

    assert cli("integration", "remove", "--data-dir", str(server.data_dir), "--location", "1").returncode == 0
    assert server.request("GET", PROBE, rotated["secret_token"])[0] == 401

    err = server.stop()
    assert creds["secret_token"] not in err and rotated["secret_token"] not in err
    assert server.proc is not None and server.proc.returncode == 0


def test_commands_naming_the_config_print_the_running_gateways_tenant_url(tmp_path: Path) -> None:
    """``serve --config g.toml --port N`` over a file that says another port: ``integration`` with
    ``--config g.toml`` (or ``VIZMO_SCIM_CONFIG``) printed the file's port, a Tenant URL that
    reaches nothing (found by following README in a fresh environment)."""
    config = tmp_path / "g.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[server]\nport = 8080\n')
    srv = Server(tmp_path / "data", "--config", str(config), data_dir_flag=False)
    srv.start()
    try:
        expected = f"http://127.0.0.1:{srv.port}/scim/v2/locations/1"
        added = cli("integration", "add", "--config", str(config), "--location", "1", "--json")
        assert json.loads(added.stdout)["tenant_url"] == expected, added.stderr
        listed = subprocess.run([sys.executable, "-m", "gateway.cli", "integration", "list", "--json"],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path,
                                env={**os.environ, "VIZMO_SCIM_CONFIG": str(config)})
        assert json.loads(listed.stdout)[0]["tenant_url"] == expected, listed.stderr
    finally:
        srv.stop()
    # serve itself never reads the record (its help said it did)
    assert "served-config.json" not in cli("serve", "--help").stdout
    assert all("recorded in" in cli("integration", action, "--help").stdout for action in ("add", "list"))


def test_an_existing_directory_is_used_as_it_is(tmp_path: Path) -> None:
    directory = tmp_path / "elsewhere.db"
    missing = cli("integration", "list", "--data-dir", str(tmp_path / "d"), "--directory", str(directory))
    assert missing.returncode == 1 and "no directory database" in missing.stderr
    not_served = cli("serve", "--data-dir", str(tmp_path / "d"), "--directory", str(directory), "--port", "0")
    assert not_served.returncode == 1 and "create_if_missing = true" in not_served.stderr  # how to get one
    conn = sqlite3.connect(directory)
    conn.executescript(Path("adapters/vizmo_sqlite/directory.sql").read_text())
    conn.execute("INSERT INTO companies VALUES (5, 'Acme')")
    conn.execute("INSERT INTO locations (id, company_id, name) VALUES (9, 5, 'Mumbai')")
    conn.commit()
    conn.close()
    first_serve(tmp_path / "d", "--directory", str(directory))  # the signing key; the directory is kept
    added = cli("integration", "add", "--data-dir", str(tmp_path / "d"), "--directory", str(directory),
                "--location", "9", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["tenant_url"].endswith("/scim/v2/locations/9")
    conn = sqlite3.connect(directory)
    assert conn.execute("SELECT count(*) FROM locations").fetchone()[0] == 1  # no demo location added
    conn.close()


def test_sigkill_under_load_loses_no_acknowledged_write(server: Server) -> None:
    token = add_integration(server.data_dir)["secret_token"]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        n = 0
        while not stop.is_set():
            name = f"w{worker}-{n}@load.test"
            n += 1
            try:
                status, _ = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": name, "active": True})
            except (OSError, urllib.error.URLError):
                return  # the server died mid-request: this write was never acknowledged
            if status == 201:
                with lock:
                    acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert len(acknowledged) >= 150

    server.start()
    for name in acknowledged:
        status, body = server.request("GET", f"/Users?filter=userName%20eq%20%22{name}%22&attributes=userName",
                                      token)
        assert status == 200 and body["totalResults"] == 1, name
    conn = sqlite3.connect(server.data_dir / "directory.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_several_worker_processes_share_the_port_and_the_state(tmp_path: Path) -> None:
    """``--processes 2``: nothing another worker needs lives in process memory."""
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    try:
        assert "2 process(es)" in srv.banner
        token = add_integration(srv.data_dir)["secret_token"]
        results: list[int] = []

        def post() -> None:
            results.append(srv.request("POST", "/Users", token, {"schemas": [CORE], "userName": "both@contoso.com"})[0])

        threads = [threading.Thread(target=post) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == [201] + [409] * 9
        rotated = json.loads(cli("integration", "rotate", "--data-dir", str(srv.data_dir), "--location", "1",
                                 "--json").stdout)["secret_token"]
        assert {srv.request("GET", PROBE, token)[0] for _ in range(8)} == {401}
        assert {srv.request("GET", PROBE, rotated)[0] for _ in range(8)} == {200}
        assert srv.proc is not None and len(children(srv.proc.pid)) == 2
    finally:
        srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0


def _worker_of_answer(srv: Server) -> str:
    """The answering worker of one request on a new connection: its request ids' prefix."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.headers["X-Request-Id"][:8]  # gateway/request_ids.py: per-process prefix
    finally:
        conn.close()


def _state(pid: int) -> str:
    """A process's state letter (field 3 of /proc/<pid>/stat; ``T``: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_every_worker_gets_connections_while_another_is_busy(tmp_path: Path) -> None:
    """``--processes 2``: each worker listens on its own socket (SO_REUSEPORT) and the kernel
    spreads new connections over both. With one shared socket the worker that woke first
    accepted every connection queued, so a client opening its connections at once (wrk, a
    connection pool) could land them all on one worker while the other idled; here worker A is
    stopped while 16 connections open, and A still answers its share once it runs again."""
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    try:
        assert srv.proc is not None
        deadline = time.monotonic() + 20
        while len({_worker_of_answer(srv) for _ in range(8)}) < 2:  # until both workers listen
            assert time.monotonic() < deadline, "the second worker never answered"
        stopped = children(srv.proc.pid)[0]
        answered: list[str] = []
        connected = threading.Semaphore(0)

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            conn.connect()
            connected.release()
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            answered.append(response.headers["X-Request-Id"][:8])
            conn.close()

        os.kill(stopped, signal.SIGSTOP)
        try:
            while _state(stopped) != "T":  # the signal is delivered asynchronously
                assert time.monotonic() < deadline + 20, "the worker did not stop"
                time.sleep(0.01)
            threads = [threading.Thread(target=client) for _ in range(16)]
            for t in threads:
                t.start()
            for _ in threads:  # every connection is open (accepted by the kernel) while A is stopped
                assert connected.acquire(timeout=20)
            # Give worker B the time to take every connection it can: with one shared socket it
            # takes all 16 (and A must not get a late one after SIGCONT); with its own socket,
            # only those the kernel hashed to it, and the rest wait in A's queue.
            window = time.monotonic() + 2
            while len(answered) < 16 and time.monotonic() < window:
                time.sleep(0.01)
        finally:
            os.kill(stopped, signal.SIGCONT)
        for t in threads:
            t.join(timeout=30)
        assert len(answered) == 16
        assert len(set(answered)) == 2, f"one worker answered all 16 connections: {answered}"

        # SO_REUSEPORT lets sockets of the same user share a port: a second gateway started on it
        # by mistake must still be refused, not join this one and take a share of its clients.
        second = cli("serve", "--data-dir", str(tmp_path / "other"), "--port", str(srv.port), "--processes", "2")
        assert second.returncode != 0 and "Address already in use" in second.stderr
        assert f"cannot listen on 127.0.0.1:{srv.port}" in second.stderr  # which address
        assert "serving" not in second.stdout
        assert not (tmp_path / "other").exists()  # refused before it made a key or a directory
    finally:
        srv.stop()
    assert srv.proc.returncode == 0


def test_sigterm_under_load_drains_requests_under_way(server: Server) -> None:
    """A stopping gateway finishes the requests it has started before closing the directory:
    no request gets a 500, and the log holds no traceback. A request whose connection was
    accepted before the stop but whose headers arrive once the requests under way are done is
    answered the retryable 503 that ran nothing (``gateway.errors.Stopping``); a CI run met one."""
    token = add_integration(server.data_dir)["secret_token"]
    status, user = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "drain@contoso.com"})
    assert status == 201
    statuses: list[int] = []
    refusals: list[Any] = []
    stop = threading.Event()

    def patcher() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                status, body = server.request("PATCH", f"/Users/{user['id']}", token, {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": f"t{n}"}]})
                statuses.append(status)
                if status != 200:
                    refusals.append(body)
            except OSError:
                return  # refused or reset once the server stopped listening

    threads = [threading.Thread(target=patcher) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(statuses) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    log = server.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert statuses.count(200) >= 60 and set(statuses) <= {200, 503}
    assert all(body["detail"] == "The gateway is stopping; send the request again." for body in refusals), refusals
    assert "Traceback" not in log and " 500 " not in log
    assert server.proc is not None and server.proc.returncode == 0
    assert "stopping: " in log and log.rstrip().endswith("INFO vizmo_scim.app stopped")


def test_a_stop_soon_after_start_exits_0(tmp_path: Path) -> None:
    """SIGTERM while the worker's start-up work still runs on threads (the activity log's first
    prune): the state store closed a connection under it and the process died of SIGSEGV in
    over half of such stops. Five stops here: ``Server.stop`` requires exit 0 of each."""
    first_serve(tmp_path / "data")
    for _ in range(5):
        server = Server(tmp_path / "data")
        server.start()
        log = server.stop(signal.SIGTERM)
        assert "INFO vizmo_scim.app stopped" in log


#: ``vizmo-scim serve`` with its stop limit lowered to 1 s (the module's constant, read when a stop begins).
SHORT_STOP_LIMIT = ("-c", "import sys; import gateway.serving as s; s.STOP_SECONDS = 1.0; "
                          "from gateway.cli import main; sys.exit(main())")


def test_a_stop_that_outlasts_its_limit_logs_every_thread_and_exits_1(tmp_path: Path) -> None:
    """A stop still unfinished at STOP_SECONDS (here 1 s) must not hang: the worker writes each
    thread's stack to its log and exits 1. The stop is held by a POST whose body never comes:
    the drain waits for it (up to 10 s), longer than the limit."""
    first_serve(tmp_path / "data")
    token = add_integration(tmp_path / "data")["secret_token"]
    server = Server(tmp_path / "data", launcher=SHORT_STOP_LIMIT)
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("POST", "/scim/v2/locations/1/Users")
        for name, value in (("Authorization", f"Bearer {token}"), ("Content-Type", "application/scim+json"),
                            ("Content-Length", "100"), ("Expect", "100-continue")):
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.sock.recv(64).startswith(b"HTTP/1.1 100")  # prepare ran: the request is under way
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        server.proc.communicate(timeout=30)
        log = server.log_path.read_text()
        assert server.proc.returncode == 1, log
        assert "stopping: 1 request(s) under way" in log and "Timeout (0:00:01)!" in log
        assert "most recent call first" in log and "INFO vizmo_scim.app stopped" not in log
        conn.close()
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.communicate()
