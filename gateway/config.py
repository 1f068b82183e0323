"""The gateway's settings: defaults < TOML file < environment (``VIZMO_SCIM_*``) < command-line flags.

The file is read and validated against ``schemas/config.schema.json`` in :mod:`gateway.config_file`
(which defines :class:`ConfigError`, raised here too); the adapter's options against the
adapter's own ``options_schema``. Secrets never live here: the token-signing key is a file in the
data directory unless ``[tokens]`` names a file or an environment variable holding it, and adapters
read credentials from environment variables or files named in options.
"""

from __future__ import annotations

import math
import os
import re
import socket
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.activity.journal import ActivitySettings
from gateway.config_file import ConfigError, read_file
from gateway.forwarded import trusted_networks
from gateway.logs import redact
from gateway.scim.limits import Limits

DEFAULT_DATA_DIR = Path("vizmo-scim-data")
#: Requests per second (and burst) one location may send one worker: far above Entra ID's 25 per
#: second per location, so Entra is never throttled in normal use.
DEFAULT_RATE_LIMIT = 200.0
DEFAULT_RATE_BURST = 400
#: Seconds an adapter call may take before the request answers 503 with Retry-After.
DEFAULT_ADAPTER_TIMEOUT = 15.0
#: Open client connections per worker (gateway.connection_cap): far above what Entra ID opens (a
#: few per location), about a quarter of a gigabyte when all are idle.
DEFAULT_MAX_CONNECTIONS = 10_000
MAX_BODY_BYTES = 1024 * 1024
#: The longest request-target answered normally; a longer one gets a SCIM 414 (send a long filter
#: in the body of POST /.search instead, RFC 7644 §3.4.3).
MAX_URL_BYTES = 8 * 1024
#: The largest header section (names and values) answered normally; a larger one gets a SCIM 431.
MAX_HEADER_BYTES = 64 * 1024
#: How much of a request line and header section the server reads at all: up to here an
#: oversized request is read whole and answered 414/431; past it the connection is closed
#: unanswered (Tornado's ``max_header_size``), as any server must stop reading somewhere.
HEADER_READ_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: where ``GET /metrics`` is served. On a separate listener (``port``, on
    ``host``, loopback by default), with the bearer token when one is set too; on the main port
    only with the bearer token read from ``token_file`` or the variable ``token_env``; with
    neither a port nor a token it is not served."""

    port: int | None = None
    host: str = "127.0.0.1"
    token_file: Path | None = None
    token_env: str | None = None


@dataclass(frozen=True)
class GatewayConfig:
    """Frozen settings of one gateway deployment."""

    data_dir: Path = DEFAULT_DATA_DIR
    directory: Path | None = None        # embedded SQLite directory; default data_dir/directory.db
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None          # public origin for meta.location, e.g. https://scim.example.com
    processes: int = 1                   # worker processes, each on the port (SO_REUSEPORT)
    max_body_bytes: int = MAX_BODY_BYTES  # RFC 7644 §3.12 413 above this
    max_results: int = 200               # ServiceProviderConfig filter.maxResults
    limits: Limits = Limits()            # the work one request may ask for ([limits])
    activity: ActivitySettings = ActivitySettings()  # the provisioning activity log ([activity])
    adapter_name: str = "sqlite"
    adapter_options: Mapping[str, Any] = field(default_factory=dict)
    signing_key_file: Path | None = None  # [tokens]: the key (hex) in this file, never created
    signing_key_env: str | None = None    # [tokens]: the key (hex) in this environment variable
    certfile: Path | None = None          # [server]: serve HTTPS (TLS 1.2 or later) with this certificate
    keyfile: Path | None = None           # [server]: ... and this private key
    trusted_proxies: tuple[str, ...] = ()  # [server]: peers whose X-Forwarded-Proto/-Host are believed
    log_format: str = "text"              # [server]: "text" for a terminal, "json" for machines
    rate_limit: float = DEFAULT_RATE_LIMIT  # [limits] requests_per_second, per location and worker
    rate_burst: int = DEFAULT_RATE_BURST    # [limits] burst
    adapter_timeout: float = DEFAULT_ADAPTER_TIMEOUT  # [limits] adapter_timeout_seconds: then 503
    max_connections: int = DEFAULT_MAX_CONNECTIONS  # [limits] open connections per worker: then 503 and closed
    metrics: MetricsSettings = MetricsSettings()  # [metrics]
    config_file: Path | None = None       # the file read (absolute); its relative paths are resolved against its folder

    @property
    def public_base_url(self) -> str:
        """The origin of every Tenant URL, ``Location`` and ``meta.location``: ``base_url``, else
        the listener's own address (the machine's name when it listens on every interface).
        Never the request's ``Host`` header, which the client controls (issue 13 §5)."""
        if self.base_url:
            return self.base_url
        scheme = "https" if self.certfile is not None else "http"
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.getfqdn()
        elif ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def directory_path(self) -> Path:
        return self.directory if self.directory is not None else self.data_dir / "directory.db"

    def resolved_adapter_options(self) -> dict[str, Any]:
        """The adapter's options; the built-in SQLite adapter defaults to the embedded directory,
        created with a demo location when the default file is missing."""
        options = dict(self.adapter_options)
        if self.adapter_name.lower() == "sqlite" and "path" not in options:
            options["path"] = str(self.directory_path)
            options.setdefault("create_if_missing", self.directory is None)
        return options


