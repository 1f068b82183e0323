"""Scale-out, proven: two separate ``vizmo-scim serve`` processes (as on two hosts) on one
PostgreSQL-hosted directory share tenants, revocations and users, and nothing else."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import CORE, PROBE, Server, add_integration, cli


@pytest.fixture
def two_gateways(tmp_path: Path, pg_directory_dsn: str) -> Iterator[tuple[Server, Server, Path]]:
    dsn_file = tmp_path / "directory.dsn"
    dsn_file.write_text(pg_directory_dsn)
    dsn_file.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_file = "{dsn_file}"\nmax_pool = 4\n')
    data_dir = tmp_path / "data"  # one signing key, shared like a secret distributed to every host
    first, second = Server(data_dir, "--config", str(config)), Server(data_dir, "--config", str(config))
    first.start()
    try:
        second.start()
        try:
            yield first, second, config
        finally:
            second.stop()
    finally:
        first.stop()


def test_two_gateway_processes_share_one_postgresql(two_gateways: tuple[Server, Server, Path]) -> None:
    first, second, config = two_gateways
    assert first.port != second.port and "'postgres'" in first.banner
    token = add_integration(first.data_dir, 1, "--config", str(config))["secret_token"]
    assert first.request("GET", PROBE, token)[0] == 200 and second.request("GET", PROBE, token)[0] == 200

    # every write through one is read back through the other
    status, created = first.request("POST", "/Users", token, {"schemas": [CORE], "userName": "shared@contoso.com", "title": "A"})
    assert status == 201
    status, read = second.request("GET", f"/Users/{created['id']}", token)
    assert status == 200
    assert read["meta"].pop("location").endswith(created["meta"].pop("location").split(f":{first.port}", 1)[1])
    assert read == created
    status, patched = second.request("PATCH", f"/Users/{created['id']}", token, {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert status == 200 and patched["active"] is False
    assert first.request("GET", f"/Users/{created['id']}", token)[1]["active"] is False
    assert second.request("DELETE", f"/Users/{created['id']}", token)[0] == 204
    assert first.request("GET", f"/Users/{created['id']}", token)[0] == 404

    # concurrent POSTs of one userName split across both: exactly one 201
    results: list[int] = []
    lock = threading.Lock()

    def post(server: Server) -> None:
        status = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "Race@Contoso.com"})[0]
        with lock:
            results.append(status)

    threads = [threading.Thread(target=post, args=(first if i % 2 else second,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [201] + [409] * 11

    # a token rotated through one is refused by the other at once; removal likewise
    rotated = cli("integration", "rotate", "--config", str(config), "--data-dir", str(first.data_dir),
                  "--location", "1", "--json")
    assert rotated.returncode == 0, rotated.stderr
    new_token = json.loads(rotated.stdout)["secret_token"]
    assert first.request("GET", PROBE, token)[0] == 401 and second.request("GET", PROBE, token)[0] == 401
    assert first.request("GET", PROBE, new_token)[0] == 200 and second.request("GET", PROBE, new_token)[0] == 200
    removed = cli("integration", "remove", "--config", str(config), "--data-dir", str(first.data_dir),
                  "--location", "1")
    assert removed.returncode == 0, removed.stderr
    assert second.request("GET", PROBE, new_token)[0] == 401 and first.request("GET", PROBE, new_token)[0] == 401
