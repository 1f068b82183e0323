"""Issue 16 through the real ``vizmo-scim serve`` command: JSON log lines (with the request's
fields, never a token, a password or a filter's value), HTTPS with TLS 1.2 at least, and
``/metrics`` on a separate port summing every worker's counts with ``--processes 2``."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest

from gateway.certificates import tls_context
from gateway.config import GatewayConfig
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401
from tests.serving import CORE, Server, add_integration, children, free_port, self_signed


def test_json_log_lines_carry_the_request_fields_and_no_secret_or_personal_data(
        tmp_path: Path, servers: list[Server]) -> None:
    server = Server(tmp_path / "data", "--log-format", "json")
    servers.append(server)
    server.start()
    token = add_integration(server.data_dir)["secret_token"]
    status, created = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "ana.secret@contoso.com",
                                                               "password": "Sup3r-Secret-Pa55"})
    assert status == 201
    assert server.request("GET", "/Users?filter=" + quote('userName eq "ana.secret@contoso.com"'), token)[0] == 200
    assert server.request("GET", "/Users", "not-a-token")[0] == 401
    assert server.request("GET", "/Users?filter=" + quote('userName eq "ana.secret@contoso.com'), token)[0] == 400
    log = server.stop()

    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is one object
    access = [r for r in records if r["logger"] == "vizmo_scim.access" and r["path"] != "/healthz"]
    assert [(r["method"], r["status"], r["location"], r.get("scim_type")) for r in access] == [
        ("POST", 201, "1", None), ("GET", 200, "1", None), ("GET", 401, "-", None), ("GET", 400, "1", "invalidFilter")]
    for record in access:
        assert set(record) >= {"time", "level", "message", "request_id", "path", "duration_ms"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
        assert record["path"] == "/scim/v2/locations/1/Users" and record["duration_ms"] >= 0
    assert access[-1]["message"].endswith("location=1 scimType=invalidFilter")
    refused_ids = {r["request_id"] for r in access if r["status"] >= 400}
    # one line per request: a refusal's status and scimType are in its access line, not a second line
    assert [r for r in records if any(rid in r["message"] for rid in refused_ids)
            and r["logger"] != "vizmo_scim.access"] == []
    assert any("not enabled" in r["message"] or "not one this gateway issues" in r["message"]
               for r in records if r["logger"] == "vizmo_scim.auth")
    for secret in (token, token.rsplit(".", 1)[1], "Sup3r-Secret-Pa55", "ana.secret", created["id"] + "x"):
        assert secret not in log


def test_json_log_lines_redact_the_path_field_as_the_message(tmp_path: Path, servers: list[Server]) -> None:
    """The access line's ``path`` field carried what its message had redacted: a password in the
    path, a Secret Token put where the location goes (a secrets review)."""
    server = Server(tmp_path / "data", "--log-format", "json")
    servers.append(server)
    server.start()
    token = add_integration(server.data_dir)["secret_token"]
    for path in ("/x/password=Sup3rSecretPW77/y", f"/scim/v2/locations/{token[:150]}/Users"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.origin + path, timeout=10)
        refused.value.close()
        assert refused.value.code in (401, 404)
    log = server.stop()
    paths = [json.loads(line).get("path", "") for line in log.splitlines() if '"path"' in line]
    assert any(path.startswith("/x/password=[redacted]") for path in paths), paths
    assert "Sup3rSecretPW77" not in log and token[:40] not in log


def test_https_serves_the_tenant_url_and_refuses_tls_below_1_2(tmp_path: Path, servers: list[Server]) -> None:
    cert, key = self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert))
    server = Server(tmp_path / "data", "--certfile", str(cert), "--keyfile", str(key), tls=client)
    servers.append(server)
    server.start()
    assert f"Tenant URLs are https://127.0.0.1:{server.port}/scim/v2/locations/" in server.banner
    token = add_integration(server.data_dir)["secret_token"]
    assert server.request("GET", "/Users", token)[0] == 200

    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(cert))
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1_1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client would offer TLS 1.1: the server must refuse it
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(f"{server.origin}/healthz", timeout=5, context=old)
    # the server's alert: no TLS 1.1 (this host's OpenSSL refuses it on its own too, so the
    # gateway's own floor is checked on its context below)
    assert "PROTOCOL_VERSION" in str(refused.value.reason)
    plain = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz")
    with pytest.raises(OSError):  # no plain HTTP on the TLS port
        urllib.request.urlopen(plain, timeout=5)
    with client.wrap_socket(socket.create_connection(("127.0.0.1", server.port)), server_hostname="127.0.0.1") as tls:
        os.write(tls.fileno(), b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # a record no key made, after the handshake
        with pytest.raises(ssl.SSLError, match="BAD_RECORD_MAC"):  # the server's alert, then it closes
            tls.recv(1)
    log = server.stop()
    handshakes = [line for line in log.splitlines() if "SSL Error on" in line or "[SSL: " in line]
    assert any("SSL Error on" in line for line in handshakes) and any("error on read" in line for line in handshakes)
    assert all(" INFO tornado.general " in line for line in handshakes), handshakes  # a client's doing


def test_the_tls_context_allows_tls_1_2_at_least(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = tls_context(GatewayConfig(certfile=cert, keyfile=key))
    assert context is not None and context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls_context(GatewayConfig()) is None


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def test_trusting_every_client_as_a_proxy_is_warned_about(tmp_path: Path, servers: list[Server]) -> None:
    """``trusted_proxies = ["0.0.0.0/0"]`` was taken silently (found by fuzzing): any client could
    then set the Tenant URL's origin; a /8 and a single proxy are not warned about."""
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\ntrusted_proxies = ["0.0.0.0/0", "10.0.0.0/8", "127.0.0.1/32", "::/0"]\n',
                      encoding="utf-8")
    server = Server(tmp_path / "data", "--config", str(config))
    servers.append(server)
    server.start()
    log = server.stop()
    warned = [line for line in log.splitlines() if "trusted_proxies holds" in line]
    assert len(warned) == 2 and "0.0.0.0/0" in warned[0] and "::/0" in warned[1], log


