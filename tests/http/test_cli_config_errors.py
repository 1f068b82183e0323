"""The real ``vizmo-scim``: a setting it cannot use, from any source, is one line on stderr and
exit status 1 (never a traceback, never a server on a port nobody asked for); ``check-config``
refuses what ``serve`` would refuse at start-up without storage."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.serving import Server, add_integration, cli

#: A certificate that does not exist: on code that accepted a bad port this stopped ``serve``
#: before it bound any port, so a test of a refused setting can never leave a server running.
NO_TLS = ("--certfile", "missing-cert.pem", "--keyfile", "missing-key.pem")


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    # (after getpass's own prompt and warnings, when it asked for a password)
    lines = [line[line.index("vizmo-scim:"):] for line in result.stderr.splitlines() if "vizmo-scim:" in line]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], result.stderr
    return lines[0]


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True,
                          timeout=60, input=stdin, env={**os.environ, **(env or {})}, cwd=cwd,
                          stdin=subprocess.DEVNULL if stdin is None else None)


# -- 1. ports and processes -------------------------------------------------------------------

@pytest.mark.parametrize("port", ["70000", "-1", "٣", "8_081"])
def test_serve_refuses_a_port_flag_out_of_range_or_not_ascii(tmp_path: Path, port: str) -> None:
    result = cli("serve", "--data-dir", str(tmp_path / "data"), f"--port={port}", *NO_TLS)
    one_line_error(result, "--port", "0 to 65535")
    assert not (tmp_path / "data").exists()


def test_a_data_directory_named_in_bytes_that_are_not_utf8_serves(tmp_path: Path) -> None:
    """A Latin-1 folder name (``données`` in a shell set to ISO-8859-1): the start stopped on a
    ``UnicodeEncodeError`` from the state store, which records the signing key's path as text (a
    config review); the path is now recorded with its odd bytes escaped, and the gateway serves."""
    server = Server(Path(os.fsdecode(os.fsencode(tmp_path) + b"/donn\xe9es")))
    server.start()
    try:
        token = add_integration(server.data_dir)["secret_token"]
        assert server.request("GET", "/Users", token)[0] == 200
    finally:
        log = server.stop()
    assert "donn\\xe9es" in log and "Traceback" not in log


def test_a_refused_setting_that_may_hold_a_secret_is_not_shown(tmp_path: Path) -> None:
    """The signing key or the metrics token typed where its variable's name goes, a password in
    the base URL: the refusal printed the value whole (anyone with the key forges every
    location's Secret Token; a secrets review). An adapter option's refusal already hid it."""
    key, token = "72ea99fe" * 8, "Metr1csT0ken-Secret"
    config = tmp_path / "gateway.toml"
    config.write_text(f'[tokens]\nsigning_key_env = "{key}"\n[metrics]\ntoken_env = "{token}"\n')
    refused = cli("check-config", str(config))
    one_line_error(refused, "tokens.signing_key_env", "metrics.token_env", "not shown")
    assert key not in refused.stderr and token not in refused.stderr
    # values the names' rule lets through: refused later, as variables that are not set, by name
    for table, setting, value in (("tokens", "signing_key_env", "abcdef01" * 8),
                                  ("metrics", "token_env", "s3cr3tScrapeTokenValue42")):
        config.write_text(f'[{table}]\n{setting} = "{value}"\n')
        refused = cli("check-config", str(config))
        one_line_error(refused, setting, "not set or empty")
        assert value not in refused.stderr
    for password in ("BaseUrlPW99", "Xk9pQ2mZ7vL4wR8tY1nB6cH3jF5gD0sA2qW4eR6tY8uI0oP"):  # long: cut before redacted
        refused = cli("serve", "--data-dir", str(tmp_path / "data"), "--base-url",
                      f"https://admin:{password}@scim.example.com")
        one_line_error(refused, "--base-url", "https://admin:[redacted]@")
        assert password[:8] not in refused.stderr


@pytest.mark.parametrize("port", ["99999", "٣", " 8_08_1 "])
def test_serve_refuses_vizmo_scim_port_out_of_range_or_not_ascii(tmp_path: Path, port: str) -> None:
    result = run("serve", "--data-dir", str(tmp_path / "data"), *NO_TLS, env={"VIZMO_SCIM_PORT": port})
    one_line_error(result, "VIZMO_SCIM_PORT", "0 to 65535")


def test_serve_caps_processes_at_64_from_flag_and_environment(tmp_path: Path) -> None:
    one_line_error(cli("serve", "--data-dir", str(tmp_path / "data"), "--processes", "65", *NO_TLS),
                   "--processes", "1 to 64")
    one_line_error(run("serve", "--data-dir", str(tmp_path / "data"), *NO_TLS,
                       env={"VIZMO_SCIM_PROCESSES": "1000"}), "VIZMO_SCIM_PROCESSES", "1 to 64")


# -- 2. finite numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["requests_per_second = nan", "requests_per_second = inf",
                                     "adapter_timeout_seconds = nan"])
def test_check_config_refuses_nan_and_inf_limits(tmp_path: Path, setting: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[limits]\n{setting}\n")
    one_line_error(cli("check-config", str(path)), setting.split()[0])


def test_serve_refuses_rate_limit_nan(tmp_path: Path) -> None:
    one_line_error(cli("serve", "--data-dir", str(tmp_path / "data"), "--rate-limit", "nan", *NO_TLS),
                   "--rate-limit", "finite")


# -- 3. base_url ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["ftp://x", "not a url\r\nX: y", "https://scim.example.com\r\nX: y",
                                 "https://evil.example\\.scim.example.com", "https://scim.example.com:0"])
def test_serve_refuses_a_base_url_that_is_not_an_origin(tmp_path: Path, url: str) -> None:
    one_line_error(cli("serve", "--data-dir", str(tmp_path / "data"), "--base-url", url, *NO_TLS), "--base-url")
    one_line_error(run("serve", "--data-dir", str(tmp_path / "data"), *NO_TLS, env={"VIZMO_SCIM_BASE_URL": url}),
                   "VIZMO_SCIM_BASE_URL")


def test_check_config_refuses_a_base_url_with_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[server]\nbase_url = "https://scim.example.com\\r\\nX: y"\n')
    one_line_error(cli("check-config", str(path)), "base_url")


# -- 4. one line, not a traceback -------------------------------------------------------------

def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"\x00\xff\xfe")
    one_line_error(cli("check-config", str(path)), str(path), "UTF-8")
    one_line_error(cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data")), "UTF-8")


def test_a_config_file_nested_5000_deep_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("a=" + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(cli("check-config", str(path)), str(path), "nested")


def test_a_metrics_token_file_that_is_not_utf8_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    token = tmp_path / "metrics-token"
    token.write_bytes(b"\xff\xfe" + b"x" * 40)
    path = tmp_path / "gateway.toml"
    path.write_text(f'[metrics]\ntoken_file = "{token}"\n')
    line = one_line_error(cli("check-config", str(path)), "token_file", "UTF-8")
    assert "xxxx" not in line
    one_line_error(cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0"),
                   "token_file", "UTF-8")
    assert not (tmp_path / "data").exists()


def test_a_folder_as_the_sqlite_directory_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "adir"
    folder.mkdir()
    path = tmp_path / "gateway.toml"
    path.write_text('[adapter]\nname = "sqlite"\n[adapter.options]\npath = "adir"\n')
    one_line_error(cli("check-config", str(path)), "adir")
    one_line_error(cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0"), "adir")
    one_line_error(cli("serve", "--data-dir", str(tmp_path / "data"), "--directory", str(folder), "--port", "0"),
                   "adir")


def test_a_file_that_is_not_a_database_as_the_sqlite_directory_is_one_line(tmp_path: Path) -> None:
    not_db = tmp_path / "passwd"
    not_db.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    not_db.chmod(0o600)
    result = run("serve", "--data-dir", str(tmp_path / "data"), "--port", "0",
                 env={"VIZMO_SCIM_DIRECTORY": str(not_db)})
    one_line_error(result, str(not_db), "SQLite")


def test_an_sqlite_file_without_the_directory_tables_is_one_line_saying_so(tmp_path: Path) -> None:
    """Another database moved onto the directory's name (or an empty file) was
    ``FileNotFoundError: not a Vizmo directory ...`` without the file's name (a durability review)."""
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    conn.close()
    result = run("serve", "--data-dir", str(tmp_path / "data"), "--port", "0", env={"VIZMO_SCIM_DIRECTORY": str(other)})
    one_line_error(result, f"the directory {other} is not a Vizmo directory: it has no 'employees' table",
                   "VIZMO_SCIM_DIRECTORY")


def test_a_damaged_directory_at_start_is_one_line_saying_to_restore_it(tmp_path: Path) -> None:
    """A damaged file was told to check the directory setting, which is fine (a durability review)."""
    directory = tmp_path / "directory.db"
    create_directory(directory)
    with open(directory, "r+b") as file:  # the file's header survives, its schema's first page does not
        file.seek(100)
        file.write(b"\xa5" * (4096 - 100))
    result = run("integration", "list", "--data-dir", str(tmp_path / "data"),
                 env={"VIZMO_SCIM_DIRECTORY": str(directory)})
    one_line_error(result, str(directory), "is damaged: restore it from a backup (README: Backups)")


@pytest.mark.parametrize("flag", ["--host", "--data-dir", "--directory", "--base-url", "--config"])
def test_an_empty_flag_is_refused_not_taken_for_a_default(tmp_path: Path, flag: str) -> None:
    """``--host ""`` listened on every interface, ``--data-dir ""`` used the current folder and
    ``--base-url ""`` was dropped, where the file refuses each empty (a configuration review)."""
    data_dir = () if flag == "--data-dir" else ("--data-dir", str(tmp_path / "data"))
    result = run("serve", flag, "", "--port", "0", *data_dir, cwd=tmp_path)
    assert result.returncode == 2 and f"argument {flag}: must not be empty" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing served


def test_a_blank_variable_is_one_line(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), env={"VIZMO_SCIM_HOST": " "})
    one_line_error(result, "VIZMO_SCIM_HOST holds only white space")


