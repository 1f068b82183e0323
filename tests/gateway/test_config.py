"""Configuration: TOML validated against the bundled schema; defaults < file < environment < flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.adapter_setup import build_adapter
from gateway.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_precedence_defaults_file_environment_flags(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nhost = "0.0.0.0"\nport = 9000\nprocesses = 2\n[adapter]\nname = "sqlite"\n')
    assert load_config(env={}).port == 8080
    from_file = load_config(path, env={})
    assert (from_file.host, from_file.port, from_file.processes) == ("0.0.0.0", 9000, 2)
    from_env = load_config(path, env={"VIZMO_SCIM_PORT": "9100"})
    assert from_env.port == 9100 and from_env.host == "0.0.0.0"
    assert load_config(path, env={"VIZMO_SCIM_PORT": "9100"}, port=9200).port == 9200


@pytest.mark.parametrize("text,fragment", [
    ("[server]\nport = 'eighty'\n", "server.port"),
    ("[server]\nport = 70000\n", "server.port"),
    ("[adapter]\noptions = {}\n", "'name' is a required property"),
    ("surprise = 1\n", "Additional properties"),
    ("[server\n", "not valid TOML"),
    # a whole number written with a fraction: JSON Schema's integer holds 2048.0, which then showed in
    # every 413 as "larger than 2048.0 bytes" (a configuration review)
    ("[server]\nmax_body_bytes = 2048.0\n", "server.max_body_bytes: 2048.0 is not of type 'integer'"),
    ("[limits]\nmax_values = 2.0\n", "limits.max_values: 2.0 is not of type 'integer'"),
    # a rate of 1e-300 answered a Retry-After of 301 digits; a burst of 10**30 passed where its flag failed
    ("[limits]\nrequests_per_second = 1e-300\n", "limits.requests_per_second: 1e-300 is less than the minimum"),
    ("[limits]\nburst = 1000000000000000000000000000000\n", "limits.burst: 1000000000000000000000000000000 is "
                                                              "greater than the maximum"),
])
def test_invalid_files_name_the_setting(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        load_config(write(tmp_path, text), env={})


def test_environment_values_are_checked() -> None:
    with pytest.raises(ConfigError, match="VIZMO_SCIM_PORT"):
        load_config(env={"VIZMO_SCIM_PORT": "http"})


def test_adapter_options_are_validated_against_the_adapters_schema(tmp_path: Path) -> None:
    bad = load_config(write(tmp_path, '[adapter]\nname = "sqlite"\n[adapter.options]\npath = 5\n'), env={})
    with pytest.raises(ConfigError, match="path"):
        build_adapter(bad)
    fraction = load_config(write(tmp_path, '[adapter]\nname = "postgres"\n[adapter.options]\n'
                                           'dsn_file = "dsn"\nmax_pool = 4.0\n'), env={})
    with pytest.raises(ConfigError, match="max_pool: 4.0 is not of type 'integer'"):
        build_adapter(fraction)
    for options, said in (('dsn_file = "dsn"\ndsn_env = "DSN"', "adapter 'postgres': options: set dsn_file or "
                                                                 "dsn_env, not both"),
                          ('url = "ldap://x"\nbase_dn = "dc=x"\nbind_dn = "cn=x"\nbind_password_env = "P"\n'
                           'bind_password_file = "p"', "adapter 'ldap': options: set bind_password_file or "
                                                       "bind_password_env, one of them")):
        name = "postgres" if "dsn" in options else "ldap"
        both = load_config(write(tmp_path, f'[adapter]\nname = "{name}"\n[adapter.options]\n{options}\n'), env={})
        with pytest.raises(ConfigError) as refused:  # dsn_env was ignored without a word (a configuration review)
            build_adapter(both)
        assert str(refused.value) == said
    unknown = load_config(write(tmp_path, '[adapter]\nname = "nosuch"\n'), env={})
    with pytest.raises(ConfigError, match="installed adapters: .*sqlite"):
        build_adapter(unknown)


def test_embedded_default_is_created_only_for_the_default_path(tmp_path: Path) -> None:
    default = load_config(env={}, data_dir=tmp_path)
    assert default.resolved_adapter_options() == {"path": str(tmp_path / "directory.db"), "create_if_missing": True}
    explicit = load_config(env={}, directory=tmp_path / "real.db")
    assert explicit.resolved_adapter_options()["create_if_missing"] is False


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


def test_check_config_command(tmp_path: Path) -> None:
    good = write(tmp_path, f'data_dir = "{tmp_path}"\n[adapter]\nname = "SQLite"\n')
    ok = cli("check-config", str(good))
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[adapter]\nname = "oracle"\n')
    failed = cli("check-config", str(bad))
    assert failed.returncode == 1 and "installed adapters:" in failed.stderr and "Traceback" not in failed.stderr


def test_adapters_list_command() -> None:
    listed = cli("adapters", "list", "--json")
    assert listed.returncode == 0
    by_name = {item["name"]: item for item in json.loads(listed.stdout)}
    assert by_name["sqlite"]["options_schema"]["required"] == ["path"]


def test_tokens_settings_name_a_key_file_or_variable(tmp_path: Path) -> None:
    from_file = load_config(write(tmp_path, '[tokens]\nsigning_key_file = "/run/secrets/scim-key"\n'), env={})
    assert from_file.signing_key_file == Path("/run/secrets/scim-key") and from_file.signing_key_env is None
    from_env = load_config(write(tmp_path, '[tokens]\nsigning_key_env = "SCIM_SIGNING_KEY"\n'), env={})
    assert from_env.signing_key_env == "SCIM_SIGNING_KEY" and from_env.signing_key_file is None
    assert load_config(env={}).signing_key_file is None and load_config(env={}).signing_key_env is None


@pytest.mark.parametrize("text,fragment", [
    ('[tokens]\nsigning_key_file = "/k"\nsigning_key_env = "K"\n',
     "[tokens]: set signing_key_file or signing_key_env, not both"),
    ('[tokens]\nsigning_key_env = "MY-KEY"\n', "tokens.signing_key_env: the value (not shown: it may be a secret) must be the name of an environment variable"),
    ('[tokens]\nsigning_key_file = ""\n', "tokens.signing_key_file"),
    ('[tokens]\nsigning_key = "00112233"\n', "Additional properties are not allowed ('signing_key' was unexpected)"),
])
def test_invalid_tokens_settings_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert fragment in str(info.value)


@pytest.mark.parametrize("text,message", [
    ('[server]\nbase_url = "ftp://scim.example.com"\n',
     "server.base_url: 'ftp://scim.example.com' must be an http:// or https:// public origin"),
    ('[server]\ntrusted_proxies = ["notanip"]\n', "[server] trusted_proxies: 'notanip' is not an IP address"),
    ('[server]\ncertfile = "cert.pem"\n', "HTTPS needs both a certificate and its key ([server] certfile and keyfile"),
])
def test_a_refused_setting_is_named_as_the_file_names_it(tmp_path: Path, text: str, message: str) -> None:
    """Not the pattern a value missed, and not only the flag (an operator review)."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert message in str(info.value) and "^https?" not in str(info.value)


