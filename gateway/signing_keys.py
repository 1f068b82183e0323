"""The deployment's token-signing key: where a host reads it, and the check that every host of a
deployment signs and verifies with the same one (issue 14 §4).

Where the key comes from (:func:`load_signing_key`):

- ``[tokens] signing_key_file = "/path"``: the file, hex of at least 256 bits. It is never
  created, and it is refused when other local users can read or write it (mode ``o+r`` or
  ``o+w``): whoever reads it can forge a Secret Token for every location, so a loose mode is an
  error to fix (``chmod 600``), not a warning to scroll past.
- ``[tokens] signing_key_env = "NAME"``: the environment variable ``NAME``, same format.
- neither: ``DATA_DIR/signing-key``, created (0600) when missing (:func:`gateway.tokens.load_or_create_key`).

The check (:func:`claim_deployment_key`): the shared state store records the id of the first
key any gateway or CLI run of the deployment used (:meth:`adapters.state.StateStore.claim_signing_key`);
a host whose key has another id would answer 401 to every token the others issue, so ``serve``
refuses to start and the integration commands refuse to issue a token, with one line naming
this host's key (its file or variable), both key ids, and where the deployment's key was first
used. Only the key id (:func:`gateway.tokens.key_id`) is ever stored, logged or printed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.errors import AdapterError
from adapters.state import SigningKeyRecord, StateStore
from gateway.adapter_setup import ADAPTER_START_SECONDS, open_adapter, raised_at
from gateway.config import ConfigError, GatewayConfig
from gateway.config_source import missing
from gateway.tokens import KEY_FILE, SigningKeyError, key_id, load_or_create_key, parse_key, read_key_text

log = logging.getLogger("vizmo_scim.app")

#: The longest host name or source kept in the shared record (paths can be long; the record is for people).
_MAX_RECORDED = 512


@dataclass(frozen=True)
class SigningKey:
    """A loaded key with its public id and where it came from; ``repr`` never shows the key."""

    secret: bytes = field(repr=False)
    key_id: str
    #: An absolute file path, or ``$NAME`` for an environment variable.
    source: str
    #: ``"data_dir"`` (``DATA_DIR/signing-key``), ``"file"`` or ``"env"`` (the ``[tokens]`` settings).
    kind: str


def load_signing_key(config: GatewayConfig, *, env: Mapping[str, str] | None = None,
                     create: bool = True) -> SigningKey:
    """This host's key, from ``[tokens]`` when set, else ``DATA_DIR/signing-key`` (created when
    missing, unless ``create`` is false: every command but ``serve``). :class:`SigningKeyError`
    (one line, never the key) when it cannot be used."""
    if config.signing_key_file is not None:
        path = Path(os.path.abspath(config.signing_key_file))
        return _with_id(read_key_file(path), str(path), "file")
    if config.signing_key_env is not None:
        name = config.signing_key_env
        text = (os.environ if env is None else env).get(name)
        if not text or not text.strip():
            raise SigningKeyError("[tokens] signing_key_env names an environment variable that is not set or empty "
                                  "(its name is not repeated: a key typed in its place would be): set it to the "
                                  "deployment's token-signing key (hex, at least 256 bits)")
        return _with_id(parse_key(text, f"the environment variable {name}"), f"${name}", "env")
    path = Path(os.path.abspath(config.data_dir / KEY_FILE))
    try:
        _refuse_if_shared(path, path.stat().st_mode)  # as for signing_key_file: whoever reads it forges tokens
    except FileNotFoundError:
        if not create:
            raise SigningKeyError(missing("token-signing key", path, config)) from None
    return _with_id(load_or_create_key(config.data_dir), str(path), "data_dir")


def read_key_file(path: Path) -> bytes:
    """The key in ``[tokens] signing_key_file``: an existing regular file that other local users
    can neither read nor write, holding hex of at least 256 bits."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SigningKeyError(f"[tokens] signing_key_file {path}: {exc.strerror}; the file must hold the "
                              "deployment's token-signing key (it is never created)") from None
    if not stat.S_ISREG(mode):
        raise SigningKeyError(f"[tokens] signing_key_file {path} is not a regular file")
    _refuse_if_shared(path, mode)
    try:
        return read_key_text(path)
    except FileNotFoundError:
        raise SigningKeyError(f"[tokens] signing_key_file {path} disappeared while being read") from None


