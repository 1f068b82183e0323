"""Finding adapters: entry point group ``vizmo_scim.adapters`` (built-ins are registered the same
way as third-party ones), names matched case-insensitively, ``module:Class`` for development."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from adapters.base import Adapter

GROUP = "vizmo_scim.adapters"


class AdapterNotFound(LookupError):
    """No installed adapter has that name (the message lists the installed names), or its code
    cannot be imported (the message names the entry point and the exception, on one line)."""


def installed_adapters() -> dict[str, EntryPoint]:
    """Installed adapters by lower-cased name."""
    return {ep.name.lower(): ep for ep in entry_points(group=GROUP)}


def load_adapter_class(name: str) -> type[Adapter]:
    """The adapter class registered as ``name``, or named ``module:Class``."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:  # any error raised while importing the module
            raise AdapterNotFound(f"cannot load adapter {name!r}: {one_line(exc)}") from None
    else:
        entry = installed_adapters().get(name.lower())
        if entry is None:
            names = ", ".join(sorted(installed_adapters())) or "none"
            raise AdapterNotFound(f"[adapter] name: no adapter named {name!r}; installed adapters: {names}")
        found = load_entry_point(entry)
    if not (isinstance(found, type) and issubclass(found, Adapter)):
        raise AdapterNotFound(f"{name!r} is not an adapters.base.Adapter subclass")
    return found


def load_entry_point(entry: EntryPoint) -> object:
    """What ``entry`` names; :class:`AdapterNotFound` naming the entry point and the exception on
    one line when importing it fails (a broken plugin, a missing dependency of it)."""
    try:
        return entry.load()
    except Exception as exc:
        raise AdapterNotFound(f"cannot load the adapter plugin {entry.name} = {entry.value} (entry point group "
                              f"{GROUP}): {one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, its first line only."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def path_options(schema: Mapping[str, Any]) -> list[str]:
    """The options an adapter's ``options_schema`` marks as file paths (``"format": "path"``): the
    gateway resolves them against the configuration file's folder when they are relative."""
    properties = schema.get("properties", {})
    return [name for name, spec in properties.items() if isinstance(spec, Mapping) and spec.get("format") == "path"]
