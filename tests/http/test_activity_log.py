"""The provisioning activity log over real HTTP on real storage (issue 15 §1).

Every SCIM request that changes something or is refused gets one entry (attribute names, never
values by default; the request id the answer carried); successful reads and PATCHes that change
nothing get none. On SQLite and PostgreSQL a write's entry is committed in the write's own
transaction: a write the storage rolls back leaves no entry of a change, and every change has its
entry. On LDAP (no transactions) the gateway appends the entry after the write.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from adapters.activity import ActivityEntry, ActivityLog, activity_time
from adapters.vizmo_sqlite.bootstrap import create_directory
from gateway.activity.journal import ActivitySettings, changed_attributes, write_journal
from gateway.activity.recorder import FLUSH_SECONDS, RETRY_MAX_SECONDS, next_pause, prune
from gateway.service import UNAUTHENTICATED_ENTRIES_BURST
from gateway.adapter_setup import OpenAdapter, open_adapter
from gateway.app import make_app
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)
from tests.pg_cluster import PgCluster
from tests.serving import Server, add_integration, cli
from tests.support import Reply

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Deployment:
    kind: str
    opened: OpenAdapter
    ctx: GatewayContext
    token: str
    run_sql: Any  # the portal's view of the directory: run_sql(statement) on its storage

    @property
    def log(self) -> ActivityLog:
        found = self.opened.state.activity_log()
        assert found is not None
        return found


@pytest.fixture(params=["sqlite", "postgres", "ldap"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path, io_loop: Any) -> Iterator[Deployment]:
    data_dir = tmp_path / "data"
    run_sql: Any = None
    if request.param == "sqlite":
        data_dir.mkdir()
        create_directory(data_dir / "directory.db")
        config = GatewayConfig(data_dir=data_dir, base_url="https://scim.example.test")

        def run_sql(statement: str) -> None:
            conn = sqlite3.connect(data_dir / "directory.db", isolation_level=None)
            try:
                conn.executescript(statement)
            finally:
                conn.close()
    elif request.param == "postgres":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        dsn = request.getfixturevalue("pg_directory_dsn")
        (tmp_path / "dsn").write_text(dsn)
        config = GatewayConfig(data_dir=data_dir, base_url="https://scim.example.test", adapter_name="postgres",
                               adapter_options={"dsn_file": str(tmp_path / "dsn"), "max_pool": 2})

        def run_sql(statement: str) -> None:
            cluster.psql(statement, database=dsn.rsplit("/", 1)[1].split("?")[0])
    else:
        slapd: SlapdServer = request.getfixturevalue("slapd_server")
        config = GatewayConfig(data_dir=data_dir, base_url="https://scim.example.test", adapter_name="ldap",
                               adapter_options=slapd.options(request.getfixturevalue("ldap_base")))
    opened = io_loop.run_sync(lambda: open_adapter(config))
    codec = TokenCodec(load_or_create_key(data_dir))
    token = codec.issue(1, io_loop.run_sync(lambda: opened.state.enable("1")))
    ctx = GatewayContext(config=config, adapter=opened.adapter, state=opened.state, tokens=codec)
    yield Deployment(request.param, opened, ctx, token, run_sql)
    io_loop.run_sync(ctx.close)
    io_loop.run_sync(opened.close)


@pytest.fixture
def app(deployment: Deployment) -> Any:
    return make_app(deployment.ctx)


@pytest.fixture
def scim(http_client: Any, base_url: str, deployment: Deployment) -> Any:
    async def call(method: str, path: str, body: Any = None, *, token: str | None = None,
                   location: int = 1, headers: dict[str, str] | None = None) -> Reply:
        headers = {"Content-Type": "application/scim+json", "Authorization": f"Bearer {token or deployment.token}",
                   **(headers or {})}
        payload = b"" if body is None and method in ("POST", "PUT", "PATCH") else (
            None if body is None else json.dumps(body).encode())
        response = await http_client.fetch(f"{base_url}/scim/v2/locations/{location}{path}", method=method,
                                           body=payload, headers=headers, raise_error=False,
                                           allow_nonstandard_methods=True)
        return Reply(response.code, json.loads(response.body) if response.body else None, response.headers)

    return call


async def entries(deployment: Deployment, count: int, *, deadline: float = 10.0) -> list[ActivityEntry]:
    """Location 1's entries, newest first, once there are ``count`` (refusals are appended by a
    background task within a fraction of a second)."""
    loop = asyncio.get_running_loop()
    limit = loop.time() + deadline
    while True:
        found = [record.entry for record in await deployment.log.read("1", limit=1000)]
        if len(found) >= count or loop.time() > limit:
            return found
        await asyncio.sleep(0.05)


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.mark.gen_test(timeout=60)
async def test_changes_and_refusals_are_recorded_and_reads_are_not(scim: Any, deployment: Deployment) -> None:
    created = await scim("POST", "/Users", {"schemas": [CORE, ENTERPRISE], "userName": "ana@contoso.com",
                                            "title": "Host", ENTERPRISE: {"department": "Sales"}})
    assert created.status == 201, created.body
    user = f"/Users/{created.body['id']}"
    patched = await scim("PATCH", user, patch({"op": "replace", "path": "title", "value": "Lead"},
                                              {"op": "replace", "path": "name.givenName", "value": "Ana"}))
    unchanged = await scim("PATCH", user, patch({"op": "replace", "path": "title", "value": "Lead"}))
    read = await scim("GET", user)
    listed = await scim("GET", "/Users?filter=" + quote('userName eq "ana@contoso.com"'))
    replaced = await scim("PUT", user, {"schemas": [CORE], "userName": "ana@contoso.com", "title": "Chief",
                                        "active": True})
    duplicate = await scim("POST", "/Users", {"schemas": [CORE], "userName": "ANA@contoso.com"})
    missing = await scim("GET", "/Users/no-such-id")
    unauthorised = await scim("GET", "/Users", token="not-a-token")
    elsewhere = await scim("GET", "/Users", token="not-a-token", location=999)  # no such location
    deleted = await scim("DELETE", user)
    assert [r.status for r in (patched, unchanged, read, listed, replaced, duplicate, missing, unauthorised,
                               elsewhere, deleted)] == [200, 200, 200, 200, 200, 409, 404, 401, 401, 204]

    log = await entries(deployment, 7)
    assert len(log) == 7  # no entry for the reads, the PATCH that changed nothing, or location 999
    by_request = {e.request_id: e for e in log}
    expected = [
        (created, "POST", "create", 201, None, ("title", "userName", f"{ENTERPRISE}:department")),
        (patched, "PATCH", "patch", 200, None, ("name.givenName", "title")),
        (replaced, "PUT", "replace", 200, None, None),
        (duplicate, "POST", "create", 409, "uniqueness", ()),
        (missing, "GET", "get", 404, None, ()),
        (unauthorised, "GET", "search", 401, None, ()),
        (deleted, "DELETE", "delete", 204, None, ()),
    ]
    for reply, method, operation, status, scim_type, attributes in expected:
        entry = by_request[reply.headers["X-Request-Id"]]
        assert (entry.method, entry.operation, entry.status, entry.scim_type) == (method, operation, status, scim_type)
        assert entry.tenant == "1" and entry.values is None
        if attributes is not None:
            assert set(attributes) <= set(entry.attributes), entry
            assert not set(entry.attributes) & {"id", "meta", "schemas"}
        if status < 300 or status == 409:
            assert entry.user_name.lower() == "ana@contoso.com", entry
        assert entry.time.endswith("Z") and len(entry.time) == len("2026-12-05T08:00:00.000Z")
    assert "title" in by_request[replaced.headers["X-Request-Id"]].attributes
    assert by_request[missing.headers["X-Request-Id"]].resource_id == "no-such-id"
    assert [e.time for e in log] == sorted((e.time for e in log), reverse=True)  # newest first
    refused = [record.entry for record in await deployment.log.read("1", outcome="refused")]
    assert {e.status for e in refused} == {409, 404, 401}
    mine = await deployment.log.read("1", user_name="ANA@CONTOSO.COM", outcome="changed")
    assert len(mine) == 4
    summary = await deployment.log.summary("1", activity_time(datetime.now(timezone.utc) - timedelta(hours=24)))
    assert (summary.writes, summary.refusals) == (4, 3) and summary.last_time == log[0].time


@pytest.mark.gen_test(timeout=60)
async def test_a_refused_request_to_a_user_is_found_by_that_users_username(scim: Any, deployment: Deployment) -> None:
    """A PATCH answered 412 or 400 and a DELETE answered 412 carry no userName: their entries get
    the user's, so the Activity page's userName filter finds them (before, only the user's
    changes). An id no user has stays unnamed; so do a /Groups path's id that a user has and a
    request with a wrong token (anyone can send those: they cost no directory read)."""
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "bo@contoso.com"})
    assert created.status == 201, created.body
    user_id = created.body["id"]
    stale = {"If-Match": 'W/"not-the-version"'}
    replace_title = patch({"op": "replace", "path": "title", "value": "Lead"})
    refused = [
        await scim("PATCH", f"/Users/{user_id}", replace_title, headers=stale),
        await scim("PATCH", f"/Users/{user_id}", patch({"op": "frobnicate", "path": "title", "value": "x"})),
        await scim("DELETE", f"/Users/{user_id}", headers=stale),
    ]
    unnamed = [await scim("GET", "/Users/no-such-id"), await scim("GET", f"/Groups/{user_id}"),
               await scim("PATCH", f"/Users/{user_id}", replace_title, token="not-a-token")]
    assert [r.status for r in refused + unnamed] == [412, 400, 412, 404, 404, 401]

    by_request = {e.request_id: e for e in await entries(deployment, 7)}
    for reply in refused:
        assert by_request[reply.headers["X-Request-Id"]].user_name == "bo@contoso.com"
    for reply in unnamed:
        assert by_request[reply.headers["X-Request-Id"]].user_name is None
    found = await deployment.log.read("1", user_name="BO@contoso.com", outcome="refused")
    assert sorted(record.entry.status for record in found) == [400, 412, 412]


@pytest.mark.gen_test(timeout=60)
async def test_a_write_the_storage_rolls_back_leaves_no_entry_of_a_change(scim: Any, deployment: Deployment) -> None:
    if deployment.kind == "ldap":
        pytest.skip("LDAP has no transactions: the gateway appends the entry after the write")
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "rb@contoso.com", "title": "A"})
    user = f"/Users/{created.body['id']}"
    if deployment.kind == "sqlite":  # the portal's own rule, as a trigger: no 'Forbidden' title
        deployment.run_sql("CREATE TRIGGER no_forbidden BEFORE UPDATE ON employees WHEN NEW.designation = "
                           "'Forbidden' BEGIN SELECT RAISE(ABORT, 'not allowed'); END;")
    else:
        deployment.run_sql("CREATE FUNCTION no_forbidden() RETURNS trigger AS $$ BEGIN IF NEW.designation = "
                           "'Forbidden' THEN RAISE EXCEPTION 'not allowed'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
                           "CREATE TRIGGER no_forbidden BEFORE UPDATE ON employees FOR EACH ROW EXECUTE FUNCTION "
                           "no_forbidden();")
    failed = await scim("PATCH", user, patch({"op": "replace", "path": "title", "value": "Forbidden"}))
    # the directory's own rule refusing it: a 400 naming the rule, not a 5xx Entra would retry for ever
    assert failed.status == 400 and failed.body["detail"] == "the directory refused the change: not allowed", failed.body
    ok = await scim("PATCH", user, patch({"op": "replace", "path": "title", "value": "Allowed"}))
    assert ok.status == 200
    log = await entries(deployment, 3)
    changes = [e for e in log if e.status < 400]
    assert [(e.operation, e.request_id) for e in changes] == [
        ("patch", ok.headers["X-Request-Id"]), ("create", created.headers["X-Request-Id"])]
    refusal = next(e for e in log if e.request_id == failed.headers["X-Request-Id"])
    assert refusal.status == failed.status and refusal.attributes == ()


@pytest.mark.gen_test(timeout=60)
async def test_every_change_has_exactly_one_entry_under_concurrent_writes(scim: Any, deployment: Deployment) -> None:
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "many@contoso.com"})
    user = f"/Users/{created.body['id']}"
    replies = await asyncio.gather(*(scim("PATCH", user, patch({"op": "add", "path": "emails", "value": [
        {"value": f"m{n}@contoso.com", "type": "other"}]})) for n in range(12)))
    assert all(r.status == 200 for r in replies)
    log = await entries(deployment, 13)
    ids = [e.request_id for e in log if e.operation == "patch"]
    assert sorted(ids) == sorted(r.headers["X-Request-Id"] for r in replies)


@pytest.mark.gen_test(timeout=60)
async def test_a_put_that_changes_nothing_has_no_entry(scim: Any, deployment: Deployment) -> None:
    """As a PATCH that changes nothing has none (Okta PUTs the whole user on every profile push;
    each such PUT was a 'replace' entry naming no attribute, an activity review)."""
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": "same@contoso.com", "title": "Host"})
    user = f"/Users/{created.body['id']}"
    shown = await scim("GET", user)
    again = await scim("PUT", user, shown.body)
    assert again.status == 200 and {k: v for k, v in again.body.items() if k != "meta"} == \
        {k: v for k, v in shown.body.items() if k != "meta"}, again.body
    changed = await scim("PUT", user, {**shown.body, "title": "Lead"})
    assert changed.status == 200, changed.body
    log = await entries(deployment, 2)
    assert [(e.operation, e.attributes) for e in log] == [("replace", ("title",)), ("create", log[-1].attributes)]


@pytest.mark.gen_test(timeout=60)
async def test_a_stop_during_a_flush_stores_the_refusals_it_held(scim: Any, deployment: Deployment,
                                                                 tmp_path: Path) -> None:
    """A stop cancelled the flush under way, and the batch it had taken off the queue was lost,
    nothing logged (an activity review stopped a gateway while the store was locked)."""
    if deployment.kind != "sqlite":
        pytest.skip("the recorder's rule, one storage is enough")
    recorder = deployment.ctx.recorder
    assert recorder is not None
    holder = sqlite3.connect(tmp_path / "data" / "directory.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the portal holds the write lock
    try:
        refused = [await scim("PATCH", "/Users/1", patch({"op": "bogus"})) for _ in range(3)]
        assert {r.status for r in refused} == {400}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while recorder._pending and loop.time() < deadline:  # the flusher took them: it waits for the lock
            await asyncio.sleep(0.01)
        assert not recorder._pending
        stopping = asyncio.ensure_future(recorder.close())
        await asyncio.sleep(0)
        assert not stopping.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await stopping
    stored = await entries(deployment, 3)
    assert sorted(e.request_id for e in stored) == sorted(r.headers["X-Request-Id"] for r in refused)


def test_changed_attribute_names_and_values_only_when_asked() -> None:
    before = {"id": "1", "userName": "a@b.c", "name": {"givenName": "A", "familyName": "B"}, "title": "T",
              "emails": [{"value": "x"}], ENTERPRISE: {"department": "D"}, "meta": {"version": "1"}}
    after = {"id": "1", "userName": "a@b.c", "name": {"givenName": "Z", "familyName": "B"},
             "emails": [{"value": "y"}], ENTERPRISE: {"department": "E", "employeeNumber": "7"},
             "meta": {"version": "2"}}
    assert changed_attributes(before, after) == (
        "emails", "name.givenName", "title", f"{ENTERPRISE}:department", f"{ENTERPRISE}:employeeNumber")
    quiet = write_journal(ActivitySettings(), "1", "patch", "r1")(before, after)
    assert quiet.values is None and quiet.user_name == "a@b.c" and quiet.resource_id == "1"
    loud = write_journal(ActivitySettings(log_values=True), "1", "patch", "r1")(before, after)
    assert loud.values == {"emails": [{"value": "y"}], "name.givenName": "Z", "title": None,
                           f"{ENTERPRISE}:department": "E", f"{ENTERPRISE}:employeeNumber": "7"}


@pytest.mark.gen_test
async def test_retention_prunes_old_entries_in_batches(deployment: Deployment) -> None:
    if deployment.kind != "sqlite":
        pytest.skip("one storage is enough for the age rule")
    now = datetime.now(timezone.utc)

    def entry(age_days: float, n: int) -> ActivityEntry:
        return ActivityEntry(activity_time(now - timedelta(days=age_days)), "1", "GET", "get", None, None, (), 401,
                             None, f"r{n}")

    await deployment.log.append([entry(100, n) for n in range(5)] + [entry(10, n) for n in range(5, 8)])
    assert await prune(deployment.log, 90, batch=2, pause=0) == 0  # kept: within 90 days of the newest entry
    await deployment.log.append([entry(0, 8)])
    assert await prune(deployment.log, 90, batch=2, pause=0) == 5
    kept = [r.entry.request_id for r in await deployment.log.read("1")]
    assert sorted(kept) == ["r5", "r6", "r7", "r8"]
    assert await prune(deployment.log, 90, batch=2, pause=0) == 0


@pytest.mark.gen_test
async def test_a_clock_running_fast_at_a_prune_deletes_nothing_recent(deployment: Deployment) -> None:
    """Every entry was deleted for good when the clock ran 100 days fast at a prune (an NTP step,
    a VM resumed: a review); an entry is now kept while it is within the retention of the newest
    one. The log here is what the clock sees then: every entry 100 days old, across locations."""
    moment = datetime.now(timezone.utc) - timedelta(days=100)
    await deployment.log.append([ActivityEntry(activity_time(moment + timedelta(minutes=n)), str(1 + n % 2), "GET",
                                               "get", None, None, (), 401, None, f"f{n}") for n in range(6)])
    assert await prune(deployment.log, 90, batch=2, pause=0) == 0
    assert len(await deployment.log.read("1")) == 3 and len(await deployment.log.read("2")) == 3
    assert await deployment.log.newest_time() == activity_time(moment + timedelta(minutes=5))


async def after_a_marker(scim: Any, deployment: Deployment) -> list[ActivityEntry]:
    """Location 1's entries once an authenticated refusal sent now is among them: the refusals
    queued before it have been appended by then."""
    marker = await scim("GET", "/Users/999999")
    assert marker.status == 404
    found = await entries(deployment, 1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not any(e.request_id == marker.headers["X-Request-Id"] for e in found):
        assert loop.time() < deadline, "the marker's entry never arrived"
        await asyncio.sleep(0.05)
        found = [record.entry for record in await deployment.log.read("1", limit=1000)]
    return found


@pytest.mark.gen_test(timeout=60)
async def test_a_refusal_holding_what_no_storage_keeps_is_stored_and_holds_up_nothing(
        scim: Any, deployment: Deployment) -> None:
    """A path id with ``%00``, sent by anyone without a token, was an entry PostgreSQL refused for
    good: it stayed at the head of the queue, retried every 0.2 s, and no refusal of any location
    was stored after it (a tenant-isolation review). Such characters are kept as U+FFFD."""
    assert (await scim("GET", "/Users/x%00y", token="not-a-token")).status == 401
    found = await after_a_marker(scim, deployment)
    assert [e.resource_id for e in found if e.status == 401] == ["x\ufffdy"]


@pytest.mark.gen_test(timeout=60)
async def test_an_entry_the_storage_refuses_is_dropped_and_the_rest_are_stored(scim: Any,
                                                                              deployment: Deployment) -> None:
    """Whatever else a storage may refuse in an entry: that entry is dropped with a WARNING, the
    entries queued with it and after it are stored (one refused for good held them all)."""
    if deployment.kind != "postgres":
        pytest.skip("PostgreSQL is the storage here that refuses a value (NUL) of an entry")
    recorder = deployment.ctx.recorder
    assert recorder is not None
    def entry(resource_id: str) -> ActivityEntry:
        return ActivityEntry(time=activity_time(), tenant="1", method="GET", operation="read", resource_id=resource_id,
                             user_name=None, attributes=(), status=404, scim_type=None, request_id=resource_id)
    for resource_id in ("before", "nul\x00", "after"):
        recorder.record(entry(resource_id))
    found = await after_a_marker(scim, deployment)
    assert {"before", "after"} <= {e.resource_id for e in found}
    assert not [e for e in found if "nul" in (e.resource_id or "")]


@pytest.mark.gen_test(timeout=60)
async def test_a_flood_of_unauthenticated_refusals_is_journaled_bounded(scim: Any, deployment: Deployment) -> None:
    """Anyone can send refused requests to a Tenant URL, and each refusal was a row with the path id
    at full length (fuzzing: 2,000 in 2 s grew the directory by 21 MB): refusals before
    authentication are kept at most one a second per location after a burst, ids cut to 256."""
    if deployment.kind != "sqlite":
        pytest.skip("the bound is the gateway's, one storage is enough")
    sent = 60
    for n in range(sent):
        assert (await scim("DELETE", f"/Users/{'A' * 4000}{n}", token="not-a-token")).status == 401
    found = await after_a_marker(scim, deployment)
    unauthenticated = [e for e in found if e.status == 401]
    assert 1 <= len(unauthenticated) < sent
    assert max(len(e.resource_id or "") for e in unauthenticated) <= 256


@pytest.mark.gen_test(timeout=60)
async def test_a_flood_spread_over_many_locations_is_journaled_bounded_too(scim: Any,
                                                                           deployment: Deployment) -> None:
    """The bound was per location only, and location ids are small numbers: one refusal to each of
    a thousand locations was a thousand rows (a review: 73,353 in 60 s). Refusals before
    authentication are bounded for all locations together as well."""
    if deployment.kind != "sqlite":
        pytest.skip("the bound is the gateway's, one storage is enough")
    sent = UNAUTHENTICATED_ENTRIES_BURST + 150
    deployment.run_sql("INSERT INTO locations (id, company_id, name) VALUES " +
                       ", ".join(f"({n}, 1, 'Office {n}')" for n in range(100, 100 + sent)) + ";")
    for round_ in ("learn", "flood"):  # the first round's entries tell the gateway these locations exist
        for n in range(100, 100 + sent):  # one refusal per location: each location's own bucket allows it
            assert (await scim("DELETE", f"/Users/{round_}", location=n, token="not-a-token")).status == 401
        await after_a_marker(scim, deployment)  # the refusals before it are appended
    stored = [e.resource_id for n in range(100, 100 + sent) for e in
              [r.entry for r in await deployment.log.read(str(n), limit=10)]]
    assert stored.count("learn") == sent
    assert UNAUTHENTICATED_ENTRIES_BURST <= stored.count("flood") < sent, stored.count("flood")


@pytest.mark.gen_test(timeout=60)
async def test_refusals_to_made_up_locations_do_not_crowd_out_a_real_ones(scim: Any, deployment: Deployment) -> None:
    """Refusals to locations that do not exist are never stored, and they used up the allowance all
    locations share, so a real location's refusals went unrecorded (a security review: 0 of 10)."""
    if deployment.kind != "sqlite":
        pytest.skip("the bound is the gateway's, one storage is enough")
    for n in range(UNAUTHENTICATED_ENTRIES_BURST + 50):
        for made_up in (f"x{n}", f"9000{n}"):
            assert (await scim("GET", "/Users", location=made_up, token="not-a-token")).status == 401
    await after_a_marker(scim, deployment)  # the made-up locations are known not to exist by now
    for n in range(UNAUTHENTICATED_ENTRIES_BURST + 50):
        assert (await scim("GET", "/Users", location=f"9000{n}", token="not-a-token")).status == 401
    for n in range(5):
        assert (await scim("DELETE", f"/Users/probe{n}", token="not-a-token")).status == 401
    found = await after_a_marker(scim, deployment)
    assert sorted(e.resource_id for e in found if e.status == 401) == [f"probe{n}" for n in range(5)]


