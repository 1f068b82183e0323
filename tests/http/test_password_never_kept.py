"""A SCIM ``password`` is accepted, never stored, never returned, never logged (issue 12 §4).

RFC 7643 §4.1.1 makes ``password`` ``mutability: writeOnly, returned: never``; Vizmo employees do
not sign in with it, so the gateway keeps none. Over real HTTP, for each built-in adapter on its
real storage (a SQLite file, a PostgreSQL cluster, an OpenLDAP server), a create, a PUT, a
path PATCH and a path-less PATCH each send a different password; afterwards none of those
passwords' bytes is in any file of the storage (database, WAL, shared memory, LDAP's mdb), in
any answer, or in the log. A filter or sort on ``password`` is a 400.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from adapters.sqlite_state import SqliteStateStore
from adapters.vizmo_sqlite.bootstrap import create_directory
from gateway.app import make_app
from gateway.adapter_setup import open_adapter
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)
from tests.pg_cluster import PgCluster
from tests.support import Reply

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORDS = ("Cr3ate-S3cret!x9", "Put-S3cret!q7", "Patch-S3cret!z4", "Pathless-S3cret!k2")


@dataclass
class Deployment:
    """A gateway over one adapter, and the files that hold its storage."""

    ctx: GatewayContext
    token: str
    storage_files: Callable[[], dict[Path, bytes]]


def _files_under(root: Path) -> Callable[[], dict[Path, bytes]]:
    """Each file under ``root`` and its bytes. A running server (PostgreSQL) may delete a file
    between the listing and the read (``global/pg_internal.init``, a cache it rewrites): gone,
    it holds nothing."""
    def read() -> dict[Path, bytes]:
        found = {}
        for path in root.rglob("*"):
            try:
                if path.is_file():
                    found[path] = path.read_bytes()
            except FileNotFoundError:
                continue
        return found
    return read


@pytest.fixture(params=["sqlite", "postgres", "ldap"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path, io_loop: Any) -> Iterator[Deployment]:
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        data_dir.mkdir()
        create_directory(data_dir / "directory.db")
        config = GatewayConfig(data_dir=data_dir)
        files = _files_under(data_dir)
    elif request.param == "postgres":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        dsn = request.getfixturevalue("pg_directory_dsn")
        (tmp_path / "dsn").write_text(dsn)
        config = GatewayConfig(data_dir=data_dir, adapter_name="postgres",
                               adapter_options={"dsn_file": str(tmp_path / "dsn"), "max_pool": 2})
        files = _files_under(cluster.root / "data")  # every table file and the whole pg_wal
    else:
        slapd: SlapdServer = request.getfixturevalue("slapd_server")
        options = slapd.options(request.getfixturevalue("ldap_base"))
        config = GatewayConfig(data_dir=data_dir, adapter_name="ldap", adapter_options=options)
        files = _files_under(slapd.root / "db")
    opened = io_loop.run_sync(lambda: open_adapter(config))
    codec = TokenCodec(load_or_create_key(data_dir))
    token = codec.issue(1, io_loop.run_sync(lambda: opened.state.enable("1")))
    assert request.param != "ldap" or isinstance(opened.state, SqliteStateStore)
    ctx = GatewayContext(config=config, adapter=opened.adapter, state=opened.state, tokens=codec)
    yield Deployment(ctx, token, files)
    io_loop.run_sync(ctx.close)
    io_loop.run_sync(opened.close)


@pytest.fixture
def app(deployment: Deployment) -> Any:
    return make_app(deployment.ctx)


@pytest.fixture
def scim(http_client: Any, base_url: str, deployment: Deployment) -> Any:
    async def call(method: str, path: str, body: Any = None) -> Reply:
        headers = {"Content-Type": "application/scim+json", "Authorization": f"Bearer {deployment.token}"}
        payload = b"" if body is None and method in ("POST", "PUT", "PATCH") else (
            None if body is None else json.dumps(body).encode())
        response = await http_client.fetch(f"{base_url}/scim/v2/locations/1{path}", method=method, body=payload,
                                           headers=headers, raise_error=False, allow_nonstandard_methods=True)
        return Reply(response.code, json.loads(response.body) if response.body else None, response.headers)

    return call


@pytest.mark.gen_test(timeout=30)
async def test_no_password_is_stored_returned_or_logged(scim: Any, deployment: Deployment,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[Reply] = []
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "pw@contoso.com",
                                            "password": PASSWORDS[0], "title": "Host"})
    assert created.status == 201, created.body
    answers.append(created)
    user = f"/Users/{created.body['id']}"
    answers.append(await scim("PUT", user, {"schemas": [CORE], "userName": "pw@contoso.com", "title": "Lead",
                                            "password": PASSWORDS[1]}))
    answers.append(await scim("PATCH", user, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "password", "value": PASSWORDS[2]},
        {"op": "replace", "path": "displayName", "value": "P W"}]}))
    answers.append(await scim("PATCH", user, {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "value": {"password": PASSWORDS[3], "title": "Chief"}}]}))
    answers.append(await scim("GET", user + "?attributes=password,userName"))
    answers.append(await scim("GET", "/Users"))
    answers.append(await scim("POST", "/Users/.search", {"attributes": ["password"]}))
    assert [a.status for a in answers] == [201, 200, 200, 200, 200, 200, 200], [a.body for a in answers]
    final = answers[3].body
    assert (final["title"], final["displayName"]) == ("Chief", "P W")  # the other changes were applied
    for answer in answers:
        assert "password" not in json.dumps(answer.body).lower(), answer.body
    for path, data in deployment.storage_files().items():
        for password in PASSWORDS:
            assert password.encode() not in data, f"{password} found in {path}"
    for password in PASSWORDS:
        assert password not in caplog.text


@pytest.mark.gen_test
@pytest.mark.parametrize("query", ['filter=password eq "x"', "filter=password pr", 'filter=not (password eq "x")'])
async def test_a_filter_on_password_is_400_invalid_filter(scim: Any, query: str) -> None:
    name, _, value = query.partition("=")
    reply = await scim("GET", f"/Users?{name}={quote(value)}")
    assert reply.status == 400 and reply.body["scimType"] == "invalidFilter", reply.body
    search = await scim("POST", "/Users/.search", {"filter": value})
    assert search.status == 400 and search.body["scimType"] == "invalidFilter"


@pytest.mark.gen_test
async def test_sorting_by_password_is_400(scim: Any) -> None:
    reply = await scim("GET", "/Users?sortBy=password")
    assert reply.status == 400 and "never returned" in reply.body["detail"]