def _refuse_if_shared(path: Path, mode: int) -> None:
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise SigningKeyError(f"the token-signing key file {path} is readable or writable by other local users "
                              f"({stat.filemode(mode)}); restrict it with chmod o-rwx (or chmod 600)")


def _with_id(secret: bytes, source: str, kind: str) -> SigningKey:
    """The key, with where it came from as UTF-8 text: a path whose bytes are not UTF-8 (a
    Latin-1 folder name) is kept with those bytes escaped, since the shared record stores text
    (it was an unexplained ``UnicodeEncodeError`` from the SQLite state store; a config review)."""
    shown = os.fsencode(source).decode("utf-8", "backslashreplace")
    return SigningKey(secret=secret, key_id=key_id(secret), source=shown, kind=kind)


async def claim_key(state: StateStore, key: SigningKey, *, refusing: str, host: str | None = None) -> None:
    """Record ``key`` as the deployment's key if no key is recorded yet; :class:`SigningKeyError`
    if another key is: "refusing <refusing>: ..." saying what to copy where."""
    here = (host or socket.gethostname())[:_MAX_RECORDED]
    recorded = await state.claim_signing_key(
        SigningKeyRecord(key_id=key.key_id, host=here, source=key.source[:_MAX_RECORDED]))
    if recorded.key_id != key.key_id:
        raise SigningKeyError(f"refusing {refusing}: {mismatch_message(key, recorded, here)}")
    log.info("token-signing key %s (key id %s) is the deployment's", key.source, key.key_id)


async def claim_deployment_key(config: GatewayConfig, key: SigningKey, *, refusing: str) -> None:
    """Open the configured storage (creating its tables), :func:`claim_key` on its state store,
    and close it: ``serve``'s check after it binds its port and before it forks its workers,
    where a storage that cannot start is refused on one line naming the adapter."""
    try:
        opened = await open_adapter(config)
    except AdapterError as exc:
        raise ConfigError(f"adapter {config.adapter_name!r} could not start: {exc}") from None
    try:
        async with asyncio.timeout(ADAPTER_START_SECONDS):
            await claim_key(opened.state, key, refusing=refusing)
    except TimeoutError:
        raise ConfigError(f"the state store of adapter {config.adapter_name!r} did not record the signing key within "
                          f"{ADAPTER_START_SECONDS:g} s") from None
    except (AdapterError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's state store broke: one line, not a traceback
        raise ConfigError(f"the state store of adapter {config.adapter_name!r} failed: {raised_at(exc)}") from None
    finally:
        await opened.close()


def mismatch_message(key: SigningKey, recorded: SigningKeyRecord, here: str) -> str:
    """One line: this host's key and id, the deployment's id, where that key was first used, and
    how to give this host that key (for a host whose own key changed: to put it back)."""
    origin = f"{recorded.source} on host {recorded.host}"
    mine = f"the environment variable {key.source[1:]}" if key.kind == "env" else key.source
    head = (f"this host's token-signing key ({mine}, key id {key.key_id}) is not the deployment's (key id "
            f"{recorded.key_id}, recorded in the shared state on {recorded.recorded_at}, first used from {origin}), "
            "so every token would be refused here")
    if (recorded.host, recorded.source) == (here, key.source):
        restore = (f"set {key.source[1:]} to the deployment's key again" if key.kind == "env"
                   else f"put the deployment's key back in {key.source}")
        return f"{head}; the key there has changed since it was recorded: {restore} (from a backup or another host)"
    if key.kind == "env":
        fix = f"set {key.source[1:]} to the key in {origin}"
    else:
        fix = f"copy the key in {origin} to {key.source} on this host (chmod 600)"
    return f"{head}: {fix}, or give every host one key with [tokens] signing_key_file or signing_key_env"
