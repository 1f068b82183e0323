"""Test support types shared by the fixtures in conftest.py and the tests."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.state import StateStore
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec


#: The public origin of the test gateways: not the address the tests connect to, so every
#: Location and meta.location shows it came from the configuration, not from the request.
PUBLIC_BASE_URL = "https://scim.example.test"


@dataclass
class GatewayEnv:
    """A gateway over a fresh directory with locations 1 (Delhi) and 2 (Pune), both enabled."""

    data_dir: Path
    directory: Path
    adapter: VizmoSqliteAdapter
    state: StateStore
    codec: TokenCodec
    ctx: GatewayContext
    tokens: dict[int, str]

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run SQL on the directory as the portal would (a separate connection, autocommit)."""
        conn = sqlite3.connect(self.directory, isolation_level=None, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(query, params).fetchall()
        finally:
            conn.close()


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any


Scim = Callable[..., Awaitable[Reply]]