@pytest.mark.parametrize("setting", [("--directory", "."), ("--directory", "/"), ("config", "path = 5")])
def test_serve_refuses_what_check_config_refuses_on_the_same_line(tmp_path: Path, setting: tuple[str, str]) -> None:
    """``serve`` ended with a traceback (the exposed-files check read the options first) where
    ``check-config`` gave one line (a configuration review)."""
    if setting[0] == "config":
        config = tmp_path / "gateway.toml"
        config.write_text(f'[adapter]\nname = "sqlite"\n[adapter.options]\n{setting[1]}\n')
        args: tuple[str, ...] = ("--config", str(config))
        expected = one_line_error(cli("check-config", str(config)), "path")
    else:
        args = setting
        expected = "is not a file (a folder?)"
    result = run("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), *args)
    assert expected in one_line_error(result)


def test_a_metrics_port_or_host_that_cannot_be_bound_is_one_line_naming_it(tmp_path: Path) -> None:
    """``[metrics] port`` in use was ``[Errno 98] Address already in use`` with no port named, and a host
    that does not resolve was blamed on another program holding the port (a configuration review)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = tmp_path / "gateway.toml"
    try:
        config.write_text(f'[metrics]\nport = {port}\n')
        one_line_error(run("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data")),
                       f"cannot listen on [metrics] 127.0.0.1:{port}", "another program, holds that port")
    finally:
        taken.close()
    result = run("serve", "--host", "no-such-host.invalid", "--port", "0", "--data-dir", str(tmp_path / "data"))
    line = one_line_error(result, "cannot listen on no-such-host.invalid:0", "does not resolve")
    assert "holds that port" not in line


def test_a_pipe_as_the_configuration_file_is_one_line_not_a_wait(tmp_path: Path) -> None:
    """A FIFO with no writer as ``--config`` waited for ever, printing nothing (a configuration review)."""
    fifo = tmp_path / "gateway.toml"
    os.mkfifo(fifo)
    one_line_error(run("check-config", str(fifo)), f"cannot read {fifo}: not a regular file")
    one_line_error(run("serve", "--config", str(fifo), "--port", "0", "--data-dir", str(tmp_path / "data")),
                   "not a regular file")


def test_a_data_directory_that_is_a_file_or_cannot_be_made_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """``[Errno 20] Not a directory: '/etc/passwd/signing-key'`` named neither the setting nor the
    trouble (a configuration review)."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    one_line_error(run("serve", "--port", "0", env={"VIZMO_SCIM_DATA_DIR": str(a_file)}),
                   f"the data directory {a_file} is not a folder", "VIZMO_SCIM_DATA_DIR")
    one_line_error(run("serve", "--port", "0", "--data-dir", str(a_file / "data")),
                   f"the data directory {a_file / 'data'} cannot be made", "--data-dir")


