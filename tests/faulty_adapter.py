"""The file-backed example adapter with one fault switched on by its ``fault`` option, for the
tests of how the gateway bounds and reports a plugin's faults (``tests/gateway/test_adapter_faults.py``).
Named in a configuration as ``[adapter] name = "tests.faulty_adapter:FaultyAdapter"``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from adapters.examples.json_file import JsonFileAdapter
from adapters.sqlite_state import SqliteStateStore
from adapters.state import StateStore

FAULTS = ("start_hangs", "stop_hangs", "enable_raises")


class _EnableRaises(SqliteStateStore):
    async def enable(self, tenant: str) -> str:
        raise RuntimeError("the plugin's state store broke")


class FaultyAdapter(JsonFileAdapter):
    """:class:`JsonFileAdapter` with ``fault``: its ``start()`` or ``stop()`` never returns, or its
    state store's ``enable`` raises a plain ``RuntimeError``."""

    options_schema: ClassVar[Mapping[str, Any]] = {
        **JsonFileAdapter.options_schema,
        "properties": {**JsonFileAdapter.options_schema["properties"], "fault": {"enum": list(FAULTS)}},
    }

    def __init__(self, path: Path | str, tenants: list[str], *, fault: str, create_if_missing: bool = False) -> None:
        super().__init__(path, tenants, create_if_missing=create_if_missing)
        self.fault = fault

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "FaultyAdapter":
        return cls(options["path"], options["tenants"], fault=options["fault"],
                   create_if_missing=bool(options.get("create_if_missing")))

    async def start(self) -> None:
        if self.fault == "start_hangs":
            await asyncio.Event().wait()
        await super().start()

    async def stop(self) -> None:
        if self.fault == "stop_hangs":
            await asyncio.Event().wait()
        await super().stop()

    def state_store(self) -> StateStore | None:
        return _EnableRaises(self.path.with_suffix(".state.db")) if self.fault == "enable_raises" else None
