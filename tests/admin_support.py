"""The admin page's test set-up: a real ``vizmo-scim serve`` over a directory with two locations,
operators made with the real ``vizmo-scim admin add``, and a small HTTP client that keeps the
page's cookies (the standard library's cookie jar never sends a ``Secure`` cookie over plain HTTP,
which the gateway's loopback address is; a browser does)."""

from __future__ import annotations

import html
import http.client
import json
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.serving import Server, cli

PASSWORD = "correct horse battery staple"
_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')
_FORM = re.compile(r'<form[^>]*\saction="([^"]*)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def make_directory(data_dir: Path) -> None:
    """The embedded directory with locations 1 (Delhi) and 2 (Pune)."""
    data_dir.mkdir(parents=True)
    create_directory(data_dir / "directory.db")
    conn = sqlite3.connect(data_dir / "directory.db", isolation_level=None)
    try:
        conn.execute("INSERT INTO locations (id, company_id, name) VALUES (2, 1, 'Pune')")
    finally:
        conn.close()


def add_operator(data_dir: Path, name: str, *locations: str, password: str = PASSWORD,
                 storage: tuple[str, ...] = ()) -> None:
    """``vizmo-scim admin add NAME [--location ID ...] --password-file FILE`` (``storage``: more
    storage options, such as ``--config FILE``)."""
    secret = data_dir.parent / f"password-{name}"
    secret.write_text(password + "\n")
    args = [arg for location in locations for arg in ("--location", location)]
    result = cli("admin", "add", name, "--data-dir", str(data_dir), "--password-file", str(secret), *args, *storage)
    secret.unlink()
    assert result.returncode == 0, result.stderr


def integrations(data_dir: Path, *storage: str) -> list[str]:
    """The locations with SCIM enabled, as ``vizmo-scim integration list`` says."""
    result = cli("integration", "list", "--data-dir", str(data_dir), "--json", *storage)
    assert result.returncode == 0, result.stderr
    return [str(row["location_id"]) for row in json.loads(result.stdout)]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def cookies(self) -> dict[str, str]:
        """Each Set-Cookie header of the answer by cookie name, as sent."""
        found = {}
        for header in self.headers.get_all("Set-Cookie") or []:
            found[header.split("=", 1)[0]] = header
        return found


@dataclass
class AdminClient:
    """A browser's view of ``/admin`` over one connection per request: cookies, and the XSRF
    token read from the last form."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    host: str | None = None
    #: Sent with every request (a reverse proxy's ``X-Forwarded-*``, say).
    headers: dict[str, str] = field(default_factory=dict)
    #: The loopback address to connect from (127.0.0.2, ...: another client's address).
    source: str | None = None

    def request(self, method: str, path: str, fields: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=None if self.source is None else (self.source, 0))
        sent = {**self.headers, **(headers or {})}
        if self.host is not None:
            sent["Host"] = self.host
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode("utf-8"))
        finally:
            conn.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def xsrf(self, path: str = "/admin/sign-in") -> str:
        """The ``_xsrf`` value of the form on ``path`` (setting the XSRF cookie, as a page load does)."""
        match = _XSRF_FIELD.search(self.get(path).body)
        assert match is not None, f"no XSRF field on {path}"
        return match.group(1)

    def hidden_fields(self, page: str, action: str) -> dict[str, str]:
        """The hidden fields of the form on ``page`` that posts to ``action``, or only the page's
        XSRF token when no form there does (a request a test makes by hand). Loading ``page``
        sets the XSRF cookie, as a browser's page load does."""
        body = self.get(page).body
        forms = [form for form in _FORM.finditer(body) if html.unescape(form.group(1)) == action]
        assert len(forms) <= 1, f"{len(forms)} forms post to {action} on {page}"
        if not forms:
            match = _XSRF_FIELD.search(body)
            assert match is not None, f"no XSRF field on {page}"
            return {"_xsrf": match.group(1)}
        return {html.unescape(name): html.unescape(value) for name, value in _HIDDEN.findall(forms[0].group(2))}

    def post(self, path: str, fields: dict[str, str], *, form_page: str | None = None) -> Answer:
        """POST a form as a browser would after loading ``form_page`` (default: ``path``): its
        hidden fields (the XSRF token among them) and ``fields``."""
        return self.request("POST", path, {**self.hidden_fields(form_page or path, path), **fields})

    def sign_in(self, user: str, password: str = PASSWORD) -> Answer:
        return self.post("/admin/sign-in", {"user": user, "password": password})


@dataclass
class AdminGateway:
    data_dir: Path
    server: Server

    @property
    def port(self) -> int:
        return self.server.port

    def client(self) -> AdminClient:
        return AdminClient(self.port)


@pytest.fixture
def admin_gateway(tmp_path: Path) -> Iterator[AdminGateway]:
    """A served directory with locations 1 and 2; operators ``alice`` (every location) and
    ``bob`` (location 2 only), both with :data:`PASSWORD`."""
    data_dir = tmp_path / "data"
    make_directory(data_dir)
    add_operator(data_dir, "alice")
    add_operator(data_dir, "bob", "2")
    server = Server(data_dir)
    server.start()
    try:
        yield AdminGateway(data_dir, server)
    finally:
        server.stop()
