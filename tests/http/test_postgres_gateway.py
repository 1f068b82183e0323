"""The gateway on the PostgreSQL adapter, over real HTTP: an Entra ID provisioning sequence
(reference §2: Test Connection, create, match, disable, delete, create again), a revocation
made by another gateway process, honoured at once, and a directory that hangs (a table locked by
another session) answered 503 with ``Retry-After`` within the adapter timeout, then recovered from.

The adapter is opened as ``vizmo-scim serve`` opens it (``open_adapter``: the ``postgres`` entry
point, its options validated against its schema), on a fresh copy of a Vizmo directory in the
session's throwaway PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest

from adapters.vizmo_postgres.adapter import VizmoPostgresAdapter
from adapters.vizmo_postgres.state import PostgresStateStore
from gateway.app import make_app
from gateway.adapter_setup import OpenAdapter, open_adapter
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key
from tests.pg_cluster import PgCluster
from tests.serving import children
from tests.support import Reply

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ENTRA_HEADERS = {"Content-Type": "application/scim+json; charset=utf-8"}
PROBE_GUID = "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
#: ``[limits] adapter_timeout_seconds`` of these gateways: short, for the hang test to wait it out.
ADAPTER_TIMEOUT = 2.0

#: reference §3.1 "Create User" (S1), as Entra ID sends it.
CREATE_USER: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
    ENTERPRISE: {"department": "Sales"},
}


@dataclass
class PgGateway:
    opened: OpenAdapter
    config: GatewayConfig
    codec: TokenCodec
    token: str


@pytest.fixture
def pg_gateway(tmp_path: Path, io_loop: Any, pg_directory_dsn: str) -> Any:
    dsn_file = tmp_path / "directory.dsn"
    dsn_file.write_text(pg_directory_dsn, encoding="utf-8")
    config = GatewayConfig(data_dir=tmp_path / "data", adapter_name="postgres",
                           adapter_options={"dsn_file": str(dsn_file), "max_pool": 4,
                                            "statement_timeout_seconds": ADAPTER_TIMEOUT},
                           adapter_timeout=ADAPTER_TIMEOUT)
    opened = io_loop.run_sync(lambda: open_adapter(config))
    codec = TokenCodec(load_or_create_key(config.data_dir))
    token = codec.issue(1, io_loop.run_sync(lambda: opened.state.enable("1")))
    yield PgGateway(opened, config, codec, token)
    io_loop.run_sync(opened.close)


@pytest.fixture
def app(pg_gateway: PgGateway, io_loop: Any) -> Any:
    opened = pg_gateway.opened
    ctx = GatewayContext(config=pg_gateway.config, adapter=opened.adapter, state=opened.state, tokens=pg_gateway.codec)
    yield make_app(ctx)
    io_loop.run_sync(ctx.close)


@pytest.fixture
def scim(http_client: Any, base_url: str, pg_gateway: PgGateway) -> Any:
    async def call(method: str, path: str, body: Any = None, *, token: str | None = None,
                   location: int = 1) -> Reply:
        headers = {**ENTRA_HEADERS, "Authorization": f"Bearer {token or pg_gateway.token}"}
        payload = None if body is None else json.dumps(body).encode()
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b""
        response = await http_client.fetch(f"{base_url}/scim/v2/locations/{location}{path}", method=method, body=payload,
                                           headers=headers, raise_error=False, allow_nonstandard_methods=True)
        text = response.body.decode() if response.body else ""
        return Reply(response.code, json.loads(text) if text else None, response.headers)

    return call


def _eq(attr: str, value: str) -> str:
    return "/Users?" + urlencode({"filter": f'{attr} eq "{value}"'})


def test_the_opened_adapter_is_the_postgres_adapter_and_its_state_store(pg_gateway: PgGateway) -> None:
    assert isinstance(pg_gateway.opened.adapter, VizmoPostgresAdapter)
    assert isinstance(pg_gateway.opened.state, PostgresStateStore)


@pytest.mark.gen_test
async def test_an_entra_provisioning_sequence(scim: Any) -> None:
    probe = await scim("GET", f"/Users?filter=userName+eq+%22{PROBE_GUID}%22")  # Test Connection (§2.1)
    assert probe.status == 200 and probe.body["schemas"] == [LIST_RESPONSE] and probe.body["totalResults"] == 0

    created = await scim("POST", "/Users", CREATE_USER)
    assert created.status == 201, created.body
    user_id = created.body["id"]
    assert created.body["userName"] == CREATE_USER["userName"] and created.body["active"] is True
    assert created.headers["ETag"] == created.body["meta"]["version"]
    assert created.headers["Location"].endswith(f"/scim/v2/locations/1/Users/{user_id}")

    duplicate = await scim("POST", "/Users", {**CREATE_USER, "userName": CREATE_USER["userName"].upper()})
    assert duplicate.status == 409 and duplicate.body["scimType"] == "uniqueness"
    found = await scim("GET", _eq("userName", CREATE_USER["userName"].lower()))  # match on another case (§2.2)
    assert found.body["totalResults"] == 1 and found.body["Resources"][0]["id"] == user_id
    by_external = await scim("GET", _eq("externalId", CREATE_USER["externalId"]))
    assert [r["id"] for r in by_external.body["Resources"]] == [user_id]

    disabled = await scim("PATCH", f"/Users/{user_id}", {  # §2.4: unassigned → active "False" (P2)
        "schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert disabled.status == 200 and disabled.body["active"] is False
    got = await scim("GET", f"/Users/{user_id}")
    assert got.status == 200 and got.body["active"] is False and got.body[ENTERPRISE] == {"department": "Sales"}
    assert got.headers["ETag"] == got.body["meta"]["version"] != created.body["meta"]["version"]

    deleted = await scim("DELETE", f"/Users/{user_id}")
    assert deleted.status == 204
    assert (await scim("GET", f"/Users/{user_id}")).status == 404
    assert (await scim("GET", _eq("userName", CREATE_USER["userName"]))).body["totalResults"] == 0

    again = await scim("POST", "/Users", CREATE_USER)  # assigned again: a new id, the old one stays 404
    assert again.status == 201 and again.body["id"] == f"{user_id}.1"
    assert (await scim("GET", f"/Users/{user_id}")).status == 404
    assert (await scim("GET", f"/Users/{again.body['id']}")).body["active"] is True


@pytest.mark.gen_test
async def test_an_employee_the_portal_moves_to_another_location_is_found_there_by_external_id(
        scim: Any, pg_gateway: PgGateway, pg_directory_dsn: str) -> None:
    """The portal's ``UPDATE employees SET location_id`` leaves the gateway's row behind: look-ups
    follow the employee's location, not the gateway row's."""
    created = await scim("POST", "/Users", CREATE_USER)
    assert created.status == 201, created.body
    portal = await asyncpg.connect(pg_directory_dsn)
    try:
        await portal.execute("UPDATE employees SET location_id = 2 WHERE id = $1", int(created.body["id"]))
    finally:
        await portal.close()
    second = pg_gateway.codec.issue(2, await pg_gateway.opened.state.enable("2"))
    moved = await scim("GET", _eq("externalId", CREATE_USER["externalId"]), token=second, location=2)
    assert [r["id"] for r in moved.body["Resources"]] == [created.body["id"]], moved.body
    assert (await scim("GET", _eq("externalId", CREATE_USER["externalId"]))).body["totalResults"] == 0

@pytest.mark.gen_test
async def test_a_revocation_by_another_process_is_honoured_at_once(scim: Any, pg_gateway: PgGateway) -> None:
    assert (await scim("GET", "/Users")).status == 200
    other_process = VizmoPostgresAdapter.from_options(pg_gateway.config.adapter_options)
    await other_process.start()
    state = other_process.state_store()
    await state.start()
    try:
        new_token = pg_gateway.codec.issue(1, await state.rotate("1"))
        assert (await scim("GET", "/Users")).status == 401
        assert (await scim("GET", "/Users", token=new_token)).status == 200
        await state.remove("1")
        assert (await scim("GET", "/Users", token=new_token)).status == 401
    finally:
        await state.close()
        await other_process.stop()


@pytest.mark.gen_test(timeout=30)
async def test_a_directory_that_hangs_answers_503_with_retry_after_then_recovers(scim: Any,
                                                                                pg_directory_dsn: str) -> None:
    """Issue 16 §2: another session holds an exclusive lock on the employees table, so every read
    of it waits; each request is answered 503 with ``Retry-After`` once the adapter timeout has
    passed, and answered normally as soon as the lock is released."""
    created = await scim("POST", "/Users", CREATE_USER)
    assert created.status == 201, created.body
    user_path = f"/Users/{created.body['id']}"
    holder = await asyncpg.connect(pg_directory_dsn)
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("LOCK TABLE employees IN ACCESS EXCLUSIVE MODE")
        for path in (_eq("userName", CREATE_USER["userName"]), user_path):
            stalled = await scim("GET", path)
            assert stalled.status == 503, (path, stalled.body)
            assert stalled.body["schemas"] == [ERROR] and int(stalled.headers["Retry-After"]) >= 1
        # The server ends the statements the gateway gave up on (statement_timeout): they waited on
        # the lock for ever, one backend each, until the database ran out of connections (a review).
        deadline = asyncio.get_running_loop().time() + 15
        while await holder.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                    "'vizmo-scim-gateway' AND wait_event_type = 'Lock'"):
            assert asyncio.get_running_loop().time() < deadline, "the gateway's statements still wait on the lock"
            await asyncio.sleep(0.1)
        await lock.rollback()
    finally:
        await holder.close()
    again = await scim("GET", user_path)
    assert again.status == 200 and again.body["userName"] == CREATE_USER["userName"]
    found = await scim("GET", _eq("userName", CREATE_USER["userName"]))
    assert found.status == 200 and found.body["totalResults"] == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_database_not_accepting_connections_is_a_503_not_a_500(scim: Any, pg_directory_dsn: str) -> None:
    """``ALTER DATABASE ... ALLOW_CONNECTIONS false`` (a DBA's maintenance) made every request a 500
    with a traceback (SQLSTATE 55000 was not known as "unavailable"; a PostgreSQL review)."""
    assert (await scim("GET", "/Users")).status == 200
    base, _, rest = pg_directory_dsn.rpartition("/")
    database, _, query = rest.partition("?")
    dba = await asyncpg.connect(f"{base}/postgres" + (f"?{query}" if query else ""))  # not the database itself
    try:
        await dba.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await dba.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'vizmo-scim-gateway'")
        for _ in range(3):  # the dropped connections, then new ones refused by the server
            refused = await scim("GET", "/Users")
            assert refused.status == 503 and int(refused.headers["Retry-After"]) >= 1, refused.body
    finally:
        await dba.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await dba.close()
    assert (await scim("GET", "/Users")).status == 200


def _server_processes(cluster: PgCluster) -> list[int]:
    """The postmaster and every process it started (backends, background workers)."""
    postmaster = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


@pytest.mark.gen_test(timeout=60)
async def test_a_server_that_stops_answering_is_a_503_within_the_timeout_then_recovers(
        scim: Any, http_client: Any, base_url: str, pg_gateway: PgGateway, pg_cluster: PgCluster) -> None:
    """Issue 16 §2: PostgreSQL stopped dead (SIGSTOP: a partition, a failover without resets) holds
    the call and its clean-up (a pooled connection's reset); the answer is a 503 all the same,
    not held for the pool's own 10-30 s limits, and the gateway recovers once the server answers."""
    created = await scim("POST", "/Users", CREATE_USER)
    assert created.status == 201, created.body
    user_url = f"{base_url}/scim/v2/locations/1/Users/{created.body['id']}"
    headers = {"Authorization": f"Bearer {pg_gateway.token}"}
    stopped = _server_processes(pg_cluster)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(2):  # the second also meets the connections the first left resetting
            stalled = await http_client.fetch(user_url, headers=headers, raise_error=False,
                                              request_timeout=ADAPTER_TIMEOUT + 4)  # a 599 if held longer
            assert stalled.code == 503 and stalled.headers["Retry-After"] == "5", stalled.code
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    deadline = asyncio.get_running_loop().time() + 30
    while (await scim("GET", f"/Users/{created.body['id']}")).status != 200:
        assert asyncio.get_running_loop().time() < deadline, "no recovery"
        await asyncio.sleep(0.1)


@pytest.mark.gen_test(timeout=30)
async def test_writes_waiting_on_rows_the_portal_locked_leave_connections_to_reads(
        scim: Any, pg_directory_dsn: str) -> None:
    """A portal job holds rows locked; Entra's PATCHes of those users wait for them. They took every
    connection of the pool (4 here), so a read of another user, and every location's token check,
    queued behind them until they gave up (a race review: 503s for everyone). Writes take at most
    three quarters of the pool: the read is answered while the writes still wait."""
    ids = []
    for n in range(7):
        created = await scim("POST", "/Users", {**CREATE_USER, "userName": f"held{n}@contoso.com", "externalId": None})
        assert created.status == 201, created.body
        ids.append(created.body["id"])
    portal, watcher = await asyncpg.connect(pg_directory_dsn), await asyncpg.connect(pg_directory_dsn)
    try:
        job = portal.transaction()
        await job.start()
        await portal.execute("SELECT id FROM employees WHERE id = ANY($1::int[]) FOR UPDATE", [int(i) for i in ids[:6]])
        patches = [asyncio.ensure_future(scim("PATCH", f"/Users/{user_id}", {
            "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Held"}]}))
            for user_id in ids[:6]]
        deadline = asyncio.get_running_loop().time() + 10
        while await watcher.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                     "'vizmo-scim-gateway' AND wait_event_type = 'Lock'") < 3:
            assert asyncio.get_running_loop().time() < deadline, "the PATCHes never reached the locked rows"
            await asyncio.sleep(0.05)
        other = await scim("GET", f"/Users/{ids[6]}")
        assert other.status == 200 and other.body["userName"] == "held6@contoso.com"
        assert not any(patch.done() for patch in patches)  # answered while every write still waited
        await job.rollback()
    finally:
        await portal.close()
        await watcher.close()
    answers = await asyncio.gather(*patches)
    assert {answer.status for answer in answers} <= {200, 503}


