"""HTTP's own rules at the SCIM endpoints, over real sockets (an HTTP review): the ``Allow`` of a
method Tornado does not route, every method of an unknown path a ``404``, ``/Me`` a ``501``
(RFC 7644 §3.11), the absolute form of a request-target (RFC 9112 §3.2.2), a fragment refused,
HTTP/1.0 with ``Transfer-Encoding`` closed after its answer (RFC 9112 §6.1), nothing run after an
answer that closes its connection (§9.6), and a ``Content-Encoding`` refused (RFC 9110 §8.4.1).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from tests.http.test_web_layer import TENANT, _open, _request, _send, url  # noqa: F401 (url: a fixture)
from tests.support import GatewayEnv, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def _create(scim: Scim, user: str) -> dict[str, Any]:
    reply = await scim("POST", "/Users", {"schemas": [CORE], "userName": user, "title": "Host"})
    assert reply.status == 201, reply.body
    return dict(reply.body)


@pytest.mark.gen_test
async def test_a_method_tornado_does_not_route_names_the_endpoints_own_methods(url: str, scim: Scim,
                                                                              gateway_env: GatewayEnv) -> None:
    """TRACE was answered ``Allow: GET, POST, PUT, PATCH, DELETE`` on every endpoint, a list that
    named methods ``/Users`` refuses and left HEAD out (RFC 9110 §10.2.1)."""
    user = await _create(scim, "trace@contoso.example")
    token = gateway_env.tokens[1]
    [users] = await _send(url, _request("TRACE", f"{TENANT}/Users", token))  # (each closes its connection)
    [one] = await _send(url, _request("TRACE", f"{TENANT}/Users/{user['id']}", token))
    [config] = await _send(url, _request("TRACE", f"{TENANT}/ServiceProviderConfig", token))
    assert (users[0], users[1]["allow"]) == (405, "GET, HEAD, POST")
    assert (one[0], one[1]["allow"]) == (405, "GET, HEAD, PUT, PATCH, DELETE")
    assert (config[0], config[1]["allow"]) == (405, "GET, HEAD")
    assert json.loads(users[2])["detail"].startswith("TRACE is not supported")


@pytest.mark.gen_test
@pytest.mark.parametrize("method, target", [("FOO", f"{TENANT}/ServiceProviderConfig"), ("PROPFIND", f"{TENANT}/Users"),
                                            ("PROPFIND", "/nope")])
async def test_a_method_http_does_not_define_is_a_501(url: str, gateway_env: GatewayEnv, method: str,
                                                      target: str) -> None:
    """RFC 9110 §9.1: a method the server does not recognise SHOULD be a ``501`` (it was a
    ``405`` whose ``Allow`` offered methods, as if the method were known and refused there)."""
    [(status, headers, body)] = await _send(url, _request(method, target, gateway_env.tokens[1]))
    assert (status, "allow" in headers) == (501, False), (status, headers)
    error = json.loads(body)
    assert error["status"] == "501" and error["detail"] == f"{method} is not a method this server implements."


@pytest.mark.gen_test
@pytest.mark.parametrize("target", ["/nope", f"{TENANT}/Nothing", "/scim/v2/elsewhere"])
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "GET"])
async def test_every_method_of_a_path_without_an_endpoint_is_a_404(url: str, gateway_env: GatewayEnv,
                                                                   target: str, method: str) -> None:
    """OPTIONS (and TRACE) of an unknown path was a ``405`` whose ``Allow`` listed six methods
    that all answer ``404``."""
    [(status, headers, body)] = await _send(url, _request(method, target, gateway_env.tokens[1]))
    assert status == 404 and "allow" not in headers, (status, headers)
    assert json.loads(body)["status"] == "404"


@pytest.mark.gen_test
@pytest.mark.parametrize("method, path", [("GET", "/Me"), ("PATCH", "/Me"), ("DELETE", "/Me/x"), ("OPTIONS", "/Me"),
                                          ("OPTIONS", "/Bulk"), ("TRACE", "/Me"), ("TRACE", "/Bulk")])
async def test_me_is_a_scim_501_for_every_method(scim: Scim, method: str, path: str) -> None:
    """RFC 7644 §3.11: a service provider without ``/Me`` SHOULD answer ``501`` (it was a ``404``)."""
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"title": "x"}}]}
    answer = await scim(method, path, body if method == "PATCH" else None)
    assert answer.status == 501 and answer.body["status"] == "501", answer.body
    assert ("/Me is not supported" if path.startswith("/Me") else "bulk") in answer.body["detail"]
    assert "Allow" not in answer.headers  # (a 405 offered six methods that all answer 501: a code review)
    if method != "TRACE":  # (a method Tornado does not route is answered before authentication)
        assert (await scim(method, path, body if method == "PATCH" else None, token="not-a-token")).status == 401


@pytest.mark.gen_test
async def test_an_absolute_form_request_target_is_served(url: str, scim: Scim, gateway_env: GatewayEnv) -> None:
    """RFC 9112 §3.2.2: a server MUST accept the absolute form (it was a ``404``); its authority
    stands for ``Host``."""
    user = await _create(scim, "absolute@contoso.example")
    target = f"http://gateway.test{TENANT}/Users/{user['id']}?attributes=userName"
    [(status, _, body)] = await _send(url, _request("GET", target, gateway_env.tokens[1], host="other.test"))
    assert status == 200 and json.loads(body)["userName"] == "absolute@contoso.example"


@pytest.mark.gen_test
@pytest.mark.parametrize("target", ["http://[::1/scim/v2/locations/1/Users", "http://[zz]:1/scim/v2/locations/1/Users",
                                    "http:///scim/v2/locations/1/Users", "http://"])
async def test_an_absolute_form_target_without_a_readable_host_is_a_scim_400(url: str, gateway_env: GatewayEnv,
                                                                            target: str) -> None:
    """urllib's ValueError for ``[::1`` was uncaught: a traceback at ERROR and no answer (a code
    review); an empty host is no http URI (RFC 9110 §4.2.1)."""
    [(status, headers, body)] = await _send(url, _request("GET", target, gateway_env.tokens[1]))
    assert (status, headers["connection"]) == (400, "close")
    assert json.loads(body)["scimType"] == "invalidSyntax"


@pytest.mark.gen_test
async def test_a_fragment_in_the_request_target_is_a_scim_400(url: str, scim: Scim, gateway_env: GatewayEnv) -> None:
    """A raw ``#`` was read as part of the id (RFC 9112 §3.2: never part of a request-target)."""
    user = await _create(scim, "fragment@contoso.example")
    [(status, headers, body)] = await _send(url, _request("GET", f"{TENANT}/Users/{user['id']}#x",
                                                          gateway_env.tokens[1]))
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(body)["scimType"] == "invalidSyntax"


