"""Nothing world-readable (issue 13 §6): under the usual umask 022, the data directory ``serve``
creates is 0700 and every file in it (the directory database, its WAL and shared memory, the
state store, the signing key) 0600; ``serve`` warns about existing files others can read."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import CORE, Server, add_integration, cli, first_serve


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the subprocesses inherit it
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_serve_creates_everything_owner_only(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir)
    server.start()
    try:
        token = add_integration(data_dir)["secret_token"]
        assert server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "m@contoso.com"})[0] == 201
        files = {p.name: mode(p) for p in data_dir.iterdir()}
    finally:
        log = server.stop()
    assert mode(data_dir) == 0o700
    assert {"directory.db", "directory.db-wal", "directory.db-shm", "signing-key"} <= files.keys()
    assert files == {name: 0o600 for name in files}
    assert "readable by other local users" not in log


def test_serve_warns_about_existing_files_others_can_read(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "data"
    first_serve(data_dir)
    assert cli("integration", "add", "--data-dir", str(data_dir), "--location", "1").returncode == 0
    (data_dir / "directory.db").chmod(0o644)
    server = Server(data_dir)
    server.start()
    log = server.stop()
    warned = [line for line in log.splitlines() if "readable by other local users" in line]
    assert len(warned) == 1 and "WARNING" in warned[0] and str(data_dir / "directory.db") in warned[0]
    assert mode(data_dir / "directory.db") == 0o644  # reported, not changed behind the operator's back


def test_a_signing_key_others_can_read_is_refused_wherever_it_is(tmp_path: Path, umask_022: None) -> None:
    """Whoever reads the key can forge a Secret Token for every location: ``DATA_DIR/signing-key``
    was only warned about while the same file named by ``[tokens] signing_key_file`` was refused."""
    data_dir = tmp_path / "data"
    first_serve(data_dir)
    key = data_dir / "signing-key"
    key.chmod(0o644)
    refusal = (f"the token-signing key file {key} is readable or writable by other local users (-rw-r--r--); "
               "restrict it with chmod o-rwx (or chmod 600)")
    for args in (("serve", "--data-dir", str(data_dir), "--port", "0"),
                 ("integration", "add", "--data-dir", str(data_dir), "--location", "1")):
        result = cli(*args)
        assert result.returncode == 1 and refusal in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert mode(key) == 0o644  # nothing changed behind the operator's back
    key.chmod(0o600)
    assert cli("integration", "add", "--data-dir", str(data_dir), "--location", "1").returncode == 0


def test_serve_warns_about_secret_files_others_can_read(tmp_path: Path, umask_022: None) -> None:
    """The TLS key and the metrics token a setting names are secrets too (a 0644 key drew no warning)."""
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
                           "-out", "cert.pem", "-days", "1", "-subj", "/CN=localhost"],
                          cwd=tmp_path, capture_output=True, timeout=60)
    assert made.returncode == 0, made.stderr
    (tmp_path / "metrics-token").write_text("m" * 32)
    for name in ("key.pem", "metrics-token"):
        (tmp_path / name).chmod(0o644)
    (tmp_path / "gateway.toml").write_text('[server]\ncertfile = "cert.pem"\nkeyfile = "key.pem"\n'
                                           '[metrics]\ntoken_file = "metrics-token"\n')
    server = Server(tmp_path / "data", "--config", str(tmp_path / "gateway.toml"), tls=_trusting(tmp_path))
    server.start()
    log = server.stop()
    warned = [line for line in log.splitlines() if "readable by other local users" in line]
    assert {str(tmp_path / "key.pem"), str(tmp_path / "metrics-token")} == \
        {line.split(" (")[0].split(" WARNING vizmo_scim.app ")[1] for line in warned}


def _trusting(folder: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    context.check_hostname = False
    return context


def test_a_cli_command_beside_a_running_gateway_loses_none_of_its_writes(tmp_path: Path) -> None:
    """The CLI opens and closes the directory while ``serve`` holds it open: the gateway's SQLite
    locks must survive that (a stray open/close of the file in the server process once dropped
    them, and the CLI then deleted the WAL the server was writing to)."""
    import sqlite3

    data_dir = tmp_path / "data"
    server = Server(data_dir)
    server.start()
    try:
        token = add_integration(data_dir)["secret_token"]
        assert cli("integration", "list", "--data-dir", str(data_dir)).returncode == 0
        assert server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "w@contoso.com"})[0] == 201
        conn = sqlite3.connect(data_dir / "directory.db")
        try:
            assert conn.execute("SELECT count(*) FROM employees WHERE email = 'w@contoso.com'").fetchone() == (1,)
        finally:
            conn.close()
        assert (data_dir / "directory.db-wal").exists()
    finally:
        server.stop()


def test_a_directory_named_relative_to_the_configuration_is_the_one_checked(tmp_path: Path, umask_022: None) -> None:
    """``[adapter.options] path = "dir.db"`` is the file beside the configuration; the check of
    files others can read looked at ``dir.db`` in the working directory instead, and said nothing."""
    conf_dir, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf_dir.mkdir()
    elsewhere.mkdir()
    (conf_dir / "gateway.toml").write_text('[adapter]\nname = "sqlite"\n[adapter.options]\npath = "dir.db"\n'
                                           'create_if_missing = true\n')
    first_serve(tmp_path / "data", "--config", str(conf_dir / "gateway.toml"))
    (conf_dir / "dir.db").chmod(0o644)
    server = Server(tmp_path / "data", "--config", str(conf_dir / "gateway.toml"), cwd=elsewhere)
    server.start()
    log = server.stop()
    warned = [line for line in log.splitlines() if "readable by other local users" in line]
    assert any(str(conf_dir / "dir.db") + " (-rw-r--r--)" in line for line in warned), log
