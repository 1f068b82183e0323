"""Idle and slow-body timeouts (:mod:`gateway.watchdog`) on the server ``vizmo-scim serve``
builds (:func:`gateway.app.make_server`), over raw sockets, with short limits."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from typing import Any

import pytest
import tornado.netutil

from gateway.app import ScimApplication, make_server
from gateway.watchdog import ConnectionWatchdog
from tests.support import GatewayEnv

TENANT = "/scim/v2/locations/1"
IDLE, BODY, SWEEP = 1.0, 0.5, 0.05


@pytest.fixture
def served(gateway_env: GatewayEnv, io_loop: Any) -> Any:
    """(port, app): the gateway served by ``make_server`` with short timeouts."""
    app = ScimApplication(gateway_env.ctx,
                          watchdog=ConnectionWatchdog(idle_timeout=IDLE, body_timeout=BODY, interval=SWEEP))
    server = make_server(app, max_body_size=4 << 20)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    yield sockets[0].getsockname()[1], app
    server.stop()
    io_loop.run_sync(server.close_all_connections)
    app.watchdog.stop()


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


def _get(token: str, path: str = "/Users?count=1") -> bytes:
    return (f"GET {TENANT}{path} HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer {token}\r\n\r\n"
            .encode())


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    body = await asyncio.wait_for(reader.readexactly(length), timeout=5)
    return int(head.split()[1]), body


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closed the connection (EOF), failing after ``limit``."""
    start = time.monotonic()
    assert await asyncio.wait_for(reader.read(), timeout=limit) == b""
    return time.monotonic() - start


@pytest.mark.gen_test
async def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(served: Any) -> None:
    port, app = served
    reader, writer = await _connect(port)
    try:
        waited = await _closed_after(reader, limit=IDLE + 2)
        assert IDLE - 0.05 <= waited <= IDLE + 1.0
        assert app.watchdog.watched == 0
    finally:
        writer.close()


@pytest.mark.gen_test
async def test_a_keep_alive_connection_stays_open_within_the_idle_timeout_and_closes_after_it(
        served: Any, gateway_env: GatewayEnv) -> None:
    port, _ = served
    reader, writer = await _connect(port)
    try:
        token = gateway_env.tokens[1]
        for _ in range(3):  # each request restarts the idle clock: 3 × IDLE / 2 outlasts one timeout
            await asyncio.sleep(IDLE / 2)
            writer.write(_get(token))
            status, body = await _answer(reader)
            assert status == 200 and json.loads(body)["totalResults"] == 0
        waited = await _closed_after(reader, limit=IDLE + 2)
        assert IDLE - 0.05 <= waited <= IDLE + 1.0
    finally:
        writer.close()


@pytest.mark.gen_test
async def test_connections_the_client_closes_are_forgotten_within_a_sweep(
        served: Any, gateway_env: GatewayEnv) -> None:
    """Tornado tells nobody when an idle connection ends; the sweep drops it, so a client that
    opens many short connections leaves no exchanges behind until their idle deadline."""
    port, app = served
    writers = []
    for send_a_request in (False, True, True):
        reader, writer = await _connect(port)
        writers.append(writer)
        if send_a_request:
            writer.write(_get(gateway_env.tokens[1]))
            assert (await _answer(reader))[0] == 200
    await asyncio.sleep(2 * SWEEP)
    assert app.watchdog.watched == 3  # each waits for its next request, well within the idle timeout
    for writer in writers:
        writer.close()
        await writer.wait_closed()
    await asyncio.sleep(4 * SWEEP)
    assert app.watchdog.watched == 0


@pytest.mark.gen_test
async def test_a_body_that_stalls_is_dropped_after_the_body_timeout_and_nothing_is_written(
        served: Any, gateway_env: GatewayEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vizmo_scim.app")
    port, app = served
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "slow@contoso.example"}).encode()
    head = (f"POST {TENANT}/Users HTTP/1.1\r\nHost: gateway.test\r\n"
            f"Authorization: Bearer {gateway_env.tokens[1]}\r\nContent-Type: application/scim+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    reader, writer = await _connect(port)
    try:
        writer.write(head + body[:10])
        await writer.drain()
        waited = await _closed_after(reader, limit=BODY + 2)  # no answer: the connection just closes
        assert BODY - 0.05 <= waited <= BODY + 1.0
    finally:
        writer.close()
    assert gateway_env.ctx.inflight == 0 and app.watchdog.watched == 0
    assert gateway_env.sql("SELECT count(*) FROM employees WHERE email = ?", ("slow@contoso.example",))[0][0] == 0
    assert any("the body did not arrive in time" in r.getMessage() for r in caplog.records)


@pytest.mark.gen_test
async def test_a_request_being_worked_on_has_no_deadline(served: Any, gateway_env: GatewayEnv) -> None:
    """From the end of the body to the answer nothing times out (the write lock is held by the
    portal longer than both timeouts here; the PATCH waits for it and then succeeds)."""
    port, app = served
    created = await _post_user(port, gateway_env, "busy@contoso.example")
    patch = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": "Host"}]}).encode()
    portal = sqlite3.connect(gateway_env.directory, isolation_level=None)
    portal.execute("BEGIN IMMEDIATE")  # the portal holds the write lock
    reader, writer = await _connect(port)
    try:
        writer.write((f"PATCH {TENANT}/Users/{created['id']} HTTP/1.1\r\nHost: gateway.test\r\n"
                      f"Authorization: Bearer {gateway_env.tokens[1]}\r\nContent-Type: application/scim+json\r\n"
                      f"Content-Length: {len(patch)}\r\n\r\n").encode() + patch)
        await writer.drain()
        await asyncio.sleep(IDLE + BODY + 3 * SWEEP)
        portal.execute("ROLLBACK")
        status, body = await _answer(reader)
        assert status == 200 and json.loads(body)["title"] == "Host"
    finally:
        portal.close()
        writer.close()
    assert app.watchdog.watched <= 1  # at most the connection's wait for its next request


async def _post_user(port: int, gateway_env: GatewayEnv, user: str) -> dict[str, Any]:
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user}).encode()
    reader, writer = await _connect(port)
    try:
        writer.write((f"POST {TENANT}/Users HTTP/1.1\r\nHost: gateway.test\r\n"
                      f"Authorization: Bearer {gateway_env.tokens[1]}\r\nContent-Type: application/scim+json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        status, answer = await _answer(reader)
        assert status == 201, answer
        return dict(json.loads(answer))
    finally:
        writer.close()