@pytest.mark.gen_test(timeout=60)
async def test_a_location_the_portal_adds_later_gets_its_refusals_logged(scim: Any, deployment: Deployment) -> None:
    """"No such location" was believed for good: refusals to a location that did not exist when a
    request first named it were dropped after the portal added it, until a restart (a soak review).
    Now that belief lasts ``absent_seconds`` (60 by default; shortened here)."""
    if deployment.kind != "sqlite":
        pytest.skip("the recorder's rule, one storage is enough")
    recorder = deployment.ctx.recorder
    assert recorder is not None
    recorder.absent_seconds = 0.5
    assert (await scim("GET", "/Users", location=77, token="not-a-token")).status == 401
    await after_a_marker(scim, deployment)
    assert recorder.exists("77") is False  # looked up when its entry was dropped
    deployment.run_sql("INSERT INTO locations (id, company_id, name) VALUES (77, 1, 'Goa')")
    loop = asyncio.get_running_loop()
    deadline, sent = loop.time() + 10, 0
    while not [r for r in await deployment.log.read("77", limit=10) if r.entry.status == 401]:
        assert loop.time() < deadline, "no refusal of the new location was ever stored"
        assert (await scim("DELETE", f"/Users/probe{sent}", location=77, token="not-a-token")).status == 401
        await after_a_marker(scim, deployment)
        sent += 1
    assert recorder.exists("77") is True


