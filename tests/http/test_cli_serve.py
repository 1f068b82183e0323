"""The real ``vizmo-scim`` command: serve in a subprocess, manage integrations while it runs,
and lose no acknowledged write when the server is killed with SIGKILL under load."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
    assert [row["location_id"] for row in json.loads(listing.stdout)] == ["1"]
    assert rotated["secret_token"] not in listing.stdout

    assert cli("integration", "remove", "--data-dir", str(server.data_dir), "--location", "1").returncode == 0
    assert server.request("GET", PROBE, rotated["secret_token"])[0] == 401

    err = server.stop()
    assert creds["secret_token"] not in err and rotated["secret_token"] not in err
    assert server.proc is not None and server.proc.returncode == 0


def test_an_existing_directory_is_used_as_it_is(tmp_path: Path) -> None:
    directory = tmp_path / "elsewhere.db"
    missing = cli("integration", "list", "--data-dir", str(tmp_path / "d"), "--directory", str(directory))
    assert missing.returncode == 1 and "no directory database" in missing.stderr
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


def test_sigterm_under_load_drains_requests_under_way(server: Server) -> None:
    """A stopping gateway finishes the requests it has started before closing the directory:
    no request gets a 500, and the log holds no traceback."""
    token = add_integration(server.data_dir)["secret_token"]
    status, user = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "drain@contoso.com"})
    assert status == 201
    statuses: list[int] = []
    stop = threading.Event()

    def patcher() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                statuses.append(server.request("PATCH", f"/Users/{user['id']}", token, {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": f"t{n}"}]})[0])
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
    assert len(statuses) >= 60 and set(statuses) == {200}
    assert "Traceback" not in log and " 500 " not in log
    assert server.proc is not None and server.proc.returncode == 0
