"""One token-signing key per deployment (issue 14 §4): two "hosts" (two data directories) on one
PostgreSQL-hosted directory, each a real ``vizmo-scim serve`` process.

A host whose key is not the one the shared state recorded refuses to start, on one line naming
its key file, both key ids and where the deployment's key is; the integration commands refuse
to issue a token with it. With ``[tokens] signing_key_file`` or ``signing_key_env`` every host
reads one key and accepts the others' tokens. An unusable key is a one-line error, and the key
is never printed, logged or stored.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.tokens import key_id
from tests.pg_cluster import PgCluster
from tests.serving import PROBE, Server, add_integration, cli, first_serve

KEY_VARIABLE = "VIZMO_TEST_SIGNING_KEY"

ConfigFor = Callable[[str], Path]


@pytest.fixture
def pg_config(tmp_path: Path, pg_directory_dsn: str) -> ConfigFor:
    """A configuration on the test's PostgreSQL directory, with extra TOML (``[tokens]``) appended."""
    dsn_file = tmp_path / "directory.dsn"
    dsn_file.write_text(pg_directory_dsn)
    dsn_file.chmod(0o600)

    def config(extra: str = "") -> Path:
        path = tmp_path / f"gateway-{secrets.token_hex(4)}.toml"
        path.write_text(f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_file = "{dsn_file}"\nmax_pool = 4\n'
                        + extra)
        return path

    return config


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI with ``env`` added to (``None`` values: removed from) this process's environment."""
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True,
                          timeout=60, env=environment)


