"""The web layer (Tornado's, as the gateway configures it) over real sockets: keep-alive, 405
with Allow, bodyless answers, malformed requests, handler failures, early answers that close
the connection honestly, the idle and body timeouts, and the in-flight count."""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

from tornado.routing import PathMatches, Rule
from tornado.testing import bind_unused_port

from gateway.app import TENANT as TENANT_PATTERN
from gateway.app import make_app, make_server
from gateway.handlers.base import ScimHandler
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
async def test_head_is_answered_wherever_get_is_with_its_headers_and_no_body(
        url: str, gateway_env: GatewayEnv, scim: Scim) -> None:
    """RFC 9110 §9.3.2 (a review found 405 for HEAD beside every SCIM GET). The answers share one
    connection, so a body written after a HEAD's headers would be read as the next answer."""
    alice = await _create(scim, "alice.head@contoso.example")
    token = gateway_env.tokens[1]
    head, get, config, bulk = await _send(
        url, _request("HEAD", f"{TENANT}/Users/{alice['id']}", token),
        _request("GET", f"{TENANT}/Users/{alice['id']}", token),
        _request("HEAD", f"{TENANT}/ServiceProviderConfig", token),
        _request("HEAD", f"{TENANT}/Bulk", token), heads=(0, 2, 3))
    assert (head[0], get[0], config[0], bulk[0]) == (200, 200, 200, 501)
    assert head[2] == b"" and json.loads(get[2])["userName"] == "alice.head@contoso.example"
    assert head[1]["etag"] == get[1]["etag"] == alice["meta"]["version"]
    assert int(head[1]["content-length"]) == len(get[2])
    assert head[1]["content-type"] == "application/scim+json"


@pytest.mark.gen_test
async def test_a_method_an_endpoint_lacks_is_a_scim_405_naming_the_allowed_ones(
        url: str, gateway_env: GatewayEnv) -> None:
    (status, headers, body), (head_status, head_headers, head_body) = await _send(
        url, _request("DELETE", f"{TENANT}/Users", gateway_env.tokens[1]),
        _request("HEAD", f"{TENANT}/Users/.search", gateway_env.tokens[1]), heads=(1,))
    assert status == 405 and headers["allow"] == "GET, HEAD, POST"
    error = json.loads(body)
    assert error["status"] == "405" and "DELETE is not supported" in error["detail"]
    assert head_status == 405 and head_headers["allow"] == "POST" and head_body == b""


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/Groups", "/Groups/some-group"])
async def test_the_groups_allow_names_only_what_is_served(url: str, gateway_env: GatewayEnv, path: str) -> None:
    """``OPTIONS /Groups`` offered the four writes, each of which is a ``501`` (a docs review)."""
    write = "POST" if path == "/Groups" else "DELETE"
    (options, allowed, _), (written, refused, body) = await _send(
        url, _request("OPTIONS", f"{TENANT}{path}", gateway_env.tokens[1]),
        _request(write, f"{TENANT}{path}", gateway_env.tokens[1], body=b"{}"))
    assert (options, allowed["allow"]) == (405, "GET, HEAD")
    assert written == 501 and "allow" not in refused
    assert "Provision Microsoft Entra ID Groups" in json.loads(body)["detail"]


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
async def test_query_values_are_stripped_and_control_characters_refused(scim: Scim) -> None:
    """A control character is refused, not blanked: blanked, ``"a%00"`` searched for ``"a "``
    (found by fuzzing), where ``.search`` refuses the same text."""
    await _create(scim, "carol@contoso.example")
    reply = await scim("GET", "/Users?filter=%20userName+eq+%22carol@contoso.example%22%20")
    assert reply.status == 200 and reply.body["totalResults"] == 1
    for query in ("filter=userName+eq+%22carol@contoso.example%00%22", "filter=userName+eq%01%22a%22",
                  "sortBy=userName%00", "attributes=userName%1f", "count=1%00"):
        refused = await scim("GET", f"/Users?{query}")
        assert refused.status == 400 and refused.body["scimType"] == "invalidValue", (query, refused.body)
        assert "control character" in refused.body["detail"]


class _BrokenHandler(ScimHandler):
    """A handler with a bug, on a route of its own (``/Broken``)."""

    async def get(self, location: str) -> None:
        raise KeyError("secret detail that must not reach the client")

    async def post(self, location: str) -> None:
        """Returns without writing an answer: Tornado finishes it (an empty 200)."""

    async def put(self, location: str) -> None:
        """Sets a header value with a line break, which Tornado refuses."""
        self.set_header("X-Broken", "one\r\ntwo")


