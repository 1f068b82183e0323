"""``vizmo-scim integration add`` run several times at once for one location (issue 14 §4.3): the
state store decides, so exactly one run enables the location and prints a Secret Token, which a
real gateway accepts; every other run exits 1 with one line saying it is already enabled, and
prints no token. Real CLI processes, started together, on each kind of state store: the embedded
directory's, ``DATA_DIR/gateway-state.db`` (adapters without a state store, such as LDAP), and
PostgreSQL's."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from tests.serving import PROBE, Server, cli

RUNS = 6

#: An adapter without a state store: the gateway keeps its state in DATA_DIR/gateway-state.db,
#: as it does for the LDAP adapter (each process has its own users; the state is shared).
STATE_FILE_CONFIG = '[adapter]\nname = "adapters.examples.memory:MemoryAdapter"\n[adapter.options]\ntenants = ["1"]\n'


def concurrent_adds(data_dir: Path, *extra: str) -> list[tuple[int, str, str]]:
    """Start ``RUNS`` ``integration add --location 1 --json`` processes at once; their outcomes."""
    command = [sys.executable, "-m", "gateway.cli", "integration", "add", "--data-dir", str(data_dir),
               "--location", "1", "--json", "--base-url", "https://scim.example.com", *extra]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(RUNS)]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, out, err))
    return outcomes


def the_one_token(outcomes: list[tuple[int, str, str]]) -> str:
    """Exactly one run succeeded; the others failed cleanly. The winner's Secret Token."""
    wins = [out for status, out, _ in outcomes if status == 0]
    assert len(wins) == 1, outcomes
    for status, out, err in outcomes:
        if status != 0:
            assert status == 1 and out == "", (status, out, err)
            assert err.strip().splitlines() == [
                "vizmo-scim: SCIM is already enabled for location 1; use 'integration rotate' for a new Secret Token"]
    token: str = json.loads(wins[0])["secret_token"]
    return token


def enabled_locations(data_dir: Path, *extra: str) -> list[int]:
    listing = cli("integration", "list", "--data-dir", str(data_dir), "--json", *extra)
    assert listing.returncode == 0, listing.stderr
    return [row["location_id"] for row in json.loads(listing.stdout)]


def test_concurrent_adds_on_the_embedded_directory_leave_one_working_token(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()  # the portal enables SCIM while the gateway serves
    try:
        token = the_one_token(concurrent_adds(server.data_dir))
        assert server.request("GET", "/Users", token)[0] == 200
        assert server.request("GET", PROBE, token)[0] == 200
        assert enabled_locations(server.data_dir) == [1]
    finally:
        server.stop()


def test_concurrent_adds_on_a_state_file_leave_one_working_token(tmp_path: Path) -> None:
    """``DATA_DIR/gateway-state.db``, created by ``serve`` (the CLI creates nothing, issue 17 §1)."""
    config = tmp_path / "gateway.toml"
    config.write_text(STATE_FILE_CONFIG)
    data_dir = tmp_path / "data"
    server = Server(data_dir, "--config", str(config))
    server.start()
    try:
        token = the_one_token(concurrent_adds(data_dir, "--config", str(config)))
        assert sorted(p.name for p in data_dir.iterdir() if "signing-key" in p.name) == ["signing-key"]
        assert server.request("GET", "/Users", token)[0] == 200
        assert enabled_locations(data_dir, "--config", str(config)) == [1]
    finally:
        server.stop()


def test_concurrent_adds_on_postgresql_leave_one_working_token(tmp_path: Path, pg_directory_dsn: str) -> None:
    """A new deployment whose key comes from a secret store (so the CLI needs nothing ``serve``
    creates): the runs also race to record the deployment's signing key."""
    dsn_file = tmp_path / "directory.dsn"
    dsn_file.write_text(pg_directory_dsn)
    key_file = tmp_path / "signing.key"
    key_file.write_text(secrets.token_hex(32))
    key_file.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_file = "{dsn_file}"\nmax_pool = 2\n'
                      f'[tokens]\nsigning_key_file = "{key_file}"\n')
    data_dir = tmp_path / "data"
    token = the_one_token(concurrent_adds(data_dir, "--config", str(config)))
    server = Server(data_dir, "--config", str(config))
    server.start()
    try:
        assert server.request("GET", "/Users", token)[0] == 200
        assert enabled_locations(data_dir, "--config", str(config)) == [1]
    finally:
        server.stop()
