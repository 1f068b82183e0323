"""The admin page on the PostgreSQL and LDAP adapters, through a real ``vizmo-scim serve --config``:
the directory's locations (``Adapter.tenants``), operators in the state store beside it (the
directory database on PostgreSQL, ``DATA_DIR/gateway-state.db`` for LDAP), enable / rotate /
remove, the activity view and its CSV, and a scoped operator's 404. (SQLite: the other tests.)"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.admin_support import AdminClient, add_operator, integrations
from tests.http.test_admin_http import enable, scim
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)
from tests.pg_cluster import PgCluster, remove_cluster, start_cluster
from tests.serving import CORE, Server


@dataclass
class Served:
    data_dir: Path
    storage: tuple[str, ...]
    server: Server


@pytest.fixture(params=["postgres", "ldap"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "postgres":
        dsn = tmp_path / "dsn"
        dsn.write_text(request.getfixturevalue("pg_directory_dsn"))
        options = {"dsn_file": str(dsn), "max_pool": 2}
    else:
        slapd: SlapdServer = request.getfixturevalue("slapd_server")
        options = slapd.options(request.getfixturevalue("ldap_base"))
    config = tmp_path / "gateway.toml"
    lines = [f'[adapter]\nname = "{request.param}"\n[adapter.options]']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    config.write_text("\n".join(lines) + "\n")
    storage = ("--config", str(config))
    server = Server(data_dir, *storage)
    server.start()  # serve creates the storage (the state store of LDAP); the admin commands create none
    try:
        add_operator(data_dir, "alice", storage=storage)
        add_operator(data_dir, "bob", "2", storage=storage)
        yield Served(data_dir, storage, server)
    finally:
        server.stop()


def test_the_integrations_page_on_each_adapter(served: Served) -> None:
    port = served.server.port
    client = AdminClient(port)
    assert client.sign_in("alice").status == 303
    listing = client.get("/admin/locations").body
    assert 'id="location-1"' in listing and 'id="location-2"' in listing
    token = enable(client, "1")
    assert integrations(served.data_dir, *served.storage) == ["1"]
    user = {"schemas": [CORE], "userName": "grace@example.com"}
    assert scim(port, "POST", "/Users", token, user) == 201
    assert scim(port, "POST", "/Users", token, user) == 409
    deadline = time.monotonic() + 10
    while True:  # a refusal's entry is appended from a background batch
        page = client.get("/admin/locations/1/activity?user=grace%40example.com").body
        if page.count("grace@example.com</td>") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert page.count("grace@example.com</td>") == 2 and "409 uniqueness" in page
    assert re.search(r"last 24 hours: 1 write, 1 refusal", page)
    rows = list(csv.reader(io.StringIO(client.get("/admin/locations/1/activity.csv?outcome=changed").body)))
    assert [(r[5], r[7]) for r in rows[1:]] == [("grace@example.com", "201")]
    new_token = re.search(r'id="secret-token"[^>]*>([^<]+)<',
                          client.post("/admin/locations/1/rotate", {}, form_page="/admin/locations/1/rotate").body)
    assert new_token is not None
    assert scim(port, "GET", "/Users", token) == 401 and scim(port, "GET", "/Users", new_token.group(1).strip()) == 200
    scoped = AdminClient(port)
    assert scoped.sign_in("bob").status == 303
    assert scoped.get("/admin/locations/1").status == 404 and scoped.get("/admin/locations/2").status == 200
    removed = client.post("/admin/locations/1/remove", {"confirm": "remove"})
    assert removed.status == 303 and scim(port, "GET", "/Users", new_token.group(1).strip()) == 401
    assert integrations(served.data_dir, *served.storage) == []


def _stop_processes(cluster: PgCluster, sig: int) -> None:
    """Send ``sig`` to the cluster's postmaster and every backend (a frozen database host)."""
    postmaster = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    for pid in (postmaster, *map(int, children)):
        os.kill(pid, sig)


def test_the_page_answers_503_within_the_adapter_timeout_when_the_database_is_frozen_or_down(tmp_path: Path) -> None:
    """It answered 500 with a trace for a database that is down, and waited 30 s for a frozen
    one, where SCIM answers 503 within [limits] adapter_timeout_seconds (a scale-out review)."""
    cluster = start_cluster()
    server: Server | None = None
    try:
        dsn = tmp_path / "dsn"
        dsn.write_text(cluster.dsn())
        config = tmp_path / "gateway.toml"
        config.write_text(f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_file = "{dsn}"\ncreate_schema = true\n'
                          '[limits]\nadapter_timeout_seconds = 2\n')
        data_dir = tmp_path / "data"
        server = Server(data_dir, "--config", str(config))
        server.start()
        add_operator(data_dir, "alice", storage=("--config", str(config)))
        client = AdminClient(server.port)  # its requests give up after 30 s: past that, a hang
        assert client.sign_in("alice").status == 303 and client.get("/admin/locations").status == 200
        _stop_processes(cluster, signal.SIGSTOP)
        try:
            frozen = client.get("/admin/locations")
        finally:
            _stop_processes(cluster, signal.SIGCONT)
        assert frozen.status == 503 and frozen.headers["Retry-After"] == "5", frozen.status
        assert "unavailable for a moment" in frozen.body
        cluster.stop()
        down = client.get("/admin/locations/1")
        assert down.status == 503 and "Something went wrong" not in down.body, down.status
        cluster.start()
        deadline = time.monotonic() + 30
        while (back := client.get("/admin/locations")).status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert back.status == 200
        log = server.stop()
        assert "Traceback" not in log and "admin request" in log and "503" in log
        server = None
    finally:
        if server is not None:
            server.stop()
        remove_cluster(cluster)
