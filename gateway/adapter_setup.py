"""Opening the configured adapter and its state store (the storage side of a gateway process)."""

from __future__ import annotations

from dataclasses import dataclass

from jsonschema import Draft202012Validator

from adapters.base import Adapter
from adapters.registry import AdapterNotFound, load_adapter_class
from adapters.sqlite_state import SqliteStateStore
from adapters.state import StateStore
from gateway.config import ConfigError, GatewayConfig

STATE_FILE = "gateway-state.db"


@dataclass
class OpenAdapter:
    """A started adapter and the state store beside it."""

    adapter: Adapter
    state: StateStore

    async def close(self) -> None:
        await self.state.close()
        await self.adapter.stop()


def build_adapter(config: GatewayConfig) -> Adapter:
    """Load the adapter class and build it from its options, validated against its schema."""
    try:
        cls = load_adapter_class(config.adapter_name)
    except AdapterNotFound as exc:
        raise ConfigError(str(exc)) from None
    options = config.resolved_adapter_options()
    errors = list(Draft202012Validator(dict(cls.options_schema)).iter_errors(options))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "options"
        raise ConfigError(f"adapter {config.adapter_name!r}: {where}: {errors[0].message}")
    return cls.from_options(options)


async def open_adapter(config: GatewayConfig) -> OpenAdapter:
    """Start the adapter, then its state store (or a SQLite one in the data directory)."""
    adapter = build_adapter(config)
    await adapter.start()
    state = adapter.state_store()
    if state is None:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = SqliteStateStore(config.data_dir / STATE_FILE)
    try:
        await state.start()
    except BaseException:
        await adapter.stop()
        raise
    return OpenAdapter(adapter=adapter, state=state)
