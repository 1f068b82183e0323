"""Which configuration a command acts on, so that every command reaches the gateway's own storage.

A deployment names its configuration once (issue 17 §1). Every command other than ``serve``
takes the first of:

1. ``--config FILE``;
2. the environment variable ``VIZMO_SCIM_CONFIG`` (the path of the TOML file);
3. ``DATA_DIR/served-config.json``, which ``serve`` writes at each start: the absolute path of the
   file it was started with (or none), its ``--directory`` (or none) and its public origin (so
   that a Tenant URL printed by ``integration`` names the port and origin ``serve`` uses, flags
   included); the command then also uses ``DATA_DIR`` as its data directory, as ``serve`` did.
   ``DATA_DIR`` is ``--data-dir``, else ``VIZMO_SCIM_DATA_DIR``, else ``./vizmo-scim-data``;
4. the defaults (the embedded SQLite directory in ``DATA_DIR``).

``serve`` itself takes 1, 2 or 4 (it is what the record describes). Commands other than
``serve`` never create a data folder, a directory database, a signing key or a state file: what
they look for and do not find is a one-line error saying where they looked and how to fix it
(:func:`missing`).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.config import DEFAULT_DATA_DIR, ConfigError, GatewayConfig

CONFIG_ENV = "VIZMO_SCIM_CONFIG"
#: The record ``serve`` keeps in its data directory of the configuration it runs with.
RECORD_FILE = "served-config.json"


@dataclass(frozen=True)
class ConfigSource:
    """The file a command loads (or ``None``), and what a record of ``serve`` adds: the data
    directory it was found in (``serve``'s own, whatever the file says), ``serve``'s
    ``--directory`` and its public origin."""

    file: Path | None
    directory: Path | None
    data_dir: Path | None = None
    base_url: str | None = None


def data_dir_of(flag: Path | None, env: Mapping[str, str]) -> Path:
    """The data directory named before any file is read: flag, ``VIZMO_SCIM_DATA_DIR``, default."""
    if flag is not None:
        return flag
    return Path(env["VIZMO_SCIM_DATA_DIR"]) if env.get("VIZMO_SCIM_DATA_DIR") else DEFAULT_DATA_DIR


def choose(config_flag: Path | None, data_dir_flag: Path | None, *, env: Mapping[str, str],
           serving: bool) -> ConfigSource:
    """The configuration a command uses (see the module docstring for the order)."""
    if config_flag is not None:
        return ConfigSource(config_flag, None)
    if env.get(CONFIG_ENV):
        return ConfigSource(Path(env[CONFIG_ENV]), None)
    record = data_dir_of(data_dir_flag, env) / RECORD_FILE
    if serving or not record.exists():
        return ConfigSource(None, None)
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
        file, directory = saved["config"], saved["directory"]
        if not all(value is None or isinstance(value, str) for value in (file, directory)):
            raise ValueError("its config and directory must be paths or null")  # 5 was a TypeError trace
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read {_absolute(record)} (written by 'vizmo-scim serve'): {exc}; pass --config "
                          f"FILE or delete it") from None
    how = f"{_absolute(record)}, written by 'vizmo-scim serve'"
    if file is not None and not Path(file).is_file():
        raise ConfigError(f"the configuration file {file} named in {how} does not exist any more; pass --config "
                          f"FILE (or set {CONFIG_ENV}) or start 'vizmo-scim serve' with the new one")
    base_url = saved.get("base_url") if isinstance(saved.get("base_url"), str) else None  # older records: none
    return ConfigSource(Path(file) if file else None, Path(directory) if directory else None, record.parent, base_url)


def recorded_origin(data_dir: Path, file: Path) -> str | None:
    """The public origin ``serve`` recorded in ``data_dir`` when it was started with ``file``
    (``--config``/``VIZMO_SCIM_CONFIG`` name the file, but ``serve``'s flags may have set another
    port: the running gateway's Tenant URLs are the recorded ones), else None."""
    try:
        saved = json.loads((data_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("config") is None or not isinstance(saved.get("base_url"), str):
        return None
    return saved["base_url"] if _absolute(Path(saved["config"])) == _absolute(file) else None


def record(config: GatewayConfig) -> None:
    """``serve``: write ``DATA_DIR/served-config.json`` (atomically, owner-only under the CLI's
    umask) naming the file, directory and public origin this start uses, for the other commands."""
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config.data_dir / RECORD_FILE
    text = json.dumps({"config": str(config.config_file) if config.config_file else None,
                       "directory": _absolute(config.directory) if config.directory else None,
                       "base_url": config.public_base_url}, indent=2)
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def command_flags(config: GatewayConfig) -> str:
    """The flags that make another command act on exactly this configuration (serve's hint)."""
    flags = []
    if config.config_file is not None:
        flags += ["--config", str(config.config_file)]
    flags += ["--data-dir", _absolute(config.data_dir)]
    if config.directory is not None:
        flags += ["--directory", _absolute(config.directory)]
    return shlex.join(flags)


def missing(what: str, path: Path, config: GatewayConfig) -> str:
    """The one-line error of a command that looked for ``what`` at ``path`` and will not create it."""
    record = _absolute(config.data_dir / RECORD_FILE)
    if config.config_file is not None:
        how = f"the file {config.config_file}"
    elif os.path.exists(record):  # serve ran without a file: it said so there
        how = f"the defaults, as {record} (written by 'vizmo-scim serve') records them"
    else:
        how = f"the defaults: no --config, no {CONFIG_ENV}, no {record}"
    return (f"no {what} at {_absolute(path)} (configuration: {how}); this command never creates one: start "
            f"'vizmo-scim serve' with the gateway's configuration first, or name that configuration with "
            f"--config FILE or {CONFIG_ENV}, or --data-dir of the gateway's data directory")


def _absolute(path: Path) -> str:
    return os.path.abspath(path)