def test_admin_add_with_stdin_at_its_end_is_one_line(tmp_path: Path) -> None:
    result = run("admin", "add", "zed", "--data-dir", str(tmp_path / "data"), stdin="")
    one_line_error(result, "--password-file")
    assert len(result.stderr.splitlines()) == 1, result.stderr  # no getpass warning or prompt before it


def test_a_directory_server_that_refuses_the_connection_is_one_line_naming_the_adapter(tmp_path: Path) -> None:
    """The PostgreSQL adapter's own words follow its name (they did not name it, unlike README)."""
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = tmp_path / "gateway.toml"
    config.write_text('[adapter]\nname = "postgres"\n[adapter.options]\ndsn_env = "TEST_DIRECTORY_DSN"\n')
    result = run("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data"),
                 env={"TEST_DIRECTORY_DSN": f"postgresql://scim:secret-pw@127.0.0.1:{port}/vizmo"})
    line = one_line_error(result, "ConnectionRefusedError")
    assert line.startswith("vizmo-scim: adapter 'postgres' could not start: directory connection failed: "), line
    assert "secret-pw" not in result.stderr


# -- 5. check-config runs serve's start-up checks that need no storage ------------------------

def check(tmp_path: Path, text: str, *words: str, env: dict[str, str] | None = None) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    one_line_error(run("check-config", str(path), env=env), *words)


