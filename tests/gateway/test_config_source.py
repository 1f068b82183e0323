"""Which configuration a command acts on (issue 17 §1): ``--config`` > ``VIZMO_SCIM_CONFIG`` > the
record ``serve`` keeps in its data directory > the defaults; ``serve`` never reads the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.config_source import choose, command_flags, record


def test_precedence_flag_environment_record_defaults(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    served = tmp_path / "served.toml"
    served.write_text("")
    (data / "served-config.json").write_text(json.dumps({"config": str(served), "directory": "/srv/dir.db"}))
    env = {"VIZMO_SCIM_CONFIG": "/etc/env.toml", "VIZMO_SCIM_DATA_DIR": str(data)}
    assert choose(Path("flag.toml"), data, env=env, serving=False).file == Path("flag.toml")
    assert choose(None, data, env=env, serving=False).file == Path("/etc/env.toml")
    found = choose(None, None, env={"VIZMO_SCIM_DATA_DIR": str(data)}, serving=False)
    assert (found.file, found.directory, found.data_dir) == (served, Path("/srv/dir.db"), data)
    assert choose(None, data, env={}, serving=True).file is None  # serve: what the record describes
    assert choose(None, tmp_path / "none", env={}, serving=False).file is None


def test_the_record_names_the_data_directory_it_is_in(tmp_path: Path) -> None:
    """serve --data-dir D --config C, where C names another data_dir: D won, so D is used."""
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "elsewhere"\n')
    served = load_config(config, env={}, data_dir=tmp_path / "d")
    record(served)
    source = choose(None, tmp_path / "d", env={}, serving=False)
    assert source.file == config and source.data_dir == tmp_path / "d"
    assert command_flags(served) == f"--config {config} --data-dir {tmp_path / 'd'}"


def test_an_unreadable_record_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "served-config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="served-config.json \\(written by 'vizmo-scim serve'\\)"):
        choose(None, tmp_path, env={}, serving=False)
