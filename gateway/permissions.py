"""Owner-only files: the gateway's data directory, databases and signing key are not readable by
other local users (issue 13 §6), and an operator is told when existing ones are."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from adapters.registry import AdapterNotFound, load_adapter_class
from gateway.adapter_setup import SECRET_TEXT_FILES, STATE_FILE, adapter_options
from gateway.config import GatewayConfig

log = logging.getLogger("vizmo_scim.app")

#: Every file and folder a ``vizmo-scim`` command creates is its owner's alone (0600 / 0700).
PRIVATE_UMASK = 0o077


def use_private_umask() -> None:
    """Set the process's umask so that whatever it creates (SQLite's ``-wal``/``-shm`` beside a
    new database, the state store, the key) is owner-only, even under the usual umask 022."""
    os.umask(PRIVATE_UMASK)


def exposed_files(config: GatewayConfig) -> list[str]:
    """The gateway's existing files and folder that other local users can read, with their modes:
    its data, and every secret a setting names (the TLS key, the metrics token, an adapter's DSN
    or bind password file). Not the token-signing key: one others can read is refused
    (:func:`gateway.signing_keys.load_signing_key`)."""
    candidates = [config.data_dir, config.data_dir / STATE_FILE]
    try:
        options = adapter_options(config, load_adapter_class(config.adapter_name))
    except AdapterNotFound:  # refused with its reason when the adapter is built
        options = config.resolved_adapter_options()
    if config.adapter_name.lower() == "sqlite":
        path = Path(options["path"])
        candidates += [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    candidates += [Path(options[key]) for key in SECRET_TEXT_FILES if isinstance(options.get(key), str)]
    candidates += [p for p in (config.keyfile, config.metrics.token_file) if p is not None]
    return [item for item in map(exposure, candidates) if item is not None]


def exposure(path: Path) -> str | None:
    """``path (mode)`` when other local users can read it, else None (also when it is missing)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return f"{path} ({stat.filemode(mode)})" if mode & stat.S_IROTH else None


def warn_exposed(item: str) -> None:
    """Log a WARNING naming an exposed file (``chmod`` fixes it; the gateway changes nothing)."""
    log.warning("%s is readable by other local users: it holds employees' personal data or a secret "
                "(a key, a token, a password); restrict it with chmod o-rwx (or chmod 600 / 700)", item)


def warn_if_exposed(config: GatewayConfig) -> None:
    """Log a WARNING naming each of the gateway's exposed files (:func:`exposed_files`)."""
    for item in exposed_files(config):
        warn_exposed(item)