def file_key_id(path: Path) -> str:
    return key_id(bytes.fromhex(path.read_text()))


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with status 1 and one error line, its last on stderr (``serve`` logs
    before it, e.g. that it opened the directory), no traceback, nothing on stdout."""
    assert result.returncode == 1 and result.stdout == "", (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("vizmo-scim: ")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


def recorded_key(pg_cluster: PgCluster, dsn: str) -> list[str]:
    return pg_cluster.psql("SELECT key_id || '|' || host || '|' || source FROM scim_signing_key",
                           dsn.rsplit("/", 1)[1]).split()


def test_a_host_with_another_key_refuses_to_start_and_says_which_file_to_copy(
        tmp_path: Path, pg_config: ConfigFor, pg_cluster: PgCluster, pg_directory_dsn: str) -> None:
    config = pg_config("")
    host_a = Server(tmp_path / "host-a", "--config", str(config))
    host_a.start()
    try:
        key_a = host_a.data_dir / "signing-key"
        recorded = recorded_key(pg_cluster, pg_directory_dsn)[0].split("|")
        assert recorded[::2] == [file_key_id(key_a), str(key_a)]  # the key id and the file, never the key
        token = add_integration(host_a.data_dir, 1, "--config", str(config))["secret_token"]

        host_b = tmp_path / "host-b"  # was not handed host A's key: it makes its own, then refuses
        refused = run("serve", "--config", str(config), "--data-dir", str(host_b), "--port", "0")
        key_b = host_b / "signing-key"
        line = one_line(refused)
        assert "refusing to start" in line and f"copy the key in {key_a} on host " in line
        assert f"to {key_b} on this host (chmod 600)" in line
        assert f"key id {file_key_id(key_b)}" in line and f"key id {file_key_id(key_a)}" in line
        for key in (key_a, key_b):
            assert key.read_text().strip() not in refused.stderr

        # nor does host B's CLI issue a token with its key: nothing changes
        issued = cli("integration", "rotate", "--config", str(config), "--data-dir", str(host_b), "--location", "1")
        assert "refusing to issue a Secret Token" in one_line(issued)
        assert host_a.request("GET", PROBE, token)[0] == 200
        added = cli("integration", "add", "--config", str(config), "--data-dir", str(host_b), "--location", "2")
        assert "refusing to issue a Secret Token" in one_line(added)
        listing = cli("integration", "list", "--config", str(config), "--data-dir", str(host_b), "--json")
        assert [row["location_id"] for row in json.loads(listing.stdout)] == [1]

        shutil.copyfile(key_a, key_b)  # what the message says to do
        second = Server(host_b, "--config", str(config))
        second.start()
        try:
            assert second.request("GET", PROBE, token)[0] == 200
            rotated = cli("integration", "rotate", "--config", str(config), "--data-dir", str(host_b),
                          "--location", "1", "--json")
            assert rotated.returncode == 0, rotated.stderr
            new_token = json.loads(rotated.stdout)["secret_token"]
            assert host_a.request("GET", PROBE, new_token)[0] == 200 and second.request("GET", PROBE, token)[0] == 401
        finally:
            second.stop()
    finally:
        host_a.stop()


def test_one_signing_key_file_serves_every_host(tmp_path: Path, pg_config: ConfigFor, pg_cluster: PgCluster,
                                                pg_directory_dsn: str) -> None:
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir(mode=0o700)
    key_file = secret_dir / "signing.key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o400)
    config = pg_config(f'[tokens]\nsigning_key_file = "{key_file}"\n')
    hosts = [Server(tmp_path / name, "--config", str(config)) for name in ("host-a", "host-b")]
    for host in hosts:
        host.start()
    try:
        token = add_integration(hosts[1].data_dir, 1, "--config", str(config))["secret_token"]
        assert [host.request("GET", PROBE, token)[0] for host in hosts] == [200, 200]
        rotated = cli("integration", "rotate", "--config", str(config), "--data-dir", str(hosts[0].data_dir),
                      "--location", "1", "--json")
        new_token = json.loads(rotated.stdout)["secret_token"]
        assert [host.request("GET", PROBE, new_token)[0] for host in hosts] == [200, 200]
        assert [host.request("GET", PROBE, token)[0] for host in hosts] == [401, 401]
        assert not any((host.data_dir / "signing-key").exists() for host in hosts)  # never created
        kid, _, source = recorded_key(pg_cluster, pg_directory_dsn)[0].split("|")
        assert (kid, source) == (file_key_id(key_file), str(key_file))
    finally:
        logs = [host.stop() for host in hosts]
    assert not any(key_file.read_text().strip() in log for log in logs)


def test_one_signing_key_in_an_environment_variable_serves_every_host(
        tmp_path: Path, pg_config: ConfigFor, monkeypatch: pytest.MonkeyPatch) -> None:
    key = secrets.token_hex(32)
    monkeypatch.setenv(KEY_VARIABLE, key)  # the servers and the CLI inherit it
    config = pg_config(f'[tokens]\nsigning_key_env = "{KEY_VARIABLE}"\n')
    hosts = [Server(tmp_path / name, "--config", str(config)) for name in ("host-a", "host-b")]
    for host in hosts:
        host.start()
    try:
        token = add_integration(hosts[0].data_dir, 1, "--config", str(config))["secret_token"]
        assert [host.request("GET", PROBE, token)[0] for host in hosts] == [200, 200]

        other = secrets.token_hex(32)  # a third host whose secret store hands it another key
        refused = run("serve", "--config", str(config), "--data-dir", str(tmp_path / "host-c"), "--port", "0",
                      env={KEY_VARIABLE: other})
        line = one_line(refused)
        assert f"the environment variable {KEY_VARIABLE}, key id {key_id(bytes.fromhex(other))}" in line
        assert f"key id {key_id(bytes.fromhex(key))}" in line and f"first used from ${KEY_VARIABLE} on host " in line
        # the "hosts" of this test share one machine name, so the record names this very variable
        assert f"set {KEY_VARIABLE} to the deployment's key again" in line
        assert key not in refused.stderr and other not in refused.stderr
    finally:
        logs = [host.stop() for host in hosts]
    assert not any(key in log for log in logs)


GOOD_KEY = secrets.token_hex(32)


@pytest.mark.parametrize("tokens,content,mode,env,fragment", [
    ("file", "not-a-key", 0o600, {}, "is not hexadecimal: write it as an even number of hex digits, at least 64"),
    ("file", secrets.token_hex(16), 0o600, {}, "is shorter than 256 bits (64 hex digits)"),
    ("file", GOOD_KEY, 0o644, {}, "is readable or writable by other local users (-rw-r--r--); restrict it"),
    ("file", None, 0o600, {}, "No such file or directory; the file must hold the deployment's token-signing key"),
    ("env", None, 0o600, {KEY_VARIABLE: None}, "names an environment variable that is not set or empty"),
    ("env", None, 0o600, {KEY_VARIABLE: "0x" + GOOD_KEY},
     f"the environment variable {KEY_VARIABLE} is not hexadecimal"),
    ("both", GOOD_KEY, 0o600, {KEY_VARIABLE: GOOD_KEY}, "[tokens]: set signing_key_file or signing_key_env, not both"),
    ("bad-name", None, 0o600, {}, "tokens.signing_key_env: the value (not shown: it may be a secret) must be the name of an environment"),
], ids=["not-hex", "128-bits", "mode-644", "missing-file", "unset-variable", "0x-prefix", "both", "bad-name"])
def test_an_unusable_key_is_a_one_line_error(tmp_path: Path, tokens: str, content: str | None, mode: int,
                                             env: dict[str, str], fragment: str) -> None:
    key_file = tmp_path / "signing.key"
    if content is not None:
        key_file.write_text(content)
        key_file.chmod(mode)
    lines = {"file": f'signing_key_file = "{key_file}"', "env": f'signing_key_env = "{KEY_VARIABLE}"',
             "both": f'signing_key_file = "{key_file}"\nsigning_key_env = "{KEY_VARIABLE}"',
             "bad-name": 'signing_key_env = "1KEY"'}
    config = tmp_path / "gateway.toml"
    config.write_text(f"[tokens]\n{lines[tokens]}\n")
    data_dir = tmp_path / "data"
    for command in (("serve", "--port", "0"), ("integration", "add", "--location", "1")):
        result = run(*command, "--config", str(config), "--data-dir", str(data_dir), env=env)
        assert fragment in one_line(result), result.stderr
        assert GOOD_KEY not in result.stderr and "not-a-key" not in result.stderr
        assert not (data_dir / "signing-key").exists()  # a configured key is never created


@pytest.mark.parametrize("storage", ["embedded", "state-file"])
def test_a_replaced_key_file_is_refused_instead_of_failing_every_token(tmp_path: Path, storage: str) -> None:
    """One host: a deleted ``signing-key`` comes back as a new key that would fail every token
    issued; the state beside the directory (or ``DATA_DIR/gateway-state.db``, as for LDAP) says so."""
    extra: tuple[str, ...] = ()
    if storage == "state-file":
        config = tmp_path / "gateway.toml"
        config.write_text('[adapter]\nname = "adapters.examples.memory:MemoryAdapter"\n')
        extra = ("--config", str(config))
    data_dir = tmp_path / "data"
    first_serve(data_dir, *extra)
    add_integration(data_dir, 1, *extra)
    key = data_dir / "signing-key"
    first = file_key_id(key)
    key.unlink()
    line = one_line(run("serve", "--data-dir", str(data_dir), "--port", "0", *extra))
    assert f"({key}, key id {file_key_id(key)})" in line and f"(key id {first}, recorded" in line
    assert f"the key there has changed since it was recorded: put the deployment's key back in {key}" in line


def test_serve_starts_while_the_portal_holds_the_directorys_write_lock(tmp_path: Path) -> None:
    """A restart during a portal job that holds SQLite's write lock past the lock wait (5 s) failed:
    the signing-key record was claimed with an INSERT, which needs the lock, even when the record
    was there (a race review). Once recorded it is read; reads and look-ups work beside the lock."""
    import sqlite3
    data_dir = tmp_path / "data"
    first_serve(data_dir)
    token = add_integration(data_dir, 1)["secret_token"]
    portal = sqlite3.connect(data_dir / "directory.db", isolation_level=None)
    portal.execute("BEGIN IMMEDIATE")  # the portal's bulk job, holding the lock all along
    server = Server(data_dir)
    try:
        server.start()
        status, found = server.request("GET", PROBE, token)
        assert status == 200 and found["totalResults"] == 0
    finally:
        portal.execute("ROLLBACK")
        portal.close()
        if server.proc is not None:
            server.stop()
