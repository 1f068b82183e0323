"""The commands that look without serving or opening storage: ``check-config`` (the file, the
adapter's options, the certificate, the metrics token, a given signing key) and ``adapters list``;
``serve`` makes the same :func:`startup_checks` before it opens anything."""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from adapters.registry import AdapterNotFound, installed_adapters, load_entry_point
from gateway.adapter_setup import build_adapter
from gateway.app import metrics_token
from gateway.certificates import expiry_warning, tls_context
from gateway.config import SETTING_VARIABLES, ConfigError, GatewayConfig, load_config
from gateway.signing_keys import load_signing_key

#: The distribution whose version ``vizmo-scim --version`` prints.
DISTRIBUTION = "vizmo-scim-gateway"


def version() -> str:
    """The installed release's version (``unknown`` when run from a tree that was never installed)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def check_config(path: Path) -> int:
    """Validate the file and the adapter's options, as ``serve`` here would read them."""
    config = load_config(path)  # with the VIZMO_SCIM_* variables, as serve here would read it
    build_adapter(config)
    startup_checks(config)
    if config.signing_key_file is not None or config.signing_key_env is not None:
        load_signing_key(config, create=False)  # never DATA_DIR/signing-key: serve creates that one
    applied = [name for name in SETTING_VARIABLES if os.environ.get(name)]
    print(f"{path}: valid (adapter {config.adapter_name!r}, {config.processes} process(es), "
          f"listening on {config.host}:{config.port}"
          f"{'; with ' + ', '.join(applied) + ' from the environment' if applied else ''})")
    if config.certfile is not None and (warning := expiry_warning(config.certfile)) is not None:
        print(f"{path}: warning: {warning}", file=sys.stderr)
    return 0


def startup_checks(config: GatewayConfig) -> None:
    """The checks ``serve`` makes that need no storage: the certificate and its key, the
    ``[metrics]`` token (:func:`gateway.serving.serve`). ``check-config`` makes them too."""
    tls_context(config)
    try:
        metrics_token(config)
    except UnicodeError:
        where = (f"token_file {config.metrics.token_file}" if config.metrics.token_file is not None
                 else f"token_env {config.metrics.token_env}")
        raise ConfigError(f"[metrics] {where}: the token is not UTF-8 text") from None


def list_adapters(as_json: bool) -> int:
    """Print every installed adapter; a plugin that cannot be imported is one line on stderr
    (entry point and exception), the others are still listed, and the status is 1."""
    found, broken = [], []
    for name, entry in sorted(installed_adapters().items()):
        try:
            cls = load_entry_point(entry)
        except AdapterNotFound as exc:  # a broken plugin must not hide the others
            broken.append(str(exc))
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):  # named, as check-config names it
            broken.append(f"adapter {name!r} ({entry.value}) is not an adapters.base.Adapter subclass")
            continue
        schema: Any = cls.options_schema
        found.append({"name": name, "class": entry.value, "options_schema": dict(schema)})
    for line in broken:
        print(f"vizmo-scim: {line}", file=sys.stderr)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        for item in found:
            print(f"{item['name']}\t{item['class']}\n  options: {json.dumps(item['options_schema'])}")
    return 1 if broken else 0
