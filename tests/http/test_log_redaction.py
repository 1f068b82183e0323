"""No Secret Token in any log line the process writes (issue 13 §3).

A malformed ``Authorization`` header (a control character inside the token) is refused by
Tornado's HTTP parser, whose ``tornado.general`` logger once wrote the whole header at INFO. The
real ``vizmo-scim serve`` is sent each such header, and no 8-character piece of the token may
appear in what it logged.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from gateway.logs import REDACTED, RedactingFilter, redact
from tests.serving import Server, add_integration

CONTROL = ["\x01", "\x7f", "\x00", "\x0b", "\x1f", "\r"]


def pieces(token: str, size: int = 8) -> list[str]:
    return [token[i:i + size] for i in range(0, len(token) - size + 1)]


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)  # "Connection: close": the server closes after its answer
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_no_piece_of_a_token_reaches_the_log_whatever_the_header(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()
    try:
        token = add_integration(server.data_dir)["secret_token"]
        for position in (5, 40, len(token) // 2, len(token) - 3):
            for char, header_name in [(c, "Authorization: Bearer ") for c in CONTROL] + [
                    ("\x01", "Authorization: "), ("\x7f", "Authorization: "), ("\x01", "X-Api-Key: ")]:
                # (without "Bearer": Okta's bare form; the rest of a token after the control character was logged)
                header = f"{header_name}{token[:position]}{char}{token[position:]}\r\n"
                answer = exchange(server.port, (f"GET /scim/v2/locations/1/Users HTTP/1.1\r\nHost: x\r\n{header}"
                                                "Connection: close\r\n\r\n").encode("latin-1"))
                assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 401")), answer[:100]
        # the token itself, in a header Tornado accepts, and as a URL query value
        assert exchange(server.port, (f"GET /scim/v2/locations/2/Users?access_token={token} HTTP/1.1\r\n"
                                      f"Host: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
                        .encode()).startswith(b"HTTP/1.1 401")
        exchange(server.port, ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + "Q" * 60_000 + "\x01\r\n"
                               "Connection: close\r\n\r\n").encode("latin-1"))
    finally:
        log = server.stop()
    assert "Malformed HTTP message" in log  # Tornado did log the refusals: redacted, not silenced
    assert max(len(line) for line in log.splitlines()) < 1200  # (a 60,000-character header was one line)
    leaked = [piece for piece in pieces(token) if piece in log]
    assert leaked == []


@pytest.mark.parametrize("text", [
    "Invalid header value 'Bearer eyJhbGciOi\\x01JIUzI1NiJ9.eyJsb2MiOiIxIn0.c2lnbmF0dXJl'",
    "headers: {'Authorization': 'Bearer abc def', 'Host': 'x'}",
    "Authorization=Basic dXNlcjpwYXNzd29yZA==",
    "GET /x?token=eyJhbGciOiJIUzI1NiJ9.eyJsb2MiOiIxIn0.c2lnbmF0dXJl HTTP/1.1",
    "bearer\tabc.def.ghi",
])
def test_redact_removes_credentials(text: str) -> None:
    clean = redact(text)
    assert REDACTED in clean
    for secret in ("JIUzI1NiJ9", "abc", "def", "dXNlcjpwYXNz", "c2lnbmF0dXJl"):
        assert secret not in clean


@pytest.mark.parametrize("text", [
    "RuntimeError: connect to postgres://svc:S3cretPW@db:5432 failed",
    "could not connect: host=db user=svc password=S3cretPW dbname=vizmo",
    "ldap bind failed: {'password': 'S3cretPW'}",
    "settings: passwd: S3cretPW",
])
def test_redact_removes_passwords_an_adapter_error_may_carry(text: str) -> None:
    """A 503's log line names its cause (gateway.errors.cause): a DSN in it keeps no password."""
    clean = redact(text)
    assert "S3cretPW" not in clean and REDACTED in clean
    assert "svc" in clean or "passw" in clean  # what names the secret stays readable


def test_redact_leaves_ordinary_lines_alone() -> None:
    for text in ("200 GET /scim/v2/locations/1/Users 1.2ms id=ab12", "basic checks passed", "cookies: 0",
                 "serving http://127.0.0.1:8080/scim/v2", "the password was changed"):
        assert redact(text) == text


def test_the_filter_redacts_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("tornado.general", logging.INFO, __file__, 1, "Malformed: %r", ("Bearer a.b.c",),
                               None)
    try:
        raise ValueError("Authorization: Bearer secret-token-value")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record) is True
    assert "a.b.c" not in record.getMessage() and "secret-token-value" not in (record.exc_text or "")
