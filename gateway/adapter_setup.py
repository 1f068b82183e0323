"""Opening the configured adapter and its state store (the storage side of a gateway process).

``create=False`` is every command but ``serve``: it uses the storage the gateway created and
creates none (no directory database, no ``DATA_DIR/gateway-state.db``; see
:mod:`gateway.config_source`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from adapters.base import Adapter
from adapters.errors import AdapterError
from adapters.registry import AdapterNotFound, load_adapter_class, path_options
from adapters.sqlite_state import SqliteStateStore
from adapters.state import StateStore
from gateway.config import ConfigError, GatewayConfig
from gateway.config_file import SECRET_NAME, StrictValidator
from gateway.config_source import missing
from gateway.logs import redact

STATE_FILE = "gateway-state.db"
#: How long an adapter's ``start()`` (with its state store's) may take, and its ``stop()``: one that
#: hung held ``serve`` for ever with its port open, answering nothing (an SDK review).
ADAPTER_START_SECONDS = 60.0
ADAPTER_STOP_SECONDS = 10.0

log = logging.getLogger("vizmo_scim.app")


async def stopped(what: str, stop: Awaitable[None]) -> None:
    """``await stop`` within :data:`ADAPTER_STOP_SECONDS`; past it a WARNING, and the caller goes on."""
    try:
        async with asyncio.timeout(ADAPTER_STOP_SECONDS):
            await stop
    except TimeoutError:
        log.warning("%s did not stop within %g s; going on without it", what, ADAPTER_STOP_SECONDS)


@dataclass
class OpenAdapter:
    """A started adapter and the state store beside it."""

    adapter: Adapter
    state: StateStore

    async def close(self) -> None:
        await stopped("the state store", self.state.close())
        await stopped(f"the adapter {type(self.adapter).__name__}", self.adapter.stop())


def adapter_options(config: GatewayConfig, cls: type[Adapter]) -> dict[str, Any]:
    """The adapter's options as it gets them: options its schema marks ``"format": "path"``
    resolved against the configuration file's folder when relative (README: Configuration)."""
    options = config.resolved_adapter_options()
    if config.config_file is not None:
        for key in path_options(cls.options_schema):
            if isinstance(config.adapter_options.get(key), str):
                options[key] = str(config.config_file.parent / config.adapter_options[key])
    return options


def build_adapter(config: GatewayConfig, *, create: bool = True) -> Adapter:
    """Load the adapter class and build it from its options, validated against its schema.

    Options the schema marks ``"format": "path"`` are resolved against the configuration
    file's folder when relative. ``create=False`` turns the SQLite adapter's
    ``create_if_missing`` off."""
    try:
        cls = load_adapter_class(config.adapter_name)
    except AdapterNotFound as exc:
        raise ConfigError(str(exc)) from None
    options = adapter_options(config, cls)
    if (isinstance(options.get("path"), str) and "create_if_missing" in dict(cls.options_schema).get("properties", {})
            and Path(options["path"]).exists() and not Path(options["path"]).is_file()):
        raise ConfigError(f"the directory database {options['path']} is not a file (a folder?): set "
                          "[adapter.options] path, --directory or VIZMO_SCIM_DIRECTORY to the SQLite file")
    if not create and "create_if_missing" in dict(cls.options_schema).get("properties", {}):
        options["create_if_missing"] = False
        if isinstance(options.get("path"), str) and not Path(options["path"]).is_file():
            raise ConfigError(missing("directory database", Path(options["path"]), config))
    if cls.capabilities is not None and cls.capabilities.single_process and config.processes > 1:
        raise ConfigError(f"adapter {config.adapter_name!r} serves one process only (its Capabilities say "
                          f"single_process), so it cannot run {config.processes} processes: set processes = 1 "
                          f"([server] processes, --processes or VIZMO_SCIM_PROCESSES)")
    errors = list(StrictValidator(dict(cls.options_schema)).iter_errors(options))
    if errors:
        raise ConfigError(f"adapter {config.adapter_name!r}: {_option_error(errors[0])}")
    _check_secret_files(config.adapter_name, options, config.adapter_options)
    try:
        return cls.from_options(options)
    except (AdapterError, ConfigError):
        raise  # the adapter's own words
    except Exception as exc:  # noqa: BLE001 - a bug in a plugin: one line naming it, not a traceback
        raise ConfigError(f"adapter {config.adapter_name!r}: from_options failed: {raised_at(exc)}") from None