def _from_file(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The file's settings; relative paths in it are resolved against ``base``, the file's folder
    (not the current directory, which differs between ``serve`` and a later command)."""
    server = data.get("server", {})
    adapter = data.get("adapter", {})
    values: dict[str, Any] = {k: server[k] for k in ("host", "port", "base_url", "processes", "max_body_bytes",
                                                     "log_format") if k in server}
    for key in ("certfile", "keyfile"):
        if key in server:
            values[key] = base / server[key]
    if "trusted_proxies" in server:
        values["trusted_proxies"] = tuple(server["trusted_proxies"])
    limits = data.get("limits", {})
    if limits:
        values["limits"] = Limits(**{k: v for k, v in limits.items()
                                     if k in ("max_patch_operations", "max_patch_values", "max_values",
                                              "max_resource_bytes")})
    for key, name in (("requests_per_second", "rate_limit"), ("burst", "rate_burst"),
                      ("adapter_timeout_seconds", "adapter_timeout"), ("max_connections", "max_connections")):
        if key in limits:
            values[name] = limits[key]
    if "metrics" in data:
        metrics = dict(data["metrics"])
        if "token_file" in metrics:
            metrics["token_file"] = base / metrics["token_file"]
        values["metrics"] = MetricsSettings(**metrics)
    if "activity" in data:
        values["activity"] = ActivitySettings(**dict(data["activity"]))
    if "data_dir" in data:
        values["data_dir"] = base / data["data_dir"]
    tokens = data.get("tokens", {})
    if "signing_key_file" in tokens:
        values["signing_key_file"] = base / tokens["signing_key_file"]
    if "signing_key_env" in tokens:
        values["signing_key_env"] = tokens["signing_key_env"]
    if "name" in adapter:
        values["adapter_name"] = adapter["name"]
        values["adapter_options"] = dict(adapter.get("options", {}))
    return values


#: The bounds of every whole-number setting that a flag or variable can set, as the file schema
#: has them (``[server] port``, ``processes``; ``[limits] burst``): (lowest, highest or None).
#: The slowest rate: one request per 100 s (1e-300 answered a Retry-After of 301 digits: a
#: configuration review), and the largest burst (a flag of more digits was refused, the file's taken).
MIN_RATE_LIMIT = 0.01
MAX_RATE_BURST = 1_000_000_000
_WHOLE: dict[str, tuple[int, int | None]] = {"port": (0, 65535), "processes": (1, 64),
                                             "rate_burst": (1, MAX_RATE_BURST)}
#: A whole number as a flag or variable must write it: ASCII digits only (``int()`` would also take
#: other scripts' digits, underscores, a sign and surrounding white space).
_DIGITS = re.compile(r"[0-9]{1,20}")
#: A decimal number: ASCII digits with an optional fraction and exponent (never ``nan``/``inf``).
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What names a setting in a message: the file's key and its flag.
_NAMES = {"port": "[server] port (--port)", "processes": "[server] processes (--processes)",
          "rate_burst": "[limits] burst (--rate-burst)", "rate_limit": "[limits] requests_per_second (--rate-limit)",
          "adapter_timeout": "[limits] adapter_timeout_seconds", "base_url": "[server] base_url (--base-url)"}


def _bounds(low: int, high: int | None) -> str:
    return f"from {low} to {high}" if high is not None else f"of {low} or more"


def whole_number(text: str, where: str, low: int, high: int | None) -> int:
    """``text`` as a whole number within ``low``..``high`` (:class:`ConfigError` naming ``where``)."""
    if _DIGITS.fullmatch(text) is None or int(text) < low or (high is not None and int(text) > high):
        raise ConfigError(f"{where} must be a whole number {_bounds(low, high)}, written in the digits 0-9; "
                          f"got {text[:40]!r}")
    return int(text)


def decimal_number(text: str, where: str) -> float:
    """``text`` as a finite decimal number (:class:`ConfigError` naming ``where``)."""
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number written in the digits 0-9 (e.g. 25 or 2.5); "
                          f"got {text[:40]!r}")
    return value


def check_base_url(url: str, where: str) -> str:
    """``url`` if it is an http(s) origin with a host (and an optional path), with no white space
    or control characters: it is written into every ``Location`` header and Tenant URL."""
    problem = None
    if any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in url):
        problem = "it contains white space or control characters"
    elif "\\" in url:  # browsers read it as "/": https://evil.example\.scim.example.com went to evil.example
        problem = "it contains a backslash"
    else:
        match = re.fullmatch(r"https?://([^/?#]+)(/[^?#]*)?", url)
        if match is None:
            problem = "it is not an http:// or https:// URL (with no query or fragment)"
        else:
            try:
                parts = urlsplit(url)
                if parts.port == 0:  # also raises ValueError for a malformed port
                    raise ValueError("port 0")
                hostname = parts.hostname
            except ValueError:
                problem = "its host or port is malformed"
            else:
                if "@" in match.group(1) or not hostname:
                    problem = "it names no host (or holds a user name)"
    if problem is not None:
        raise ConfigError(f"{where} must be the gateway's public origin, e.g. https://scim.example.com, but "
                          f"{problem}; got {redact(repr(url))[:80]}")  # (a password in it is not shown)
    return url


#: The ``VIZMO_SCIM_*`` variables that set a setting (an empty one sets nothing).
SETTING_VARIABLES = tuple(f"VIZMO_SCIM_{suffix}" for suffix in ("DATA_DIR", "DIRECTORY", "HOST", "PORT", "PROCESSES",
                                                                 "BASE_URL"))


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings :data:`SETTING_VARIABLES` give."""
    values: dict[str, Any] = {}
    converters = {"DATA_DIR": ("data_dir", Path), "DIRECTORY": ("directory", Path), "HOST": ("host", str)}
    for suffix, (name, convert) in converters.items():
        raw = env.get(f"VIZMO_SCIM_{suffix}")
        if raw and not raw.strip():
            raise ConfigError(f"VIZMO_SCIM_{suffix} holds only white space; unset it or give a value")
        if raw:
            values[name] = convert(raw)
    for suffix, name in (("PORT", "port"), ("PROCESSES", "processes")):
        raw = env.get(f"VIZMO_SCIM_{suffix}")
        if raw:
            values[name] = whole_number(raw, f"VIZMO_SCIM_{suffix}", *_WHOLE[name])
    raw = env.get("VIZMO_SCIM_BASE_URL")
    if raw:
        values["base_url"] = check_base_url(raw, "VIZMO_SCIM_BASE_URL")
    return values


def _flag(name: str, value: Any) -> Any:
    """A flag's value. Text from the command line is parsed and checked here, so that a flag is
    refused as the same setting in the file is (a :class:`ConfigError`: one line, exit status 1)."""
    if not isinstance(value, str):
        return value
    flag = "--" + name.replace("_", "-")
    if name in _WHOLE:
        return whole_number(value, flag, *_WHOLE[name])
    if name == "rate_limit":  # the one decimal setting with a flag
        return decimal_number(value, flag)
    if name == "base_url":
        return check_base_url(value, flag)
    return value


def _check_numbers(config: GatewayConfig) -> None:
    """Whatever the source, the numbers within the file schema's bounds and every float finite."""
    for name, (low, high) in _WHOLE.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise ConfigError(f"{_NAMES[name]} must be a whole number {_bounds(low, high)}; got {value!r}")
    for name in ("rate_limit", "adapter_timeout"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{_NAMES[name]} must be a finite number; got {value!r}")
    if not 0 < config.adapter_timeout <= 600:
        raise ConfigError(f"{_NAMES['adapter_timeout']} must be above 0 and at most 600 seconds; "
                          f"got {config.adapter_timeout!r}")


def load_config(file: Path | None = None, *, env: Mapping[str, str] | None = None,
                **flags: Any) -> GatewayConfig:
    """Defaults, then the file, then ``VIZMO_SCIM_*`` variables, then flags (``None`` = not given)."""
    values: dict[str, Any] = {}
    if file is not None:
        file = Path(os.path.abspath(file))
        values.update(_from_file(read_file(file), file.parent), config_file=file)
    values.update(_from_environment(os.environ if env is None else env))
    values.update({k: _flag(k, v) for k, v in flags.items() if v is not None})
    if values.get("directory") is not None and str(values.get("adapter_name", "sqlite")).lower() == "sqlite":
        # --directory or VIZMO_SCIM_DIRECTORY over the file's [adapter.options] path: the later source
        # wins, as for every setting (the file's path was served while the start line named the flag's).
        values["adapter_options"] = {k: v for k, v in values.get("adapter_options", {}).items()
                                     if k not in ("path", "create_if_missing")}
    config = GatewayConfig(**values)
    _check_numbers(config)
    if config.base_url is not None:
        check_base_url(config.base_url, _NAMES["base_url"])
        config = replace(config, base_url=config.base_url.rstrip("/"))
    if config.signing_key_file is not None and config.signing_key_env is not None:
        raise ConfigError("[tokens]: set signing_key_file or signing_key_env, not both")
    try:
        trusted_networks(config.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"[server] {exc}") from None
    if (config.certfile is None) != (config.keyfile is None):
        raise ConfigError("HTTPS needs both a certificate and its key ([server] certfile and keyfile, or "
                          "--certfile and --keyfile)")
    if config.log_format not in ("text", "json"):
        raise ConfigError(f"log format must be 'text' or 'json', not {config.log_format!r}")
    if config.rate_limit < MIN_RATE_LIMIT:  # (the burst's bounds are checked with the other whole numbers)
        raise ConfigError(f"{_NAMES['rate_limit']} must be at least {MIN_RATE_LIMIT:g} requests per second; "
                          f"got {config.rate_limit:g}")
    if config.metrics.token_file is not None and config.metrics.token_env is not None:
        raise ConfigError("[metrics]: set token_file or token_env, not both")
    return config