@pytest.mark.gen_test(timeout=30)
async def test_readiness_reads_the_directory_and_missing_tables_are_503s(
        scim: Any, http_client: Any, base_url: str, pg_directory_dsn: str) -> None:
    """A PostgreSQL operations review: behind a DBA's LOCK TABLE every request timed out while
    /readyz (SELECT 1) answered 200; and with the gateway's tables missing (an empty database of
    the name, mid-restore) every request was a 500 with a trace (UndefinedTableError)."""
    dba = await asyncpg.connect(pg_directory_dsn)
    try:
        lock = dba.transaction()
        await lock.start()
        await dba.execute("LOCK TABLE employees IN ACCESS EXCLUSIVE MODE")
        ready = await http_client.fetch(f"{base_url}/readyz", raise_error=False)
        assert ready.code == 503
        await lock.rollback()
        assert (await http_client.fetch(f"{base_url}/readyz", raise_error=False)).code == 200
        await dba.execute("ALTER TABLE scim_integrations RENAME TO scim_integrations_away")
        try:
            missing = await scim("GET", "/Users")
            assert missing.status == 503 and missing.body["status"] == "503" and "Retry-After" in missing.headers
        finally:
            await dba.execute("ALTER TABLE scim_integrations_away RENAME TO scim_integrations")
        assert (await scim("GET", "/Users")).status == 200
    finally:
        await dba.close()
