"""Issue 16 over real HTTP, in process on a real SQLite directory: /healthz, /readyz, /metrics
(on the main port, with its bearer token), the per-location rate limit, refused tokens logged
with their reason (and never the token), and X-Forwarded-* believed from trusted proxies only."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import replace
from typing import Any

import jwt
import pytest

from gateway.app import make_app
from gateway.context import GatewayContext
from gateway.logs import redact
from gateway.tokens import TokenCodec
from tests.support import PUBLIC_BASE_URL, GatewayEnv

METRICS_TOKEN = "metrics-token-0123456789abcdef"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def app(gateway_env: GatewayEnv, io_loop: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The gateway with a small rate limit (3 at once, then 1 a second), a metrics token and
    one trusted proxy (this host)."""
    monkeypatch.setenv("VIZMO_TEST_METRICS_TOKEN", METRICS_TOKEN)
    base = gateway_env.ctx.config
    config = replace(base, rate_limit=1.0, rate_burst=3, trusted_proxies=("127.0.0.1/32",),
                     metrics=replace(base.metrics, token_env="VIZMO_TEST_METRICS_TOKEN"))
    ctx = GatewayContext(config=config, adapter=gateway_env.adapter, state=gateway_env.state, tokens=gateway_env.codec)
    yield make_app(ctx)
    io_loop.run_sync(ctx.close)


async def _get(http_client: Any, url: str, headers: dict[str, str] | None = None) -> Any:
    return await http_client.fetch(url, headers=headers or {}, raise_error=False)


@pytest.mark.gen_test
async def test_healthz_and_readyz_answer_ok_when_the_directory_answers(http_client: Any, base_url: str) -> None:
    for path in ("/healthz", "/readyz"):
        response = await _get(http_client, base_url + path)
        assert response.code == 200 and json.loads(response.body) == {"status": "ok"}, path
        probe = await http_client.fetch(base_url + path, method="HEAD", raise_error=False)  # some balancers
        assert probe.code == 200 and probe.body == b"", path


@pytest.mark.gen_test(timeout=60)
async def test_a_scrape_of_many_locations_metrics_leaves_the_worker_answering(http_client: Any, base_url: str,
                                                                              app: Any) -> None:
    """The text for a thousand locations took the event loop 0.6-1.7 s, and every request of the
    worker waited behind it (a review): it is built off the loop, so requests sent after the scrape
    are answered before it ends."""
    metrics = app.settings["default_handler_args"]["service"].metrics
    for location in range(1, 4001):
        for status in (200, 404):
            metrics.request(str(location), "GET", status, 0.01)
    finished: list[str] = []

    async def fetch(name: str, path: str, headers: dict[str, str] | None = None) -> Any:
        response = await _get(http_client, base_url + path, headers)
        finished.append(name)
        return response

    scrape = asyncio.ensure_future(fetch("scrape", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}))
    while app.inflight == 0:  # until the gateway has the scrape under way
        await asyncio.sleep(0.001)
    probes = [await fetch(f"probe {n}", "/healthz") for n in range(3)]
    response = await scrape
    assert all(probe.code == 200 for probe in probes) and response.code == 200
    assert finished == ["probe 0", "probe 1", "probe 2", "scrape"], finished
    assert response.body.count(b"vizmo_scim_requests_total{") >= 8000