@pytest.mark.gen_test
async def test_http_1_0_with_transfer_encoding_is_answered_then_closed(url: str, scim: Scim,
                                                                      gateway_env: GatewayEnv) -> None:
    """RFC 9112 §6.1: such a message's framing is treated as faulty: the connection is closed after
    the answer, so a request after it (smuggled behind an HTTP/1.0 proxy) is never read."""
    user = await _create(scim, "old.proxy@contoso.example")
    token = gateway_env.tokens[1]
    body = json.dumps({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"title": "Lead"}}]}).encode()
    head = (f"PATCH {TENANT}/Users/{user['id']} HTTP/1.0\r\nHost: gateway.test\r\nAuthorization: Bearer {token}\r\n"
            "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Type: application/scim+json\r\n\r\n")
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    smuggled = (f"DELETE {TENANT}/Users/{user['id']} HTTP/1.0\r\nHost: gateway.test\r\n"
                f"Authorization: Bearer {token}\r\n\r\n").encode()
    answers, writer = await _open(url)
    try:
        writer.write(head.encode() + chunked + smuggled)
        await writer.drain()
        status, headers, _ = await answers.answer()
        assert status == 200 and headers.get("connection", "").lower() != "keep-alive", headers
        assert await asyncio.wait_for(answers.reader.read(), timeout=10) == b""  # closed: nothing more
    finally:
        writer.close()
    kept = await scim("GET", f"/Users/{user['id']}")
    assert kept.status == 200 and kept.body["title"] == "Lead"


@pytest.mark.gen_test
async def test_a_content_encoding_is_a_415_and_a_charset_label_is_not_consulted(scim: Scim) -> None:
    """A gzipped body was a 400 of invalid JSON; RFC 9110 §15.5.16 asks for 415 with
    ``Accept-Encoding``. A ``charset`` has no effect on JSON (RFC 8259 §11): a UTF-8 body labelled
    ISO-8859-1, as Java HTTP clients label theirs, is read as the UTF-8 it is."""
    user = await _create(scim, "charset@contoso.example")
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Café"}]}
    gzip = await scim("PATCH", f"/Users/{user['id']}", body, headers={"Content-Encoding": "gzip"})
    assert gzip.status == 415 and gzip.headers["Accept-Encoding"] == "identity", gzip.body
    assert (await scim("GET", f"/Users/{user['id']}")).body["title"] == "Host"
    for content_type in ("application/scim+json; charset=ISO-8859-1", 'application/json;charset="UTF-8"'):
        accepted = await scim("PATCH", f"/Users/{user['id']}", raw=json.dumps(body, ensure_ascii=False).encode(),
                              headers={"Content-Type": content_type, "Content-Encoding": "identity"})
        assert accepted.status == 200 and accepted.body["title"] == "Café", accepted.body


