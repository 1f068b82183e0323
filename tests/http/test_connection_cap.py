"""``[limits] max_connections`` (gateway.connection_cap) on a real ``vizmo-scim serve``: past the
bound a new connection gets a SCIM ``503`` with ``Retry-After`` and is closed, the open ones keep
being served, and a place freed is taken by the next client. Without it a client with no token
could hold connections open until the worker ran out of memory or open files."""

from __future__ import annotations

import json
import socket
import ssl
import time
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.connection_cap import MAX_REFUSING, REFUSAL_SECONDS
from tests.polling import wait_until
from tests.serving import Server, self_signed

LIMIT = 3


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _ask(conn: socket.socket, path: str = "/healthz") -> bytes:
    """One keep-alive request on ``conn`` and its whole answer (a bodiless one, or one with Content-Length)."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
    return _answer(conn)


def _answer(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def _held(port: int, tls: ssl.SSLContext | None = None) -> socket.socket:
    """A connection the worker has answered on and holds open (over TLS with ``tls``). Until the
    worker has seen the end of the start-up probes' connections they still count, so a refused one
    is tried again (over TLS a refused one may be closed before the request is sent)."""
    found: list[socket.socket] = []

    def answered() -> bool:
        conn = _connect(port)
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_hostname="127.0.0.1")
            if _ask(conn).startswith(b"HTTP/1.1 200"):
                found.append(conn)
                return True
        except (ssl.SSLError, ConnectionError):
            pass
        conn.close()
        return False

    wait_until(answered, 10)
    return found[0]


def _served(port: int) -> bool:
    with _connect(port) as conn:
        return _ask(conn).startswith(b"HTTP/1.1 200")


def test_a_connection_past_the_bound_gets_503_and_a_freed_place_is_taken(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f"[limits]\nmax_connections = {LIMIT}\n", encoding="utf-8")
    server = Server(tmp_path / "data", "--config", str(config))
    server.start()
    held: list[socket.socket] = []
    try:
        for _ in range(LIMIT):  # each is counted once the worker has answered on it; then it idles
            held.append(_held(server.port))
        with _connect(server.port) as extra:
            refused = _answer(extra)
            head, _, body = refused.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in head and b"Connection: close" in head
            error = json.loads(body)
            assert error["status"] == "503" and "max_connections" in error["detail"]
            assert extra.recv(1) == b""  # closed
        assert _ask(held[0], "/readyz").startswith(b"HTTP/1.1 200")  # the open ones are still served
        held.pop().close()
        wait_until(lambda: _served(server.port), 10)  # the freed place is taken
    finally:
        for conn in held:
            conn.close()
        log = server.stop()
    assert "refused 1 connection(s): this worker holds 3 open" in log


def _closed_by_the_server(conn: socket.socket, deadline: float) -> bool:
    """Whether the server closes ``conn`` (a client that sends nothing) before ``deadline``."""
    conn.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_silent_tls_connection_past_the_bound_is_closed_without_its_503(tmp_path: Path) -> None:
    """Over TLS the 503 waits for a handshake; a client that never makes one held its file for good
    (60 silent connections past a bound of 5 all open after 150 s; a flood ran the worker out of
    files, a TLS review). Each is closed after REFUSAL_SECONDS, or at once past MAX_REFUSING."""
    cert, key = self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert))
    config = tmp_path / "gateway.toml"
    config.write_text("[limits]\nmax_connections = 1\n", encoding="utf-8")
    server = Server(tmp_path / "data", "--config", str(config), "--certfile", str(cert), "--keyfile", str(key),
                    tls=client)
    server.start()
    held: list[socket.socket] = []
    silent: list[socket.socket] = []
    try:
        held.append(_held(server.port, client))  # the one place, taken
        silent = [_connect(server.port) for _ in range(MAX_REFUSING + 8)]  # no handshake, nothing sent
        deadline = time.monotonic() + REFUSAL_SECONDS + 20
        assert all(_closed_by_the_server(conn, deadline) for conn in silent)
        assert _ask(held[0], "/readyz").startswith(b"HTTP/1.1 200")  # the admitted one is still served
    finally:
        for conn in (*held, *silent):
            conn.close()
        log = server.stop()
    assert "refused 1 connection(s): this worker holds 1 open" in log


@pytest.mark.parametrize("value", ["0", "-5", "1.5", '"many"', "1000001"])
def test_max_connections_in_the_file_is_a_whole_number_from_1(tmp_path: Path, value: str) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f"[limits]\nmax_connections = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_connections"):
        load_config(config, env={})
    config.write_text("[limits]\nmax_connections = 250\n", encoding="utf-8")
    assert load_config(config, env={}).max_connections == 250
    assert load_config(env={}).max_connections == 10_000


def test_the_bound_stays_below_the_open_files_limit() -> None:
    """Under a limit of 200 open files the bound is 136 (64 kept for the storage and logs), so an
    accept never fails with EMFILE; a lower configured bound is kept as it is."""
    import subprocess
    import sys
    code = ("import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)); "
            "from gateway.connection_cap import connection_bound; print(connection_bound(10000), connection_bound(50))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["136", "50"], result.stderr
