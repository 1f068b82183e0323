"""``Location`` and ``meta.location`` never come from the client (issue 13 §5).

The real ``vizmo-scim serve`` without ``--base-url`` builds both from the listener's own
address; with ``--base-url`` from that. A ``Host: evil.example`` or an empty ``Host`` header
changes neither.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.serving import CORE, Server, add_integration


def post_user(port: int, token: str, host_header: str, name: str) -> tuple[str, dict]:
    body = json.dumps({"schemas": [CORE], "userName": name}).encode()
    request = (f"POST /scim/v2/locations/1/Users HTTP/1.1\r\n{host_header}Authorization: Bearer {token}\r\n"
               f"Content-Type: application/scim+json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
               ).encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), answer[:300]
    location = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                    if line.lower().startswith(b"location:"))
    return location, json.loads(payload)


@pytest.mark.parametrize("base_url", [None, "https://scim.example.com"])
def test_the_client_cannot_choose_the_origin_of_locations(tmp_path: Path, base_url: str | None) -> None:
    server = Server(tmp_path / "data", *(["--base-url", base_url] if base_url else []))
    server.start()
    try:
        token = add_integration(server.data_dir)["secret_token"]
        expected = base_url or f"http://127.0.0.1:{server.port}"
        for n, host in enumerate(["Host: evil.example\r\n", "Host: \r\n", "Host: 127.0.0.1:1\r\n"]):
            location, user = post_user(server.port, token, host, f"u{n}@contoso.com")
            assert location == f"{expected}/scim/v2/locations/1/Users/{user['id']}"
            assert user["meta"]["location"] == location
    finally:
        server.stop()
    assert expected in server.banner
