"""Shared fixtures: a real directory database file, a real gateway app over real HTTP."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory
from gateway.app import make_app, make_server
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key
from tests.serving import Server
from tests.support import PUBLIC_BASE_URL, GatewayEnv, Reply, Scim

#: The throwaway PostgreSQL server fixtures (pg_cluster, pg_dsn, pg_directory_dsn, ...).
pytest_plugins = ["tests.pg_cluster"]


@pytest.fixture
def gateway_env(tmp_path: Path, io_loop: Any) -> Any:
    data_dir = tmp_path / "data"
    directory = data_dir / "directory.db"
    data_dir.mkdir()
    create_directory(directory)
    conn = sqlite3.connect(directory, isolation_level=None)
    conn.execute("INSERT INTO locations (id, company_id, name) VALUES (2, 1, 'Pune')")
    conn.close()
    adapter = VizmoSqliteAdapter(directory)
    io_loop.run_sync(adapter.start)
    state = adapter.state_store()
    io_loop.run_sync(state.start)
    codec = TokenCodec(load_or_create_key(data_dir))
    tokens = {loc: codec.issue(loc, io_loop.run_sync(lambda: state.enable(str(loc)))) for loc in (1, 2)}
    ctx = GatewayContext(config=GatewayConfig(data_dir=data_dir, base_url=PUBLIC_BASE_URL), adapter=adapter, state=state,
                         tokens=codec)
    yield GatewayEnv(data_dir, directory, adapter, state, codec, ctx, tokens)
    io_loop.run_sync(ctx.close)
    io_loop.run_sync(state.close)
    io_loop.run_sync(adapter.stop)


@pytest.fixture
def app(gateway_env: GatewayEnv) -> Any:
    return make_app(gateway_env.ctx)


@pytest.fixture
def http_server(io_loop: Any, _unused_port: Any, app: Any) -> Any:
    """The gateway's own HTTP server (its limits and timeouts, as ``vizmo-scim serve`` builds it)
    in place of pytest-tornado's plain one."""
    server = make_server(app, app.settings["gateway_config"])
    server.add_socket(_unused_port[0])
    yield server
    server.stop()
    io_loop.run_sync(server.close_all_connections)


@pytest.fixture
def scim(http_client: Any, base_url: str, gateway_env: GatewayEnv) -> Scim:
    """``await scim("GET", "/Users?filter=...", body=..., location=1)``: a request to a tenant."""

    async def call(method: str, path: str, body: Any = None, *, location: int | str = 1,
                   token: str | None = None, headers: dict[str, str] | None = None,
                   raw: bytes | None = None) -> Reply:
        all_headers = {"Content-Type": "application/scim+json"}
        if token is None and isinstance(location, int) and location in gateway_env.tokens:
            token = gateway_env.tokens[location]
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b""
        url = f"{base_url}/scim/v2/locations/{location}{path}"
        response = await http_client.fetch(url, method=method, body=payload, headers=all_headers,
                                           raise_error=False, allow_nonstandard_methods=True)
        text = response.body.decode() if response.body else ""
        parsed = json.loads(text) if text else None
        return Reply(response.code, parsed, response.headers)

    return call


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """``vizmo-scim serve`` processes a test starts (append them): killed at its end if still running."""
    started: list[Server] = []
    yield started
    for srv in started:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop(signal.SIGKILL)