def test_check_config_refuses_a_missing_certificate(tmp_path: Path) -> None:
    check(tmp_path, '[server]\ncertfile = "cert.pem"\nkeyfile = "key.pem"\n', "cert.pem")


def test_check_config_refuses_a_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    check(tmp_path, '[server]\ncertfile = "cert.pem"\nkeyfile = "key.pem"\n', "cert.pem")


def test_a_passphrase_protected_key_is_one_line_and_no_prompt(tmp_path: Path) -> None:
    """A prompt per process (twice before the fork, then in each worker) hung a service with no
    terminal, and said nothing of a passphrase when it failed."""
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-keyout", "key.pem", "-out", "cert.pem",
                           "-days", "1", "-subj", "/CN=localhost", "-passout", "pass:secret"],
                          cwd=tmp_path, capture_output=True, timeout=60)
    assert made.returncode == 0, made.stderr
    settings = '[server]\ncertfile = "cert.pem"\nkeyfile = "key.pem"\n'
    check(tmp_path, settings, "key.pem is encrypted (passphrase-protected)")
    result = run("serve", "--config", str(tmp_path / "gateway.toml"), "--port", "0",
                 "--data-dir", str(tmp_path / "data"))
    one_line_error(result, "is encrypted")
    assert "pass phrase" not in result.stderr.lower()