@pytest.mark.gen_test
@pytest.mark.parametrize("first", ["close", "refused-before-body"])
async def test_no_request_is_run_after_an_answer_that_closes_its_connection(url: str, scim: Scim,
                                                                           gateway_env: GatewayEnv,
                                                                           first: str) -> None:
    """RFC 9112 §9.6: after an answer with ``Connection: close`` a server MUST NOT process any
    further request received on that connection. Tornado closed the connection, then parsed the
    bytes already sent from its buffer: a DELETE pipelined behind a ``Connection: close`` GET, or
    behind a POST refused ``401`` before its body was read, deleted the user and its answer was
    lost."""
    user = await _create(scim, f"pipelined.{first}@contoso.example")
    token = gateway_env.tokens[1]
    delete = _request("DELETE", f"{TENANT}/Users/{user['id']}", token)
    if first == "close":
        sent = _request("GET", f"{TENANT}/Users/{user['id']}", token, extra="Connection: close\r\n") + delete
    else:
        sent = _request("POST", f"{TENANT}/Users", "not-a-token", body=b"{}") + delete
    answers, writer = await _open(url)
    try:
        writer.write(sent)
        await writer.drain()
        status, headers, _ = await answers.answer()
        assert (status, headers["connection"]) == (200 if first == "close" else 401, "close")
        assert await asyncio.wait_for(answers.reader.read(), timeout=10) == b""
    finally:
        writer.close()
    assert (await scim("GET", f"/Users/{user['id']}")).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("target, host", [("/healthz#x", "gateway.test"), ("/healthz", ""),
                                          ("http://[::1/healthz", "gateway.test")])
async def test_a_head_refused_before_any_handler_gets_its_headers_without_a_body(url: str, target: str,
                                                                                host: str) -> None:
    """Tornado refused to write the refusal's body after a HEAD: no answer at all, and a traceback
    at ERROR, for every HEAD the front door refused (a fuzzing review; RFC 9110 §9.3.2)."""
    answers, writer = await _open(url)
    try:
        writer.write(_request("HEAD", target, None, host=host))
        await writer.drain()
        status, headers, _ = await answers.answer(head=True)
        assert (status, headers["connection"], headers["content-type"]) == (400, "close", "application/scim+json")
        assert int(headers["content-length"]) > 0
        assert await asyncio.wait_for(answers.reader.read(), timeout=10) == b""  # no body, then closed
    finally:
        writer.close()


@pytest.mark.gen_test
@pytest.mark.parametrize("connection", ["keep-alive, close", "Close, TE"])
async def test_close_among_the_connection_options_closes_after_the_answer(url: str, scim: Scim,
                                                                         gateway_env: GatewayEnv,
                                                                         connection: str) -> None:
    """``Connection`` is a list of options (RFC 9110 §7.6.1); Tornado closed only for the whole
    value ``close``, so a request pipelined behind ``Connection: close, TE`` (Perl's LWP) ran."""
    user = await _create(scim, "options@contoso.example")
    token = gateway_env.tokens[1]
    sent = (_request("GET", f"{TENANT}/Users/{user['id']}", token, extra=f"Connection: {connection}\r\n")
            + _request("DELETE", f"{TENANT}/Users/{user['id']}", token))
    answers, writer = await _open(url)
    try:
        writer.write(sent)
        await writer.drain()
        status, headers, _ = await answers.answer()
        assert (status, headers["connection"]) == (200, "close")
        assert await asyncio.wait_for(answers.reader.read(), timeout=10) == b""
    finally:
        writer.close()
    assert (await scim("GET", f"/Users/{user['id']}")).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("target, extra", [
    ("http://svc:S3cretPassw0rd@gateway.test{path}", ""), ("http://gateway.test:abc{path}", ""),
    ("http://gateway.test:99999{path}", ""), ("http://gateway.test{path}", "Host: other.test\r\n")])
