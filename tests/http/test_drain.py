"""The drain of a stopping worker (issue 16 §2), over real sockets on the gateway's own server:
a request under way is answered, and a keep-alive client's next request on its open connection
is answered with ``Connection: close`` and the connection closed, so the requests under way
reach zero and nothing acknowledged is cut off. (The SIGTERM that starts it is covered through
``vizmo-scim serve`` in tests/http/test_cli_serve.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gateway.serving import drain
from tests.support import GatewayEnv
from tests.polling import wait_until_async

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), headers, body


def _request(method: str, path: str, token: str, body: bytes = b"", declared: int | None = None) -> bytes:
    length = len(body) if declared is None else declared
    return (f"{method} /scim/v2/locations/1{path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/scim+json\r\nContent-Length: {length}\r\n\r\n").encode() + body


@pytest.mark.gen_test(timeout=30)
async def test_a_draining_worker_answers_the_request_under_way_and_closes_kept_alive_connections(
        app: Any, http_server: Any, http_port: int, gateway_env: GatewayEnv) -> None:
    token = gateway_env.tokens[1]
    kept_reader, kept_writer = await asyncio.open_connection("127.0.0.1", http_port)
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        await _drain_with_a_request_under_way(app, http_server, gateway_env, token, (kept_reader, kept_writer),
                                              (slow_reader, slow_writer))
    finally:
        kept_writer.close()
        slow_writer.close()


async def _drain_with_a_request_under_way(app: Any, http_server: Any, gateway_env: GatewayEnv, token: str,
                                          kept: Any, slow: Any) -> None:
    (kept_reader, kept_writer), (slow_reader, slow_writer) = kept, slow
    kept_writer.write(_request("GET", "/Users", token))
    status, headers, _ = await _read_answer(kept_reader)
    assert status == 200 and headers.get("connection") != "close"  # kept alive

    body = json.dumps({"schemas": [CORE], "userName": "drained@contoso.com"}).encode()
    slow_writer.write(_request("POST", "/Users", token, body[:10], declared=len(body)))
    await wait_until_async(lambda: app.inflight == 1)  # under way: its body not complete

    draining = asyncio.ensure_future(drain(app, http_server, seconds=20))
    await wait_until_async(lambda: app.draining)
    kept_writer.write(_request("GET", "/Users", token))  # the open connection, while draining
    status, headers, _ = await _read_answer(kept_reader)
    assert status == 200 and headers["connection"] == "close"
    assert await kept_reader.read() == b""  # and the server closed it
    assert not draining.done()  # the POST is still under way

    slow_writer.write(body[10:])
    status, headers, answer = await _read_answer(slow_reader)
    assert status == 201 and json.loads(answer)["userName"] == "drained@contoso.com"
    await asyncio.wait_for(draining, 10)
    assert app.inflight == 0
    rows = gateway_env.sql("SELECT COUNT(*) AS n FROM employees WHERE email = ?", ("drained@contoso.com",))
    assert rows[0]["n"] == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_request_still_under_way_at_the_bound_is_cut_off_and_counted_in_a_warning(
        app: Any, http_server: Any, http_port: int, gateway_env: GatewayEnv, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        body = json.dumps({"schemas": [CORE], "userName": "never@contoso.com"}).encode()
        writer.write(_request("POST", "/Users", gateway_env.tokens[1], body[:10], declared=len(body)))
        await wait_until_async(lambda: app.inflight == 1)  # its body never completes
        with caplog.at_level("WARNING", logger="vizmo_scim"):
            await asyncio.wait_for(drain(app, http_server, seconds=0.2), 10)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed without an answer
        assert "1 request(s) still under way after 0.2 s are cut off" in caplog.text
    finally:
        writer.close()
    rows = gateway_env.sql("SELECT COUNT(*) AS n FROM employees WHERE email = ?", ("never@contoso.com",))
    assert rows[0]["n"] == 0


@pytest.mark.gen_test(timeout=30)
async def test_a_request_that_arrives_while_the_connections_close_runs_nothing(
        app: Any, http_server: Any, http_port: int, gateway_env: GatewayEnv) -> None:
    """The stop closes the connections one by one: a request that came meanwhile on an idle
    keep-alive one ran, committed, and lost its answer when its connection's turn came (a
    scale-out review: a 201 stored, the client disconnected, its retry a 409). It is now a 503
    that ran nothing; the client sends it again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        writer.write(_request("GET", "/Users", gateway_env.tokens[1]))
        assert (await _read_answer(reader))[0] == 200  # an idle keep-alive connection now
        app.draining = app.closing = True  # the phase drain() enters once nothing is under way
        body = json.dumps({"schemas": [CORE], "userName": "late@contoso.com"}).encode()
        writer.write(_request("POST", "/Users", gateway_env.tokens[1], body))
        status, headers, answer = await _read_answer(reader)
        assert status == 503 and headers["retry-after"] == "1" and headers["connection"] == "close", answer
        assert json.loads(answer)["status"] == "503" and await reader.read() == b""
    finally:
        writer.close()
    assert gateway_env.sql("SELECT COUNT(*) AS n FROM employees WHERE email = ?", ("late@contoso.com",))[0]["n"] == 0
    app.draining = app.closing = False
    await asyncio.wait_for(drain(app, http_server, seconds=1), 10)
    assert app.closing  # set by drain itself before it closes the connections