def test_check_config_refuses_a_short_missing_or_unset_metrics_token(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("abc\n")
    check(tmp_path, '[metrics]\ntoken_file = "short"\n', "at least 16")
    check(tmp_path, '[metrics]\ntoken_file = "absent"\n', "absent")
    check(tmp_path, '[metrics]\ntoken_env = "VIZMO_TEST_UNSET_METRICS_TOKEN"\n', "token_env",  # (not named: see
          "not set or empty", env={"VIZMO_TEST_UNSET_METRICS_TOKEN": ""})  # test_a_refused_setting_that_may_hold...)
    check(tmp_path, '[metrics]\ntoken_env = "VIZMO_TEST_SHORT_METRICS_TOKEN"\n', "VIZMO_TEST_SHORT_METRICS_TOKEN",
          "at least 16", env={"VIZMO_TEST_SHORT_METRICS_TOKEN": "abc"})


def test_check_config_refuses_a_missing_signing_key_file_or_a_non_hex_key(tmp_path: Path) -> None:
    check(tmp_path, '[tokens]\nsigning_key_file = "absent-key"\n', "absent-key")
    check(tmp_path, '[tokens]\nsigning_key_env = "VIZMO_TEST_KEY"\n', "VIZMO_TEST_KEY", "hexadecimal",
          env={"VIZMO_TEST_KEY": "z" * 64})


def test_check_config_still_accepts_a_good_configuration(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t" * 32)
    path = tmp_path / "gateway.toml"
    path.write_text('[metrics]\ntoken_file = "token"\n[tokens]\nsigning_key_env = "VIZMO_TEST_KEY"\n')
    result = run("check-config", str(path), env={"VIZMO_TEST_KEY": "ab" * 32})
    assert result.returncode == 0 and "valid" in result.stdout, result.stderr
    assert not (tmp_path / "vizmo-scim-data").exists()


@pytest.mark.parametrize("options", ['name = "postgres"\n[adapter.options]\ndsn_file = "secret.bin"\n',
                                     'name = "ldap"\n[adapter.options]\nurl = "ldap://127.0.0.1:1"\nbase_dn = "dc=x"\n'
                                     'bind_dn = "cn=gw"\nbind_password_file = "secret.bin"\n'])
def test_a_secret_file_that_is_not_utf8_is_one_line_without_the_secret(tmp_path: Path, options: str) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\xff\xfepostgresql://gw:hunter2hunter2@db/vizmo")
    (tmp_path / "secret.bin").chmod(0o600)
    path = tmp_path / "gateway.toml"
    path.write_text("[adapter]\n" + options)
    for result in (cli("check-config", str(path)),
                   cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0")):
        line = one_line_error(result, "secret.bin", "UTF-8")
        assert "hunter2" not in result.stderr and "hunter2" not in line


@pytest.mark.parametrize("options", ['name = "postgres"\n[adapter.options]\n'
                                     'dsn_file = "postgresql://scim:DsnPassw0rd@db.example/vizmo"\n',
                                     'name = "ldap"\n[adapter.options]\nurl = "ldap://127.0.0.1:1"\nbase_dn = "dc=x"\n'
                                     'bind_dn = "cn=gw"\nbind_password_file = "ldap://cn=admin:DsnPassw0rd@x"\n'])
def test_a_secret_typed_where_its_file_is_named_is_one_line_without_it(tmp_path: Path, options: str) -> None:
    """A DSN typed into ``dsn_file`` was printed whole by ``serve`` (password and all), as a file
    it could not read, and ``check-config`` called the file valid (a security review)."""
    path = tmp_path / "gateway.toml"
    path.write_text("[adapter]\n" + options)
    for result in (cli("check-config", str(path)),
                   cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0")):
        line = one_line_error(result, "holds a URL", "names the file")
        assert "DsnPassw0rd" not in result.stderr + result.stdout and "DsnPassw0rd" not in line


@pytest.mark.parametrize("options", ['name = "postgres"\n[adapter.options]\n'
                                     'dsn_file = "host=db.example user=scim password=DsnPassw0rd dbname=vizmo"\n',
                                     'name = "ldap"\n[adapter.options]\nurl = "ldap://127.0.0.1:1"\nbase_dn = "dc=x"\n'
                                     'bind_dn = "cn=gw"\nbind_password_file = "DsnPassw0rd!"\n'])
def test_a_missing_secret_file_is_not_named_in_the_refusal(tmp_path: Path, options: str) -> None:
    """A password or key/value DSN typed where its file is named was printed as the file that
    could not be read (a code review: the URL check does not see these)."""
    path = tmp_path / "gateway.toml"
    path.write_text("[adapter]\n" + options)
    result = cli("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0")
    line = one_line_error(result, "not repeated here", "No such file")
    assert "DsnPassw0rd" not in result.stderr + result.stdout and "DsnPassw0rd" not in line


def test_a_directory_another_writer_holds_locked_at_start_is_one_line_saying_so(tmp_path: Path) -> None:
    """A portal transaction held past the 5 s wait at a first start was "OperationalError: database
    is locked (at bootstrap.py:118)": it did not say another process holds the lock, or that trying
    again works. (A later start writes nothing and starts beside the lock: test_signing_key.py.)"""
    data_dir = tmp_path / "data"
    directory = tmp_path / "portal.db"
    create_directory(directory)
    serve = ("serve", "--data-dir", str(data_dir), "--directory", str(directory), "--port", "0")
    for phase in ("rollback journal", "no gateway tables"):
        portal = sqlite3.connect(directory, isolation_level=None)
        if phase == "no gateway tables":
            portal.execute("PRAGMA journal_mode=WAL")  # as the gateway's first start would leave it
        portal.execute("BEGIN IMMEDIATE")  # the portal, mid-transaction
        try:
            refused = cli(*serve)
        finally:
            portal.execute("ROLLBACK")
            portal.close()
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 1 and len(lines) == 1, refused.stderr
        assert "stayed locked by another writer (the portal, another gateway process or a vizmo-scim command) " \
               "for 5 s" in lines[0] and "database is locked" in lines[0], lines
        if phase == "rollback journal":
            assert "while the gateway switched it to WAL mode" in lines[0], lines
        else:
            assert "while the gateway created or updated its own tables; start it again" in lines[0], lines


def test_each_action_takes_only_its_own_options(tmp_path: Path) -> None:
    """One parser per action: an option another action takes is refused (integration list
    --location 7 listed every location; remove --json printed text), and --help shows only
    the action's options."""
    for args in (("integration", "list", "--location", "7"), ("integration", "remove", "--location", "1", "--json"),
                 ("admin", "list", "--location", "1"), ("admin", "remove", "zed", "--password-file", "pw")):
        result = run(*args, "--data-dir", str(tmp_path / "data"))
        assert result.returncode == 2 and "unrecognized arguments" in result.stderr, (args, result.stderr)
    assert not (tmp_path / "data").exists()
    remove_help = run("integration", "remove", "--help").stdout
    assert "--location ID" in remove_help and "--json" not in remove_help and "--base-url" not in remove_help
    assert "--location" not in run("integration", "list", "--help").stdout
    assert "--password-file FILE" in run("admin", "add", "--help").stdout
    assert "--base-url URL" in run("serve", "--help").stdout


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``vizmo-scim ... --json | head -c1``: the pipe closed under the command printed
    "vizmo-scim: [Errno 32] Broken pipe" (a packaging review); the reader has gone, so nothing is
    said, and the status is still not 0."""
    command = subprocess.Popen([sys.executable, "-m", "gateway.cli", "adapters", "list", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert command.stdout is not None and command.stderr is not None
    command.stdout.close()  # before the command has written anything: its first write fails
    errors = command.stderr.read().decode()
    command.stderr.close()
    assert command.wait(timeout=60) == 1
    assert errors == ""