def test_the_activity_command_escapes_what_a_terminal_would_act_on(tmp_path: Path) -> None:
    """A refused request's path id reaches the operator's terminal through ``vizmo-scim activity``:
    escape sequences retitled and cleared it (found by fuzzing); they are printed as escapes."""
    server = Server(tmp_path / "data")
    server.start()
    try:
        token = add_integration(server.data_dir)["secret_token"]
        hostile = "\x1b]0;pwned\x07\x1b[2J\r\nFAKE\u009b\u202e"
        assert server.request("GET", "/Users/" + quote(hostile, safe=""), token)[0] == 404
        data = ["--data-dir", str(server.data_dir), "--location", "1"]
        deadline = time.monotonic() + 10
        while not json.loads(cli("activity", *data, "--json").stdout):  # appended by a background task
            assert time.monotonic() < deadline, "the refusal's entry never arrived"
            time.sleep(0.1)
        as_json = cli("activity", *data, "--json").stdout
        text = cli("activity", *data).stdout
        for output in (as_json, text):
            assert not set(output) & set("\x1b\x07\r\u009b\u202e"), output
        assert json.loads(as_json)[0]["resource_id"] == hostile  # the JSON still says exactly what was sent
        assert len(text.strip().splitlines()) == 1 and "\\u001b]0;pwned\\u0007" in text
    finally:
        server.stop()


