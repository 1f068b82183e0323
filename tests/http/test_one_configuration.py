"""Every command acts on the gateway's own configuration (issue 17 §1), through the real CLI and
a real ``vizmo-scim serve``.

The traps, each shown gone: ``serve --config`` on PostgreSQL printed a hint without ``--config``
which, followed, enabled the location in a new demo SQLite directory (the real gateway then
answered 401); a command run elsewhere made a second data folder with a new signing key;
relative paths in the file were taken from the current directory.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import PROBE, Server

ROOT = Path(__file__).resolve().parents[2]
HINT = re.compile(r"enable a location with '(vizmo-scim integration add .*)'$")
TOKEN = re.compile(r"^Secret Token: (\S+)$", re.MULTILINE)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in ``cwd`` (the source tree on its path), with ``env`` added to the environment."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=clean_env(env))


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without VIZMO_SCIM_* settings, the source tree on the path, plus ``extra``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("VIZMO_SCIM_")}
    return {**kept, "PYTHONPATH": str(ROOT), **(extra or {})}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1 and result.stdout == "", (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vizmo-scim: "), result.stderr
    return lines[0]


def test_the_hint_of_serve_on_postgresql_is_the_command_that_works(tmp_path: Path, pg_directory_dsn: str) -> None:
    run_dir = tmp_path / "run"  # the configuration's folder: its relative paths are resolved against it
    run_dir.mkdir()
    (run_dir / "directory.dsn").write_text(pg_directory_dsn)
    config = run_dir / "gateway.toml"
    config.write_text('data_dir = "data"\n[adapter]\nname = "postgres"\n[adapter.options]\n'
                      'dsn_file = "directory.dsn"\nmax_pool = 2\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = Server(run_dir / "data", "--config", "run/gateway.toml", data_dir_flag=False, cwd=tmp_path,
                    env=clean_env())
    server.start()
    try:
        found = HINT.search(server.banner.strip())
        assert found, server.banner
        hint = found.group(1)
        assert f"--config {config}" in hint and f"--data-dir {run_dir / 'data'}" in hint
        # followed exactly as printed, from another folder
        words = shlex.split(hint.replace("<id>", "1"))
        added = run(*words[1:], cwd=elsewhere)
        assert added.returncode == 0, added.stderr
        token = TOKEN.search(added.stdout)
        assert token, added.stdout
        assert server.request("GET", PROBE, token.group(1))[0] == 200  # the running gateway takes it
        assert sorted(p.name for p in elsewhere.iterdir()) == []  # no demo directory, no data folder

        # the configuration named once: the record serve keeps in its data directory ...
        listed = run("integration", "list", "--json", "--data-dir", str(run_dir / "data"), cwd=elsewhere)
        assert [row["location_id"] for row in json.loads(listed.stdout)] == [1], listed.stderr
        # ... or VIZMO_SCIM_CONFIG, and a relative --config from the parent folder (the file's
        # relative data_dir is under run/, not under the current directory)
        for args, env in ((("integration", "list", "--json"), {"VIZMO_SCIM_CONFIG": str(config)}),
                          (("integration", "list", "--json", "--config", "run/gateway.toml"), {})):
            listed = run(*args, cwd=tmp_path, env=env)
            assert [row["location_id"] for row in json.loads(listed.stdout)] == [1], listed.stderr
        assert not (tmp_path / "vizmo-scim-data").exists() and not (tmp_path / "data").exists()
        record = json.loads((run_dir / "data" / "served-config.json").read_text())
        assert record == {"config": str(config), "directory": None,
                          "base_url": f"http://127.0.0.1:{server.port}"}  # the port bound, flags included
    finally:
        server.stop()


def test_no_command_but_serve_creates_a_data_folder_or_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    default = empty / "vizmo-scim-data"
    for args, looked_for in (
            (("integration", "add", "--location", "1"), default / "signing-key"),
            (("integration", "rotate", "--location", "1"), default / "signing-key"),
            (("integration", "list",), default / "directory.db"),
            (("integration", "remove", "--location", "1"), default / "directory.db"),
            (("activity", "--location", "1"), default / "directory.db")):
        line = one_error_line(run(*args, cwd=empty))
        assert f"no {'token-signing key' if 'signing' in looked_for.name else 'directory database'} at " \
               f"{looked_for} (configuration: the defaults: no --config, no VIZMO_SCIM_CONFIG, no " \
               f"{default / 'served-config.json'}); this command never creates one: start 'vizmo-scim serve'" in line
    # an adapter without a state store: the state file is looked for, not created
    config = tmp_path / "memory.toml"
    config.write_text('data_dir = "state"\n[adapter]\nname = "adapters.examples.memory:MemoryAdapter"\n')
    line = one_error_line(run("integration", "list", "--config", str(config), cwd=empty))
    assert f"no gateway state (kept for adapters without a state store) at {tmp_path / 'state' / 'gateway-state.db'} " \
           f"(configuration: the file {config})" in line
    assert list(empty.iterdir()) == [] and not (tmp_path / "state").exists()


def test_a_missing_key_beside_a_record_of_serve_says_the_record_was_read(tmp_path: Path) -> None:
    """With ``served-config.json`` present (serve ran on the defaults), the error said there was no
    such file (a review)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "served-config.json").write_text(json.dumps({"config": None, "directory": None}))
    line = one_error_line(run("integration", "add", "--location", "1", "--data-dir", str(data), cwd=tmp_path))
    assert f"(configuration: the defaults, as {data / 'served-config.json'} (written by 'vizmo-scim serve') " \
           "records them)" in line, line