@pytest.fixture
def app(gateway_env: GatewayEnv) -> Any:
    """The gateway's application with one extra, deliberately broken endpoint in front."""
    application = make_app(gateway_env.ctx)
    router = application.wildcard_router
    kwargs = {"service": gateway_env.ctx.service, "max_body_bytes": gateway_env.ctx.config.max_body_bytes}
    router.rules.insert(0, router.process_rule(Rule(PathMatches(TENANT_PATTERN + "Broken/*"), _BrokenHandler, kwargs)))
    return application


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_a_handler_failure_is_a_scim_500_with_its_request_id_and_no_trace(
        scim: Scim, method: str, caplog: pytest.LogCaptureFixture) -> None:
    reply = await scim(method, "/Broken", {} if method == "PUT" else None)
    assert reply.status == 500
    request_id = reply.headers["X-Request-Id"]
    assert reply.body == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "500",
                          "detail": f"Internal error (request id {request_id})."}
    traced = [r for r in caplog.records if r.exc_info and request_id in r.getMessage()]
    assert len(traced) == 1  # the trace is logged once, with the id the client saw
    assert "secret detail" not in json.dumps(reply.body)
    access = [r for r in caplog.records if r.name == "vizmo_scim.access" and request_id in r.getMessage()]
    assert [r.levelname for r in access] == ["ERROR"]


@pytest.mark.gen_test
async def test_a_501_for_an_endpoint_not_offered_is_an_info_access_line(scim: Scim,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Writes to /Groups answer 501 by design: a line at INFO, not an ERROR an operator must chase."""
    caplog.set_level(logging.INFO)
    reply = await scim("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                           "displayName": "Hosts"})
    assert reply.status == 501, reply.body
    access = [r for r in caplog.records if r.name == "vizmo_scim.access" and reply.headers["X-Request-Id"]
              in r.getMessage()]
    assert [r.levelname for r in access] == ["INFO"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "a 501 is no warning either"


@pytest.mark.gen_test
async def test_an_email_in_the_path_never_reaches_the_access_line(scim: Scim, caplog: pytest.LogCaptureFixture) -> None:
    """Personal data is never logged at INFO (issue 16 §1): a client that puts a userName where
    the id goes gets its 404, and the access line shows that segment redacted."""
    caplog.set_level(logging.INFO)
    for path in ("/Users/priya.k@example.com", "/Users/priya.k%40example.com"):
        reply = await scim("GET", path)
        assert reply.status == 404
        [line] = [r for r in caplog.records if r.name == "vizmo_scim.access"
                  and reply.headers["X-Request-Id"] in r.getMessage()]
        assert "priya" not in line.getMessage() and "/Users/[redacted]" in line.getMessage()
        assert line.request["path"].endswith("/Users/[redacted]")  # the JSON log's field too
    assert "priya" not in caplog.text


@pytest.mark.gen_test
async def test_an_email_where_the_location_goes_never_reaches_the_log(scim: Scim, gateway_env: GatewayEnv,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The access line redacted an email in the location's place, and the token refusal's line
    beside it quoted the segment whole (a tenant-isolation review)."""
    caplog.set_level(logging.INFO)
    for location in ("zelda.secret@pii.example", "zelda.secret%40pii.example"):
        reply = await scim("GET", "/Users", location=location, token=gateway_env.tokens[1])
        assert reply.status == 401
    assert "refused a Secret Token for location '[redacted]'" in caplog.text
    assert "zelda" not in caplog.text


@pytest.mark.gen_test
async def test_a_client_gone_mid_body_leaves_nothing_in_flight(url: str, gateway_env: GatewayEnv, app: Any) -> None:
    assert app.inflight == 0
    _, writer = await _open(url)
    head = _request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=b"x" * 100)
    writer.write(head[:-90])  # the headers and the first 10 of 100 body bytes
    await writer.drain()
    deadline = asyncio.get_running_loop().time() + 5
    while app.inflight != 1:
        assert asyncio.get_running_loop().time() < deadline, "the request never started"
        await asyncio.sleep(0.01)
    await _close(writer)
    while app.inflight != 0:
        assert asyncio.get_running_loop().time() < deadline, "the request stayed in flight"
        await asyncio.sleep(0.01)


def _live_scim_handlers() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if isinstance(thing, ScimHandler))


@pytest.mark.gen_test
@pytest.mark.parametrize("ending", ["client-leaves", "bad-chunk-size", "bad-chunk-size-without-token"])
async def test_a_body_cut_short_or_badly_framed_lets_go_of_the_handler_and_its_buffer(
        url: str, gateway_env: GatewayEnv, app: Any, ending: str) -> None:
    """A request whose body never completes (the client leaves, or Tornado drops the connection
    over bad chunked framing) must not keep its handler and the body read so far: those stayed
    in memory until the process stopped, a megabyte a request, even on a path that asks for no
    token (found by fuzzing: 200 such requests took a worker from 45 to 288 MB)."""
    before = _live_scim_handlers()
    answers, writer = await _open(url)
    chunk = b"x" * 65536
    try:
        if ending == "client-leaves":
            writer.write(_request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=chunk)[:-100])
        else:
            target = f"{TENANT}/Users" if ending == "bad-chunk-size" else "/anything"
            token = gateway_env.tokens[1] if ending == "bad-chunk-size" else None
            head = _request("POST", target, token, extra="Transfer-Encoding: chunked\r\n")
            writer.write(head + b"%x\r\n" % len(chunk) + chunk + b"\r\nzz\r\n")
        await writer.drain()
        if ending == "client-leaves":
            deadline = asyncio.get_running_loop().time() + 5
            while app.inflight != 1:
                assert asyncio.get_running_loop().time() < deadline, "the request never started"
                await asyncio.sleep(0.01)
        else:
            status, _, _ = await answers.answer()  # Tornado's own answer to bad framing
            assert status == 400
            assert await _closed_within(answers.reader, 10)
    finally:
        await _close(writer)
    deadline = asyncio.get_running_loop().time() + 5
    while _live_scim_handlers() > before or app.inflight:
        assert asyncio.get_running_loop().time() < deadline, "the handler of the cut request is still alive"
        await asyncio.sleep(0.05)