async def test_an_absolute_form_authority_is_held_to_the_host_rules(url: str, gateway_env: GatewayEnv,
                                                                   caplog: pytest.LogCaptureFixture,
                                                                   target: str, extra: str) -> None:
    """User information (RFC 9110 §4.2.4; its password reached the access log), a port that is
    no port, and a second Host (RFC 9112 §3.2) are each a 400, as they are in the Host header."""
    caplog.set_level(logging.INFO)
    path = f"{TENANT}/Users"
    [(status, _, body)] = await _send(url, _request("GET", target.format(path=path), gateway_env.tokens[1],
                                                    extra=extra))
    assert status == 400 and json.loads(body)["scimType"] == "invalidSyntax"
    assert "malformed request" in caplog.text and "S3cretPassw0rd" not in caplog.text


@pytest.mark.gen_test
@pytest.mark.parametrize("host", ["", "gateway test", "svc:Hunter2@gateway test", "gateway.test/x", "a.test,b.test"])
async def test_an_absolute_form_target_keeps_the_host_header_rules(url: str, gateway_env: GatewayEnv,
                                                                   caplog: pytest.LogCaptureFixture,
                                                                   host: str) -> None:
    """RFC 9112 §3.2: an HTTP/1.1 request without ``Host``, or with an invalid one, is a ``400``
    whatever the target's form (beside an absolute-form target both were served, a code review)."""
    caplog.set_level(logging.INFO)
    target = f"http://gateway.test{TENANT}/Users"
    [(status, _, body)] = await _send(url, _request("GET", target, gateway_env.tokens[1], host=host))
    assert status == 400 and json.loads(body)["scimType"] == "invalidSyntax", (status, body)
    assert "Hunter2" not in caplog.text


@pytest.mark.gen_test
@pytest.mark.parametrize("password", ["Hunter2Hunter2", "Hunt'er2", 'Hunt"er2', "Hunt er2", "Hunt/er2",
                                      "Hunt" + "p" * 300])
async def test_a_password_in_a_refused_host_header_stays_out_of_the_log(url: str, caplog: pytest.LogCaptureFixture,
                                                                        password: str) -> None:
    """Whatever characters the password holds (a quote, a space, a slash went to the log whole)."""
    caplog.set_level(logging.INFO)
    [(status, _, _)] = await _send(url, _request("GET", "/healthz", None, host=f"svc:{password}@gateway.test"))
    assert status == 400 and "malformed request" in caplog.text
    assert password not in caplog.text and "Hunt" not in caplog.text


@pytest.mark.gen_test
@pytest.mark.parametrize("expect", ["100-continue", "100-Continue"])
async def test_expect_100_continue_is_ignored_in_http_1_0(url: str, gateway_env: GatewayEnv, expect: str) -> None:
    """RFC 9110 §10.1.1: a server MUST ignore ``100-continue`` in an HTTP/1.0 request (Tornado
    sent ``HTTP/1.1 100`` to it, a status an HTTP/1.0 client cannot read)."""
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": f"expect10-{expect}@contoso.example"}).encode()
    head = _request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=body, extra=f"Expect: {expect}\r\n")
    answers, writer = await _open(url)
    try:
        writer.write(head.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1))
        await writer.drain()
        first = await asyncio.wait_for(answers.reader.readuntil(b"\r\n"), timeout=10)
        assert first.startswith(b"HTTP/1.1 201"), first
    finally:
        writer.close()


@pytest.mark.gen_test
async def test_expect_100_continue_is_read_in_any_case(url: str, scim: Scim, gateway_env: GatewayEnv) -> None:
    """Tornado sent its interim ``100`` for the exact value ``100-continue`` alone, so a client
    that waits for it before its body (``100-Continue``) waited out its own timeout."""
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "expect@contoso.example"})
    head = _request("POST", f"{TENANT}/Users", gateway_env.tokens[1], body=body.encode(),
                    extra="Expect: 100-Continue\r\n")
    answers, writer = await _open(url)
    try:
        writer.write(head[:-len(body)])  # the headers alone
        await writer.drain()
        interim = await asyncio.wait_for(answers.reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert interim.startswith(b"HTTP/1.1 100")
        writer.write(body.encode())
        await writer.drain()
        status, _, _ = await answers.answer()
        assert status == 201
    finally:
        writer.close()


@pytest.mark.gen_test
async def test_a_long_method_is_cut_in_the_access_line(url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A method of a megabyte was one access line of a megabyte (a fuzzing review)."""
    caplog.set_level(logging.INFO)
    [(status, _, _)] = await _send(url, _request("X" * 70_000, "/healthz", None))
    assert status == 501
    lines = [record.getMessage() for record in caplog.records if record.name == "vizmo_scim.access"]
    assert lines and all(len(line) < 400 for line in lines), [len(line) for line in lines]