def test_check_config_reads_vizmo_scim_config(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\nport = 9001\n')
    checked = run("check-config", cwd=tmp_path, env={"VIZMO_SCIM_CONFIG": str(config)})
    assert checked.returncode == 0 and checked.stdout.startswith(f"{config}: valid"), checked.stderr
    missing = run("check-config", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines() == [
        "vizmo-scim: check-config needs a FILE, or VIZMO_SCIM_CONFIG naming one"]


def test_check_config_applies_the_environment_as_serve_would(tmp_path: Path) -> None:
    """A VIZMO_SCIM_* variable serve would refuse was ignored: 'valid', then serve refused."""
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\nport = 9001\n')
    refused = run("check-config", str(config), cwd=tmp_path, env={"VIZMO_SCIM_PORT": "abc"})
    assert refused.returncode == 1 and "VIZMO_SCIM_PORT" in refused.stderr and "Traceback" not in refused.stderr
    applied = run("check-config", str(config), cwd=tmp_path, env={"VIZMO_SCIM_PORT": "9002", "VIZMO_SCIM_HOST": ""})
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (f"{config}: valid (adapter 'sqlite', 1 process(es), listening on "
                                      "127.0.0.1:9002; with VIZMO_SCIM_PORT from the environment)")


def test_a_record_naming_a_vanished_file_is_a_one_line_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "served-config.json").write_text(json.dumps({"config": str(tmp_path / "gone.toml"), "directory": None}))
    line = one_error_line(run("integration", "list", "--data-dir", str(data), cwd=tmp_path))
    assert f"the configuration file {tmp_path / 'gone.toml'} named in {data / 'served-config.json'}" in line


@pytest.mark.parametrize("saved", [{"config": 5, "directory": None}, {"config": None, "directory": 7}])
def test_a_record_holding_something_else_than_paths_is_a_one_line_error(tmp_path: Path, saved: dict) -> None:
    """A number where a path goes was a ``TypeError`` traceback from every command (a configuration review)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "served-config.json").write_text(json.dumps(saved))
    line = one_error_line(run("integration", "list", "--data-dir", str(data), cwd=tmp_path))
    assert f"cannot read {data / 'served-config.json'}" in line and "must be paths or null" in line