@pytest.mark.gen_test
@pytest.mark.parametrize("first", ["no-token", "declared-too-large", "url-too-long"])
async def test_an_early_answer_says_connection_close_and_the_next_request_gets_its_own(
        url: str, gateway_env: GatewayEnv, io_loop: Any, first: str) -> None:
    """Two requests on one ``http.client`` connection: the first is answered before its body is
    read, so the server closes the connection, and says so; the client's second request then
    goes on a new connection and gets its own answer (not ``RemoteDisconnected``)."""
    token = gateway_env.tokens[1]

    def exchange() -> tuple[int, str, int]:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            headers = {"Content-Type": "application/scim+json", "Authorization": f"Bearer {token}"}
            target, body = f"{TENANT}/Users", b'{"schemas": []}'
            if first == "no-token":
                headers.pop("Authorization")
            elif first == "declared-too-large":
                headers["Content-Length"] = str(2 * 1024 * 1024)
            else:
                target += "?filter=" + "a" * 10_000
            conn.putrequest("POST", target)
            for name, value in headers.items():
                conn.putheader(name, value)
            if "Content-Length" not in headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            status, connection = response.status, response.getheader("Connection", "")
            response.read()
            conn.request("GET", f"{TENANT}/Users", headers={"Authorization": f"Bearer {token}"})
            second = conn.getresponse()
            second.read()
            return status, connection, second.status
        finally:
            conn.close()

    status, connection, second = await io_loop.run_in_executor(None, exchange)
    assert status == {"no-token": 401, "declared-too-large": 413, "url-too-long": 414}[first]
    assert connection.lower() == "close"
    assert second == 200


# -- Tornado's own limits and timeouts, as the gateway sets them ----------------------------

@pytest.fixture
def short_timeouts(app: Any, gateway_env: GatewayEnv, io_loop: Any) -> Any:
    """The gateway on a server of its own with a 1 s idle and a 0.5 s body timeout."""
    sock, port = bind_unused_port()
    server = make_server(app, gateway_env.ctx.config, idle_timeout=1.0, body_timeout=0.5)
    server.add_socket(sock)
    yield f"http://127.0.0.1:{port}"
    server.stop()
    io_loop.run_sync(server.close_all_connections)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), timeout=seconds) == b""
    except asyncio.TimeoutError:
        return False


@pytest.mark.gen_test
async def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(short_timeouts: str) -> None:
    answers, writer = await _open(short_timeouts)
    try:
        assert await _closed_within(answers.reader, 10)
    finally:
        await _close(writer)


@pytest.mark.gen_test
async def test_keep_alive_requests_within_the_idle_timeout_keep_the_connection(
        short_timeouts: str, gateway_env: GatewayEnv) -> None:
    answers, writer = await _open(short_timeouts)
    try:
        for _ in range(3):
            writer.write(_request("GET", f"{TENANT}/Users", gateway_env.tokens[1]))
            await writer.drain()
            status, headers, _ = await answers.answer()
            assert status == 200 and headers.get("connection", "").lower() != "close"
            await asyncio.sleep(0.5)  # half the idle timeout between requests
        assert await _closed_within(answers.reader, 10)  # then idle: closed
    finally:
        await _close(writer)


@pytest.mark.gen_test
async def test_a_body_that_stalls_is_dropped_after_the_body_timeout_and_nothing_is_written(
        short_timeouts: str, gateway_env: GatewayEnv, app: Any) -> None:
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "slow@x.io"}).encode()
    answers, writer = await _open(short_timeouts)
    try:
        writer.write(_request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=body)[:-10])
        await writer.drain()
        assert await _closed_within(answers.reader, 10)
    finally:
        await _close(writer)
    assert gateway_env.sql("SELECT count(*) FROM employees WHERE email = 'slow@x.io'")[0][0] == 0
    deadline = asyncio.get_running_loop().time() + 5
    while app.inflight:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


def test_an_answer_that_json_cannot_hold_is_refused_not_sent() -> None:
    """A NaN beside an integer wider than 64 bits (which only the stdlib's path encodes) went out
    as ``NaN``, which no strict JSON parser reads (RFC 8259 §6; an SDK review)."""
    from gateway.handlers.base import encode_json
    assert encode_json({"big": 2 ** 70}) == b'{"big":1180591620717411303424}'
    with pytest.raises(ValueError):
        encode_json({"big": 2 ** 70, "x": float("nan")})