def _option_error(error: Any) -> str:
    """One option's refusal: where, and what, without the value of an option that may hold a
    secret (a DSN with its password typed into ``dsn_env`` was echoed on stderr: an SDK review),
    the value of any other redacted as log lines are (``gateway.logs.redact``)."""
    where = ".".join(str(p) for p in error.absolute_path) or "options"
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("not", "oneOf") and described:
        return f"{where}: {described}"
    if SECRET_NAME.search(where):
        rule = f"{error.validator} {error.validator_value!r}"[:200]
        return f"{where}: the value (not shown: it may be a secret) does not meet its rule: {rule}"
    return f"{where}: {redact(error.message)}"


def raised_at(exc: BaseException) -> str:
    """``Type: message (at file.py:line)``: what a plugin raised, on one line, with the place in
    its own code (the last frame of the trace) for the integrator to look at."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300] + where


#: Options of the bundled adapters naming a file that holds one secret line of text (read by the
#: adapter when it starts: adapters/vizmo_postgres/db.py, adapters/ldap/options.py).
SECRET_TEXT_FILES = ("dsn_file", "bind_password_file")


#: A URL's start (``postgresql://``, ``ldaps://``): the secret itself, typed where its file is named.
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _check_secret_files(adapter_name: str, options: dict[str, Any], given: Mapping[str, Any]) -> None:
    """A secret file named by a URL (the DSN typed into ``dsn_file``: ``serve`` printed it, password
    and all, as a file it could not read: a security review), or one that exists but is not UTF-8
    text: one line naming the option, never the secret (the adapters' own readers would raise
    UnicodeDecodeError)."""
    for key in SECRET_TEXT_FILES:
        if any(isinstance(v, str) and _URL_START.match(v.strip()) for v in (given.get(key), options.get(key))):
            raise ConfigError(f"adapter {adapter_name!r}: {key} holds a URL (not repeated here): it names the file "
                              "that holds the secret, not the secret itself; put the secret in a file readable by "
                              "the gateway alone and name that file")
        value = options.get(key)
        if not isinstance(value, str) or not Path(value).is_file():
            continue  # a missing file is reported by the adapter itself, when it starts
        try:
            Path(value).read_bytes().decode("utf-8")
        except OSError:
            continue
        except UnicodeDecodeError as exc:
            raise ConfigError(f"adapter {adapter_name!r}: {key} {value} is not UTF-8 text (byte {exc.start} "
                              "cannot be decoded)") from None


async def open_adapter(config: GatewayConfig, *, create: bool = True) -> OpenAdapter:
    """Start the adapter, then its state store (or a SQLite one in the data directory)."""
    adapter = build_adapter(config, create=create)
    try:
        async with asyncio.timeout(ADAPTER_START_SECONDS):
            await adapter.start()
    except (AdapterError, ConfigError):
        raise  # the adapter's own words (a worker tries again after Unavailable)
    except TimeoutError:
        raise ConfigError(f"adapter {config.adapter_name!r} did not start within {ADAPTER_START_SECONDS:g} s "
                          "(is its storage reachable?)") from None
    except Exception as exc:  # noqa: BLE001 - its store unreachable (OSError), or a bug in a plugin
        raise ConfigError(f"adapter {config.adapter_name!r} could not start: {raised_at(exc)}") from None
    try:
        state = adapter.state_store()
        if state is None:
            if not create and not (config.data_dir / STATE_FILE).is_file():
                raise ConfigError(missing("gateway state (kept for adapters without a state store)",
                                          config.data_dir / STATE_FILE, config))
            config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            state = SqliteStateStore(config.data_dir / STATE_FILE)
        async with asyncio.timeout(ADAPTER_START_SECONDS):
            await state.start()
    except BaseException as exc:
        await stopped(f"the adapter {config.adapter_name!r}", adapter.stop())
        if isinstance(exc, TimeoutError):
            raise ConfigError(f"the state store of adapter {config.adapter_name!r} did not start within "
                              f"{ADAPTER_START_SECONDS:g} s") from None
        if isinstance(exc, Exception) and not isinstance(exc, (AdapterError, ConfigError)):
            raise ConfigError(f"the state store of adapter {config.adapter_name!r} could not start: "
                              f"{raised_at(exc)}") from None
        raise
    return OpenAdapter(adapter=adapter, state=state)