def test_the_activity_command_prints_newest_first_while_serve_runs(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()
    try:
        token = add_integration(server.data_dir)["secret_token"]
        for n in range(3):
            assert server.request("POST", "/Users", token, {"schemas": [CORE], "userName": f"u{n}@x.io"})[0] == 201
        assert server.request("GET", "/Users/missing", token)[0] == 404
        data = ["--data-dir", str(server.data_dir), "--location", "1"]
        deadline = time.monotonic() + 10
        while True:  # the 404's entry is appended by a background task of the server
            result = cli("activity", *data, "--json")
            assert result.returncode == 0, result.stderr
            found = json.loads(result.stdout)
            if len(found) == 4 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [list(e) for e in found] == [["time", "location_id", "method", "operation", "resource_id", "user_name",
                                             "attributes", "status", "scim_type", "request_id"]] * 4
        assert [(e["operation"], e["status"]) for e in found] == [("get", 404)] + [("create", 201)] * 3
        assert found[1]["user_name"] == "u2@x.io" and found[1]["location_id"] == 1
        assert "userName" in found[1]["attributes"] and isinstance(found[1]["status"], int)
        limited = json.loads(cli("activity", *data, "--json", "--limit", "2").stdout)
        assert limited == found[:2]
        future = cli("activity", *data, "--json", "--since", "2999-01-01")
        assert json.loads(future.stdout) == []
        text = cli("activity", *data)
        assert text.returncode == 0 and len(text.stdout.strip().splitlines()) == 4 and "u2@x.io" in text.stdout
        bad = cli("activity", *data, "--since", "yesterday")
        assert bad.returncode == 2 and "--since" in bad.stderr
        # older entries of a busy location, and one user's (a review: only the newest 10,000 were reachable)
        older = json.loads(cli("activity", *data, "--json", "--until", found[1]["time"]).stdout)
        assert older == [e for e in found if e["time"] <= found[1]["time"]] and found[0] not in older
        mine = json.loads(cli("activity", *data, "--json", "--user", "U1@X.IO").stdout)
        assert [e["user_name"] for e in mine] == ["u1@x.io"]
        nobody = cli("activity", *data, "--user", "nobody@x.io", "--until", "2026-01-01")
        assert nobody.stdout.strip() == "No activity recorded for location 1 up to 2026-01-01T23:59:59.999Z for " \
                                        "nobody@x.io."
        today = json.loads(cli("activity", *data, "--json", "--until", found[0]["time"][:10]).stdout)
        assert today == found  # a date alone is the whole day: its entries were all left out
        assert cli("activity", *data, "--until", "soon").returncode == 2
        for moment in ("0999-01-01", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"):  # a review
            refused = cli("activity", *data, "--until", moment)  # sorted after 2026, or a traceback
            assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    finally:
        server.stop()


def test_tries_while_the_store_fails_come_less_and_less_often() -> None:
    """Every 0.2 s while the store was down: five WARNING lines (and connection attempts) a second
    per worker, 18,000 an hour (a durability review)."""
    pauses, pause = [], FLUSH_SECONDS
    for _ in range(12):
        pause = next_pause(pause, stored=False)
        pauses.append(pause)
    assert pauses[:3] == [2 * FLUSH_SECONDS, 4 * FLUSH_SECONDS, 8 * FLUSH_SECONDS]
    assert pauses[-1] == RETRY_MAX_SECONDS and sum(pauses) > 60  # 12 tries take over a minute
    assert next_pause(RETRY_MAX_SECONDS, stored=True) == FLUSH_SECONDS  # back to normal once stored
