"""The HTTP layer of :mod:`gateway.exchange` over raw sockets: keep-alive, 405 with Allow,
bodyless answers, malformed requests, handler failures and the in-flight count."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway.app import make_app
from gateway.handlers.base import ScimHandler
from gateway.routing import RouteTable, tenant_route
from tests.support import GatewayEnv, Scim

TENANT = "/scim/v2/locations/1"


class _Reader:
    """HTTP/1.1 answers read off one open connection."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def answer(self, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout=10)
        status_line, *lines = raw.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), timeout=10) if length else b""
        return int(status_line.split()[1]), headers, body


@pytest.fixture
def url(http_server: Any, base_url: str) -> str:
    """The base URL of the running gateway (``http_server`` starts it)."""
    return base_url


async def _open(url: str) -> tuple[_Reader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    return _Reader(reader), writer


def _request(method: str, target: str, token: str | None, *, host: str = "gateway.test",
             body: bytes | None = None, extra: str = "") -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    if host:
        lines.append(f"Host: {host}")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/scim+json", f"Content-Length: {len(body)}"]
    head = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
    return head.encode("latin-1") + (body or b"")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


Answer = tuple[int, dict[str, str], bytes]


async def _send(url: str, *requests: bytes, heads: tuple[int, ...] = ()) -> list[Answer]:
    """Send ``requests`` on one connection and read one answer each (``heads``: the indexes
    of HEAD requests, whose answers have no body)."""
    answers, writer = await _open(url)
    try:
        writer.write(b"".join(requests))
        await writer.drain()
        return [await answers.answer(head=number in heads) for number in range(len(requests))]
    finally:
        await _close(writer)


async def _create(scim: Scim, user: str) -> dict[str, Any]:
    reply = await scim("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                          "userName": user})
    assert reply.status == 201, reply.body
    return dict(reply.body)


@pytest.mark.gen_test
async def test_one_connection_carries_several_requests_and_their_answers_in_order(
        url: str, gateway_env: GatewayEnv, scim: Scim) -> None:
    alice = await _create(scim, "alice@contoso.example")
    token = gateway_env.tokens[1]
    patch = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": "Host"}]}).encode()
    first, second, third = await _send(
        url, _request("GET", f"{TENANT}/Users/{alice['id']}", token),
        _request("PATCH", f"{TENANT}/Users/{alice['id']}", token, body=patch),
        _request("GET", f"{TENANT}/Users?filter=userName+eq+%22alice@contoso.example%22", token))
    assert [first[0], second[0], third[0]] == [200, 200, 200]
    assert "title" not in json.loads(first[2])
    assert json.loads(second[2])["title"] == "Host"
    assert json.loads(third[2])["Resources"][0]["title"] == "Host"
    for _, headers, _ in (first, second, third):
        assert headers["content-type"] == "application/scim+json"
        assert headers["date"].endswith(" GMT") and len(headers["x-request-id"]) == 16
        assert headers.get("connection", "").lower() != "close"


@pytest.mark.gen_test
async def test_a_method_an_endpoint_lacks_is_a_scim_405_naming_the_allowed_ones(
        url: str, gateway_env: GatewayEnv) -> None:
    (status, headers, body), (head_status, head_headers, head_body) = await _send(
        url, _request("DELETE", f"{TENANT}/Users", gateway_env.tokens[1]),
        _request("HEAD", f"{TENANT}/Users", gateway_env.tokens[1]), heads=(1,))
    assert status == 405 and headers["allow"] == "GET, POST"
    error = json.loads(body)
    assert error["status"] == "405" and "DELETE is not supported" in error["detail"]
    assert head_status == 405 and head_headers["allow"] == "GET, POST" and head_body == b""


@pytest.mark.gen_test
async def test_without_a_token_the_method_is_not_revealed_either(url: str) -> None:
    [(status, headers, _)] = await _send(url, _request("DELETE", f"{TENANT}/Users", None))
    assert status == 401 and "allow" not in headers and headers["www-authenticate"].startswith("Bearer")


@pytest.mark.gen_test
async def test_delete_answers_204_without_a_body_or_representation_headers(
        url: str, gateway_env: GatewayEnv, scim: Scim) -> None:
    bob = await _create(scim, "bob@contoso.example")
    deleted, after = await _send(  # the connection stays usable after a bodyless answer
        url, _request("DELETE", f"{TENANT}/Users/{bob['id']}", gateway_env.tokens[1]),
        _request("GET", f"{TENANT}/Users/{bob['id']}", gateway_env.tokens[1]))
    assert deleted[0] == 204 and deleted[2] == b""
    assert "content-length" not in deleted[1] and "content-type" not in deleted[1]
    assert after[0] == 404 and json.loads(after[2])["status"] == "404"


@pytest.mark.gen_test
async def test_a_request_without_a_host_header_gets_a_scim_400(url: str) -> None:
    [(status, headers, body)] = await _send(url, _request("GET", "/healthz", None, host=""))
    assert status == 400 and headers["content-type"] == "application/scim+json"
    error = json.loads(body)
    assert error["scimType"] == "invalidSyntax" and "Host" in error["detail"]


@pytest.mark.gen_test
@pytest.mark.parametrize("target", [f"{TENANT}/Users/%FF%FE", f"{TENANT}/Users?filter=userName+eq+%22%FF%22"])
async def test_text_that_is_not_utf8_in_the_url_is_a_scim_400(url: str, gateway_env: GatewayEnv,
                                                              target: str) -> None:
    [(status, _, body)] = await _send(url, _request("GET", target, gateway_env.tokens[1]))
    error = json.loads(body)
    assert status == 400 and error["scimType"] == "invalidValue" and "UTF-8" in error["detail"]


@pytest.mark.gen_test
async def test_query_values_are_stripped_and_control_characters_blanked(scim: Scim) -> None:
    await _create(scim, "carol@contoso.example")
    reply = await scim("GET", "/Users?filter=%20userName+eq%01%22carol@contoso.example%22%20")
    assert reply.status == 200 and reply.body["totalResults"] == 1


class _BrokenHandler(ScimHandler):
    """A handler with a bug, on a route of its own (``/Broken``)."""

    async def get(self, location: str) -> None:
        raise KeyError("secret detail that must not reach the client")

    async def post(self, location: str) -> None:
        """Returns without recording an answer."""

    async def put(self, location: str) -> None:
        """Records an answer that cannot be written (a header value with a line break)."""
        self.set_header("X-Broken", "one\r\ntwo")
        self.finish({})


@pytest.fixture
def app(gateway_env: GatewayEnv) -> Any:
    """The gateway's application with one extra, deliberately broken endpoint."""
    application = make_app(gateway_env.ctx)
    application.routes = RouteTable([tenant_route("Broken", _BrokenHandler), *application.routes.routes],
                                    fallback=application.routes.fallback)
    return application


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_handler_failure_is_a_scim_500_with_its_request_id_and_no_trace(
        scim: Scim, method: str, caplog: pytest.LogCaptureFixture) -> None:
    reply = await scim(method, "/Broken", {} if method == "POST" else None)
    assert reply.status == 500
    request_id = reply.headers["X-Request-Id"]
    assert reply.body == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "500",
                          "detail": f"Internal error (request id {request_id})."}
    traced = [r for r in caplog.records if r.exc_info and request_id in r.getMessage()]
    assert len(traced) == 1  # the trace is logged once, with the id the client saw


@pytest.mark.gen_test
async def test_a_client_gone_mid_body_leaves_nothing_in_flight(url: str, gateway_env: GatewayEnv) -> None:
    assert gateway_env.ctx.inflight == 0
    _, writer = await _open(url)
    head = _request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=b"x" * 100)
    writer.write(head[:-90])  # the headers and the first 10 of 100 body bytes
    await writer.drain()
    deadline = asyncio.get_running_loop().time() + 5
    while gateway_env.ctx.inflight != 1:
        assert asyncio.get_running_loop().time() < deadline, "the request never started"
        await asyncio.sleep(0.01)
    await _close(writer)
    while gateway_env.ctx.inflight != 0:
        assert asyncio.get_running_loop().time() < deadline, "the request stayed in flight"
        await asyncio.sleep(0.01)


@pytest.mark.gen_test
async def test_an_answer_that_cannot_be_written_closes_the_connection_instead_of_hanging(
        url: str, gateway_env: GatewayEnv, caplog: pytest.LogCaptureFixture) -> None:
    answers, writer = await _open(url)
    try:
        writer.write(_request("PUT", f"{TENANT}/Broken", gateway_env.tokens[1], body=b"{}"))
        await writer.drain()
        assert await asyncio.wait_for(answers.reader.read(), timeout=5) == b""  # closed, nothing sent
    finally:
        await _close(writer)
    assert any("could not be written" in r.getMessage() for r in caplog.records)
    assert gateway_env.ctx.inflight == 0
