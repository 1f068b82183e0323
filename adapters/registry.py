"""Finding adapters: entry point group ``vizmo_scim.adapters`` (built-ins are registered the same
way as third-party ones), names matched case-insensitively, ``module:Class`` for development."""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points

from adapters.base import Adapter

GROUP = "vizmo_scim.adapters"


class AdapterNotFound(LookupError):
    """No installed adapter has that name; the message lists the installed names."""


def installed_adapters() -> dict[str, EntryPoint]:
    """Installed adapters by lower-cased name."""
    return {ep.name.lower(): ep for ep in entry_points(group=GROUP)}


def load_adapter_class(name: str) -> type[Adapter]:
    """The adapter class registered as ``name``, or named ``module:Class``."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise AdapterNotFound(f"cannot load adapter {name!r}: {exc}") from None
    else:
        entry = installed_adapters().get(name.lower())
        if entry is None:
            names = ", ".join(sorted(installed_adapters())) or "none"
            raise AdapterNotFound(f"no adapter named {name!r}; installed adapters: {names}")
        found = entry.load()
    if not (isinstance(found, type) and issubclass(found, Adapter)):
        raise AdapterNotFound(f"{name!r} is not an adapters.base.Adapter subclass")
    return found