def test_relative_paths_in_the_file_are_taken_from_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 §1: not from the current directory, which differs between serve and a later command."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "gateway.toml").write_text(
        'data_dir = "data"\n[server]\ncertfile = "tls/cert.pem"\nkeyfile = "/etc/tls/key.pem"\n'
        '[tokens]\nsigning_key_file = "../secrets/key"\n[metrics]\ntoken_file = "metrics.token"\n'
        '[adapter]\nname = "sqlite"\n[adapter.options]\npath = "db/directory.db"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("run/gateway.toml"), env={})
    assert config.config_file == run / "gateway.toml"
    assert (config.data_dir, config.certfile, config.keyfile) == (run / "data", run / "tls/cert.pem",
                                                                 Path("/etc/tls/key.pem"))
    assert config.signing_key_file == run / "../secrets/key" and config.metrics.token_file == run / "metrics.token"
    assert build_adapter(config).path == run / "db/directory.db"  # an option marked "format": "path"
    assert load_config(Path("run/gateway.toml"), env={}, data_dir=Path("flag")).data_dir == Path("flag")  # flags: cwd


def test_the_directory_flag_and_variable_win_over_the_files_path(tmp_path: Path) -> None:
    """``--directory`` and ``VIZMO_SCIM_DIRECTORY`` were ignored when the file set ``[adapter.options]
    path``: ``serve`` opened the file's database while its start line and ``served-config.json``
    named the flag's (a configuration review). Later sources win, as for every setting."""
    file = tmp_path / "gateway.toml"
    file.write_text('[adapter]\nname = "sqlite"\n[adapter.options]\npath = "file.db"\ncreate_if_missing = true\n')
    assert build_adapter(load_config(file, env={})).path == tmp_path / "file.db"
    from_env = load_config(file, env={"VIZMO_SCIM_DIRECTORY": str(tmp_path / "env.db")})
    assert from_env.resolved_adapter_options() == {"path": str(tmp_path / "env.db"), "create_if_missing": False}
    from_flag = load_config(file, env={"VIZMO_SCIM_DIRECTORY": str(tmp_path / "env.db")}, directory=tmp_path / "f.db")
    assert build_adapter(from_flag).path == tmp_path / "f.db"


def test_an_option_that_may_hold_a_secret_is_refused_without_its_value(tmp_path: Path) -> None:
    """A DSN typed into ``dsn_env`` (which names a variable) was echoed, password and all, by every
    command (an SDK review)."""
    dsn = "postgresql://scim:S3cretPassw0rd@db.example.com/vizmo"
    config = load_config(write(tmp_path, f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_env = "{dsn}"\n'),
                         env={})
    with pytest.raises(ConfigError) as refused:
        build_adapter(config)
    assert "S3cretPassw0rd" not in str(refused.value) and "dsn_env: the value (not shown" in str(refused.value)