@pytest.mark.gen_test
async def test_metrics_need_their_token_and_count_requests_by_location_method_and_status(
        http_client: Any, base_url: str, scim: Any, gateway_env: GatewayEnv) -> None:
    assert (await _get(http_client, base_url + "/metrics")).code == 401
    wrong = await _get(http_client, base_url + "/metrics", {"Authorization": "Bearer not-the-metrics-token"})
    assert wrong.code == 401
    scim_token = await _get(http_client, base_url + "/metrics", {"Authorization": f"Bearer {gateway_env.tokens[1]}"})
    assert scim_token.code == 401  # a Secret Token never opens /metrics

    assert (await scim("GET", "/Users")).status == 200
    assert (await scim("GET", "/Users/no-such-user")).status == 404
    assert (await scim("GET", "/Users", token="garbage")).status == 401

    response = await _get(http_client, base_url + "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.code == 200 and response.headers["Content-Type"].startswith("text/plain")
    text = response.body.decode()
    assert _sample(text, "vizmo_scim_requests_total", location="1", method="GET", status="200") == 1
    assert _sample(text, "vizmo_scim_requests_total", location="1", method="GET", status="404") == 1
    # the three refused scrapes and the SCIM request with a bad token: no location was authenticated
    assert _sample(text, "vizmo_scim_requests_total", location="-", method="GET", status="401") == 4
    assert _sample(text, "vizmo_scim_request_duration_seconds_count", location="1", method="GET") == 2
    assert _sample(text, "vizmo_scim_token_failures_total", reason="malformed") == 1
    assert _sample(text, "vizmo_scim_adapter_call_duration_seconds_count", operation="search") == 1
    assert _sample(text, "vizmo_scim_adapter_call_duration_seconds_count", operation="get") == 1
    # read as the SCIM endpoints read Authorization (one parser): the token alone, any case of the scheme
    for given, status in ((METRICS_TOKEN, 200), (f"bearer  {METRICS_TOKEN} ", 200), (f"Basic {METRICS_TOKEN}", 401)):
        assert (await _get(http_client, base_url + "/metrics", {"Authorization": given})).code == status, given


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name{labels}`` in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


@pytest.mark.gen_test
async def test_a_location_past_its_rate_limit_gets_429_with_retry_after_and_others_do_not(
        http_client: Any, base_url: str, scim: Any, gateway_env: GatewayEnv) -> None:
    answers = [await scim("GET", "/Users") for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]  # the burst
    limited = await scim("GET", "/Users")
    assert limited.status == 429
    assert limited.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert limited.body["status"] == "429" and int(limited.headers["Retry-After"]) >= 1
    assert (await scim("GET", "/Users", location=2)).status == 200  # another location's own bucket
    assert (await scim("GET", "/Users", token="garbage")).status == 401  # no token: no bucket taken
    metrics = await _get(http_client, base_url + "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert _sample(metrics.body.decode(), "vizmo_scim_rate_limited_total", location="1") == 1


@pytest.mark.gen_test(timeout=60)
async def test_a_runaway_clients_429s_are_journaled_bounded(scim: Any, gateway_env: GatewayEnv) -> None:
    """Each 429 was an activity row in the directory's database (5,179 in 4 s from one client, kept
    90 days): past a burst they are kept at most one a second per location; the metric counts all."""
    sent = 60
    statuses = [(await scim("GET", "/Users/999999")).status for _ in range(3 + sent)]
    assert statuses[:3] == [404] * 3 and statuses[3:] == [429] * sent
    marker = await scim("GET", "/Users/999999", location=2)  # queued after the flood, another location
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not gateway_env.sql("SELECT 1 FROM scim_activity WHERE request_id = ?", (marker.headers["X-Request-Id"],)):
        assert loop.time() < deadline, "the marker's entry never arrived"
        await asyncio.sleep(0.05)
    kept = gateway_env.sql("SELECT COUNT(*) AS n FROM scim_activity WHERE location_id = 1 AND status = 429")[0]["n"]
    assert 1 <= kept < sent
    assert gateway_env.sql("SELECT COUNT(*) AS n FROM scim_activity WHERE location_id = 1 AND status = 404")[0]["n"] == 3


@pytest.mark.gen_test
async def test_every_refused_token_is_logged_with_its_reason_and_never_the_token(
        scim: Any, gateway_env: GatewayEnv, caplog: pytest.LogCaptureFixture) -> None:
    state, codec = gateway_env.state, gateway_env.codec
    other_gateway = TokenCodec(b"k" * 32)
    forged = jwt.encode(jwt.decode(gateway_env.tokens[1], options={"verify_signature": False}), b"x" * 32,
                        algorithm="HS256", headers={"kid": jwt.get_unverified_header(gateway_env.tokens[1])["kid"]})
    removed_token = gateway_env.tokens[2]
    await state.remove("2")
    old_token = gateway_env.tokens[1]
    new_token = codec.issue(1, await state.rotate("1"))
    cases = [  # (location, token, the log's reason)
        (1, "", "no token: the Authorization header is missing"),
        (1, "not.a.jwt", "not one this gateway issues"),
        (1, other_gateway.issue(1, "t1"), "signed by another key"),
        (1, forged, "signature is wrong"),
        (1, codec.issue(2, "x"), "belongs to another location"),
        (99, codec.issue(99, "x"), "has no such location"),
        (2, removed_token, "SCIM is not enabled for the location"),
        (1, old_token, "revoked"),
    ]
    with caplog.at_level(logging.INFO, logger="vizmo_scim.auth"):
        for location, token, reason in cases:
            caplog.clear()
            reply = await scim("GET", "/Users", location=location, token=token or None,
                               headers={} if token else {"Authorization": ""})
            assert reply.status == 401, (location, reason)
            lines = [r.getMessage() for r in caplog.records if r.name == "vizmo_scim.auth"]
            assert len(lines) == 1 and reason in lines[0], (reason, lines)
            assert redact(lines[0]) == lines[0]  # the handler's credential filter leaves the reason readable
            assert f"location '{location}'" in lines[0]
            if token:
                assert token not in caplog.text and token.split(".")[-1] not in caplog.text
    assert (await scim("GET", "/Users", token=new_token)).status == 200


@pytest.mark.gen_test
async def test_forwarded_proto_and_host_from_a_trusted_proxy_build_the_locations(scim: Any) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.corp.example"}
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "fwd@contoso.com"}, headers=forwarded)
    assert created.status == 201, created.body
    expected = f"https://scim.corp.example/scim/v2/locations/1/Users/{created.body['id']}"
    assert created.headers["Location"] == expected == created.body["meta"]["location"]
    bad_host = await scim("GET", f"/Users/{created.body['id']}",
                          headers={"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil/path@x"})
    assert bad_host.body["meta"]["location"].startswith(PUBLIC_BASE_URL + "/")  # neither value is usable
    chained = await scim("GET", f"/Users/{created.body['id']}",
                         headers={"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "a.example, b.example:8443"})
    assert chained.body["meta"]["location"].startswith("https://b.example:8443/scim/v2/locations/1/")
    for port in ("0", "65536", "99999"):  # no such port: the configured origin stands (location 2's own burst)
        odd = await scim("POST", "/Users", {"schemas": [CORE], "userName": f"port{port}@contoso.com"}, location=2,
                         headers={"X-Forwarded-Host": f"scim.corp.example:{port}"})
        assert odd.status == 201 and odd.headers["Location"].startswith(PUBLIC_BASE_URL + "/"), (port, odd.headers)


@pytest.mark.gen_test
async def test_a_forwarded_host_in_brackets_is_used_only_when_it_is_an_ipv6_address(scim: Any) -> None:
    """``[...]`` and ``[::::]`` passed the host pattern and became the Tenant URL (a TLS review)."""
    for host, usable in (("[...]", False), ("[::::]", False), ("[2001:db8::1]:8443", True)):
        seen = await scim("GET", "/ServiceProviderConfig", headers={"X-Forwarded-Host": host})
        assert seen.status == 200, seen.body
        expected = f"https://{host}/" if usable else PUBLIC_BASE_URL + "/"  # the configured scheme stays
        assert seen.body["meta"]["location"].startswith(expected), (host, seen.body["meta"])


@pytest.mark.gen_test
async def test_forwarded_headers_from_a_peer_not_trusted_are_ignored(
        gateway_env: GatewayEnv, http_server: Any, http_client: Any, base_url: str) -> None:
    ctx = GatewayContext(config=replace(gateway_env.ctx.config, trusted_proxies=("10.0.0.0/8",)),
                         adapter=gateway_env.adapter, state=gateway_env.state, tokens=gateway_env.codec)
    http_server.request_callback = make_app(ctx)  # the same listener, an app trusting other peers only
    response = await http_client.fetch(
        f"{base_url}/scim/v2/locations/1/ServiceProviderConfig", raise_error=False,
        headers={"Authorization": f"Bearer {gateway_env.tokens[1]}", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "attacker.example"})
    assert response.code == 200
    body = json.loads(response.body)
    assert body["meta"]["location"].startswith(PUBLIC_BASE_URL + "/scim/v2/locations/1/")
    await ctx.close()