def _start_warnings(tmp_path: Path, servers: list[Server], name: str, config: str, fragment: str) -> list[str]:
    """The WARNING lines holding ``fragment`` that ``serve`` logs with the configuration ``config``."""
    path = tmp_path / f"gateway-{name}.toml"
    path.write_text(config, encoding="utf-8")
    server = Server(tmp_path / f"data-{name}", "--config", str(path))
    servers.append(server)
    server.start()
    log = server.stop()
    warned = [line for line in log.splitlines() if fragment in line]
    assert all("WARNING" in line for line in warned), log
    return warned


def test_an_adapter_timeout_below_the_sqlite_lock_wait_is_warned_about(tmp_path: Path,
                                                                      servers: list[Server]) -> None:
    """A SQLite write waits up to WRITE_LOCK_WAIT for another writer's lock and cannot be cancelled
    on its thread: with a shorter adapter timeout its 503 may come before it is stored."""
    for timeout, warnings_expected in (("2", 1), ("5", 0)):
        warned = _start_warnings(tmp_path, servers, timeout, f"[limits]\nadapter_timeout_seconds = {timeout}\n",
                                 "below the 5 s a SQLite write waits")
        assert len(warned) == warnings_expected, warned


def test_an_ldap_timeout_above_the_adapter_timeout_is_warned_about(tmp_path: Path, servers: list[Server],
                                                                   slapd_server: SlapdServer,  # noqa: F811
                                                                   ldap_base: str) -> None:  # noqa: F811
    """The LDAP adapter's call runs on its thread after the gateway's timeout answered 503: with a
    longer LDAP timeout a disable answered 503 at 15 s was stored at 22 s (an LDAP operations
    review), and nothing was said at start, as it is for SQLite."""
    options = "".join(f"{key} = {json.dumps(value)}\n" for key, value in slapd_server.options(ldap_base).items())
    for timeout, warnings_expected in (("30", 1), ("10", 0)):
        config = f'[adapter]\nname = "ldap"\n[adapter.options]\n{options}timeout = {timeout}\n'
        warned = _start_warnings(tmp_path, servers, timeout, config,
                                 "an LDAP write answered 503 at the gateway's timeout")
        assert len(warned) == warnings_expected, warned


def test_a_metrics_token_is_asked_on_the_metrics_port_too(tmp_path: Path, servers: list[Server]) -> None:
    """With both a [metrics] port and a token the separate port answered anyone (found by fuzzing)."""
    metrics_port = free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(f'[metrics]\nport = {metrics_port}\ntoken_env = "TEST_METRICS_TOKEN"\n', encoding="utf-8")
    secret = "metrics-token-0123456789"
    server = Server(tmp_path / "data", "--config", str(config), env={**os.environ, "TEST_METRICS_TOKEN": secret})
    servers.append(server)
    server.start()
    assert "with the [metrics] bearer token" in server.banner
    with pytest.raises(urllib.error.HTTPError) as refused:
        _scrape(metrics_port)
    refused.value.close()
    assert refused.value.code == 401
    request = urllib.request.Request(f"http://127.0.0.1:{metrics_port}/metrics",
                                     headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and b"vizmo_scim_requests_total" in response.read()
    log = server.stop()
    # the refused scrape has its access line; the accepted one (every few seconds) none
    scrapes = [line for line in log.splitlines() if " GET /metrics " in line]
    assert len(scrapes) == 1 and " 401 GET /metrics " in scrapes[0], log
    assert secret not in log


def test_metrics_on_their_own_port_sum_every_worker(tmp_path: Path, servers: list[Server]) -> None:
    metrics_port = free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(f"[metrics]\nport = {metrics_port}\n", encoding="utf-8")
    server = Server(tmp_path / "data", "--processes", "2", "--config", str(config))
    servers.append(server)
    server.start()
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in server.banner
    token = add_integration(server.data_dir)["secret_token"]
    for _ in range(30):  # a new connection each: the kernel hands them to either worker
        assert server.request("GET", "/Users", token)[0] == 200
    assert server.request("GET", "/metrics", token)[0] == 404  # not on the main port
    pattern = re.compile(r'^vizmo_scim_requests_total\{location="1",method="GET",status="200"\} (\S+)$', re.M)
    for _ in range(6):  # whichever worker answers the scrape, it reports both workers' counts
        match = pattern.search(_scrape(metrics_port))
        assert match is not None and float(match.group(1)) == 30
    assert server.proc is not None
    workers = children(server.proc.pid)
    assert len(workers) == 2
    count_files = {Path(os.readlink(fd)) for pid in workers for fd in Path(f"/proc/{pid}/fd").iterdir()
                   if os.readlink(fd).endswith(".db") and "vizmo-scim-metrics-" in os.readlink(fd)}
    folder = next(iter(count_files)).parent  # the workers' count files, in one private folder
    assert folder.is_dir() and {f.parent for f in count_files} == {folder}
    server.stop()
    assert not folder.exists()  # the workers' count files go with the gateway
