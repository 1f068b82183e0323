"""The PostgreSQL adapter on a real server: SCIM semantics equal to the SQLite adapter's, the
database as the uniqueness guard across processes (two adapters = two pools = two gateway
processes), the shared state store, the options and the DSN's secrecy, and an unreachable server.

Every test gets a fresh copy of a Vizmo directory (locations 1 and 2, no ``scim_`` tables yet)
and runs its coroutines on a private event loop, where the adapters' pools live and die.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from jsonschema import Draft202012Validator

from adapters.errors import AlreadyExists, InvalidValue, NotFound, Unavailable, VersionMismatch
from adapters.query import AttrPath, Compare, ListQuery, SortSpec
from adapters.testkit import full_user, run_in_fresh_loop, user_view
from adapters.vizmo_postgres.adapter import VizmoPostgresAdapter
from adapters.vizmo_postgres.db import DsnSource, PgDatabase
from adapters.vizmo_sqlite.mapping import version_tag
from adapters.versions import ExpectedVersion, opaque
from tests.pg_cluster import remove_cluster, start_cluster

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def run(loop: asyncio.AbstractEventLoop) -> Run[Any]:
    """Run a coroutine on the test's loop (bounded, so a deadlock fails instead of hanging)."""
    return lambda aw: loop.run_until_complete(asyncio.wait_for(aw, 60))


@pytest.fixture
def dsn_file(tmp_path: Path, pg_directory_dsn: str) -> Path:
    path = tmp_path / "directory.dsn"
    path.write_text(pg_directory_dsn + "\n", encoding="utf-8")
    return path


def _started(run: Run[Any], dsn_file: Path, **options: Any) -> VizmoPostgresAdapter:
    adapter = VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file), **options})
    run(adapter.start())
    return adapter


@pytest.fixture
def adapter(run: Run[Any], dsn_file: Path) -> Iterator[VizmoPostgresAdapter]:
    adapter = _started(run, dsn_file)
    yield adapter
    run(adapter.stop())


@pytest.fixture
def second(run: Run[Any], dsn_file: Path) -> Iterator[VizmoPostgresAdapter]:
    """Another adapter on the same database with its own pool: another gateway process."""
    adapter = _started(run, dsn_file)
    yield adapter
    run(adapter.stop())


@pytest.fixture
def sql(run: Run[Any], pg_directory_dsn: str) -> Callable[..., list[asyncpg.Record]]:
    """``sql(query, *args)``: SQL as the portal runs it (its own connection, autocommitted)."""
    async def query(text: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(pg_directory_dsn)
        try:
            return list(await conn.fetch(text, *args))
        finally:
            await conn.close()

    return lambda text, *args: run(query(text, *args))


def _employee(sql: Callable[..., list[asyncpg.Record]], email: str, location: int = 1, **columns: Any) -> int:
    """A portal employee (no ``scim_users`` row)."""
    values = {"first_name": "", "last_name": "", "status": "active", **columns}
    names = ", ".join(values)
    marks = ", ".join(f"${i}" for i in range(3, len(values) + 3))
    rows = sql(f"INSERT INTO employees (location_id, email, {names}, created_at, updated_at) "
               f"VALUES ($1, $2, {marks}, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z') RETURNING id",
               location, email, *values.values())
    return int(rows[0]["id"])


def _eq(attr: str, value: str) -> ListQuery:
    return ListQuery(filter=Compare(AttrPath(attr), "eq", value))


# --- CRUD, as the SQLite adapter does it -----------------------------------------------------------

def test_create_then_get_returns_what_was_sent_and_fills_the_legacy_row(
        run: Run[Any], adapter: VizmoPostgresAdapter, sql: Any) -> None:
    users = adapter.resource_adapter("User", "1")
    sent = full_user("Alice@Example.com", emails=[{"value": "alice@work.example", "type": "work", "primary": True}])
    sent["phoneNumbers"] = [{"type": "work", "value": "+1 555 0100"}, {"type": "fax", "value": "+1 555 0199"}]
    sent["nickName"] = "Al"
    created = run(users.create(sent))
    assert user_view(created) == user_view(sent)
    assert run(users.get(created["id"])) == created
    (row,) = sql("SELECT e.*, s.scim_id, s.external_id, s.extra::text AS extra, s.version, s.incarnation "
                 "FROM employees e JOIN scim_users s ON s.employee_id = e.id")
    assert created["id"] == str(row["id"]) == row["scim_id"]
    assert (row["email"], row["first_name"], row["last_name"], row["designation"], row["department"],
            row["phone"], row["status"]) == ("Alice@Example.com", "Alice", "Example", "Engineer", "Research",
                                             "+1 555 0100", "active")
    assert json.loads(row["extra"])["nickName"] == "Al" and row["external_id"] == "ext-Alice"
    assert created["meta"]["version"] == version_tag(row)
    assert created["meta"]["created"] == created["meta"]["lastModified"] == row["created_at"]


def test_usernames_are_unique_per_location_ignoring_case(run: Run[Any], adapter: VizmoPostgresAdapter) -> None:
    users = adapter.resource_adapter("User", "1")
    created = run(users.create(full_user("Alice@Example.com")))
    with pytest.raises(AlreadyExists):
        run(users.create(full_user("alice@EXAMPLE.com")))
    run(users.replace(created["id"], full_user("Alice@Example.com", active=False)))
    with pytest.raises(AlreadyExists):  # a disabled user still holds the address
        run(users.create(full_user("ALICE@example.com")))
    other = run(adapter.resource_adapter("User", "2").create(full_user("alice@example.com")))
    assert other["id"] != created["id"]
    page = run(users.search(_eq("userName", "ALICE@EXAMPLE.COM")))
    assert [r["id"] for r in page.resources] == [created["id"]] and page.total_results == 1


def test_delete_then_create_revives_the_row_under_a_new_id(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                            sql: Any) -> None:
    users = adapter.resource_adapter("User", "1")
    first = run(users.create(full_user("bob@example.com")))
    run(users.delete(first["id"]))
    for call in (users.get(first["id"]), users.delete(first["id"]),
                 users.replace(first["id"], full_user("bob@example.com"))):
        with pytest.raises(NotFound):
            run(call)
    assert run(users.search(_eq("userName", "bob@example.com"))).total_results == 0
    assert run(users.search(_eq("externalId", "ext-bob"))).total_results == 0
    assert sql("SELECT status FROM employees")[0]["status"] == "removed"
    again = run(users.create(full_user("BOB@example.com", external_id="new-anchor")))
    assert again["id"] == f"{first['id']}.1" and again["externalId"] == "new-anchor"
    assert [r["id"] for r in run(users.search(_eq("userName", "bob@example.com"))).resources] == [again["id"]]
    with pytest.raises(NotFound):
        run(users.get(first["id"]))
    run(users.delete(again["id"]))
    assert run(users.create(full_user("bob@example.com")))["id"] == f"{first['id']}.2"
    assert [r["status"] for r in sql("SELECT status FROM employees")] == ["active"]  # one row throughout


def test_a_recreated_account_does_not_inherit_portal_roles(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                           sql: Any) -> None:
    users = adapter.resource_adapter("User", "1")
    first = run(users.create(full_user("admin@example.com")))
    sql("INSERT INTO employee_roles (employee_id, role) VALUES ($1, 'location_admin')", int(first["id"]))
    run(users.delete(first["id"]))
    assert len(sql("SELECT 1 FROM employee_roles")) == 1  # deprovisioning keeps the portal's history
    run(users.create(full_user("admin@example.com")))
    assert sql("SELECT 1 FROM employee_roles") == []


def test_portal_employees_are_visible_and_adopted(run: Run[Any], adapter: VizmoPostgresAdapter, sql: Any) -> None:
    employee_id = _employee(sql, "carol@example.com", first_name="Carol", phone="020 1234", status="disabled")
    users = adapter.resource_adapter("User", "1")
    seen = run(users.get(str(employee_id)))
    assert seen["userName"] == "carol@example.com" and seen["active"] is False
    assert seen["phoneNumbers"] == [{"type": "work", "value": "020 1234"}] and "externalId" not in seen
    assert run(users.search(_eq("id", str(employee_id)))).total_results == 1
    adopted = run(users.replace(str(employee_id), full_user("carol@example.com"),
                                expected_version=ExpectedVersion.exactly(seen["meta"]["version"])))
    assert adopted["id"] == str(employee_id) and adopted["externalId"] == "ext-carol" and adopted["active"] is True
    assert sql("SELECT scim_id FROM scim_users")[0]["scim_id"] == str(employee_id)
    sql("UPDATE employees SET designation = 'Chief', updated_at = '2030-01-01T00:00:00Z'")  # the portal edits
    edited = run(users.get(str(employee_id)))
    assert edited["title"] == "Chief" and edited["meta"]["version"] != adopted["meta"]["version"]


def test_if_match_guards_replace_and_delete(run: Run[Any], adapter: VizmoPostgresAdapter) -> None:
    users = adapter.resource_adapter("User", "1")
    created = run(users.create(full_user("dan@example.com")))
    stale = created["meta"]["version"]
    current = run(users.replace(created["id"], full_user("dan@example.com", title="New"),
                                expected_version=ExpectedVersion.exactly(stale)))
    with pytest.raises(VersionMismatch):
        run(users.replace(created["id"], full_user("dan@example.com", title="Lost"),
                          expected_version=ExpectedVersion.exactly(stale)))
    with pytest.raises(VersionMismatch):
        run(users.delete(created["id"], expected_version=ExpectedVersion.exactly(stale)))
    assert run(users.get(created["id"])) == current
    listed = run(users.replace(created["id"], full_user("dan@example.com", title="Both"),
                               expected_version=ExpectedVersion(frozenset({'"nope"', opaque(current["meta"]["version"])}))))
    assert run(users.replace(created["id"], full_user("dan@example.com"),
                             expected_version=ExpectedVersion(any_version=True)))["title"] == "Engineer"
    assert listed["title"] == "Both"
    with pytest.raises(NotFound):
        run(users.delete("999", expected_version=ExpectedVersion.exactly(stale)))


def test_replace_onto_a_taken_userName_is_refused(run: Run[Any], adapter: VizmoPostgresAdapter) -> None:
    users = adapter.resource_adapter("User", "1")
    a = run(users.create(full_user("a@example.com")))
    b = run(users.create(full_user("b@example.com")))
    gone = run(users.create(full_user("gone@example.com")))
    run(users.delete(gone["id"]))
    for taken, why in (("A@EXAMPLE.COM", "already taken"), ("gone@EXAMPLE.com", "removed from this location")):
        with pytest.raises(AlreadyExists, match=why):  # a removed row keeps its address, and the detail says so
            run(users.replace(b["id"], full_user(taken)))
    assert run(users.get(b["id"]))["userName"] == "b@example.com"
    assert run(users.replace(a["id"], full_user("A@Example.COM")))["userName"] == "A@Example.COM"


def test_search_pages_counts_and_sorts(run: Run[Any], adapter: VizmoPostgresAdapter) -> None:
    users = adapter.resource_adapter("User", "1")
    for name in ("e", "C", "a", "D", "b"):
        run(users.create(full_user(f"{name}@example.com")))
    page = run(users.search(ListQuery(count=2, sort=SortSpec(AttrPath("userName")))))
    assert [r["userName"] for r in page.resources] == ["a@example.com", "b@example.com"] and page.total_results == 5
    tail = run(users.search(ListQuery(start_index=5, count=2, sort=SortSpec(AttrPath("userName"), True))))
    assert [r["userName"] for r in tail.resources] == ["a@example.com"] and tail.total_results == 5
    assert run(users.search(ListQuery(start_index=9, count=2))).total_results == 5
    assert run(users.search(ListQuery(count=0))).total_results == 5
    assert run(users.search(ListQuery(filter=Compare(AttrPath("userName"), "sw", "x")))).total_results == 0


def test_values_postgres_cannot_store_are_invalid_and_roll_back(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                                 sql: Any) -> None:
    users = adapter.resource_adapter("User", "1")
    for bad in (full_user("nul\x00@example.com"), {**full_user("late@example.com"), "nickName": "a\x00b"},
                {**full_user("late@example.com"), "nickName": "\ud800"}, full_user("x@example.com", title="\ud800")):
        with pytest.raises(InvalidValue):
            run(users.create(bad))
    # "late@example.com": the employees INSERT succeeded before scim_users failed, and was rolled back
    assert sql("SELECT count(*) FROM employees")[0][0] == 0
    created = run(users.create(full_user("ok@example.com")))
    with pytest.raises(InvalidValue):
        run(users.replace(created["id"], {**full_user("ok@example.com", title="T"), "nickName": "\x00"}))
    assert run(users.get(created["id"])) == created


def test_tenants_are_locations_and_isolated(run: Run[Any], adapter: VizmoPostgresAdapter) -> None:
    assert run(adapter.tenant_exists("1")) and run(adapter.tenant_exists("2"))
    for missing in ("3", "abc", "", "１", "99999999999999999999"):
        assert not run(adapter.tenant_exists(missing)), missing
    for resource_type, tenant in (("Group", "1"), ("User", "x"), ("User", "-1")):
        with pytest.raises(NotFound):
            adapter.resource_adapter(resource_type, tenant)
    one, two = adapter.resource_adapter("User", "1"), adapter.resource_adapter("User", "2")
    created = run(one.create(full_user("iso@example.com")))
    for call in (two.get(created["id"]), two.delete(created["id"]), two.replace(created["id"], full_user("i@x.com"))):
        with pytest.raises(NotFound):
            run(call)
    assert run(two.search(ListQuery())).total_results == 0
    run(adapter.check_health())


# --- the database is the uniqueness guard across processes -----------------------------------------

async def _gather(*calls: Awaitable[Any], return_exceptions: bool = False) -> list[Any]:
    """``asyncio.gather`` inside the running loop (its tasks must live on the pools' loop)."""
    return list(await asyncio.gather(*calls, return_exceptions=return_exceptions))


def _outcomes(results: list[Any]) -> tuple[list[dict[str, Any]], list[BaseException]]:
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, BaseException)]
    return wins, losses


def test_concurrent_creates_in_two_processes_have_one_winner(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                             second: VizmoPostgresAdapter, sql: Any) -> None:
    pools = [adapter.resource_adapter("User", "1"), second.resource_adapter("User", "1")]
    for round_ in range(5):
        name = f"race{round_}@example.com"
        calls = [pools[i % 2].create(full_user(name.upper() if i % 3 else name)) for i in range(12)]
        wins, losses = _outcomes(run(_gather(*calls, return_exceptions=True)))
        assert len(wins) == 1 and len(losses) == 11 and all(isinstance(e, AlreadyExists) for e in losses), losses
    assert sql("SELECT count(*) FROM employees")[0][0] == 5
    distinct = [pools[i % 2].create(full_user(f"many{i}@example.com")) for i in range(12)]
    assert len({r["id"] for r in run(_gather(*distinct))}) == 12  # no false clashes


def test_an_insert_waits_for_a_concurrent_writer_and_the_index_decides(
        run: Run[Any], adapter: VizmoPostgresAdapter, pg_directory_dsn: str) -> None:
    """The clash the create's own check cannot see (another process's uncommitted row) is caught
    by the unique index: the INSERT waits for that transaction, then fails or succeeds with it."""
    users = adapter.resource_adapter("User", "1")

    async def scenario(outcome: str) -> Any:
        portal = await asyncpg.connect(pg_directory_dsn)
        try:
            tx = portal.transaction()
            await tx.start()
            await portal.execute("INSERT INTO employees (location_id, email, created_at, updated_at) "
                                 "VALUES (1, $1, 'x', 'x')", f"Held.{outcome}@Example.com")
            create = asyncio.ensure_future(users.create(full_user(f"held.{outcome}@example.com")))
            await asyncio.sleep(0.3)
            assert not create.done(), "the INSERT must wait for the other transaction"
            await (tx.commit() if outcome == "commit" else tx.rollback())
            return await asyncio.gather(create, return_exceptions=True)
        finally:
            await portal.close()

    (committed,) = run(scenario("commit"))
    assert isinstance(committed, AlreadyExists)
    (rolled_back,) = run(scenario("rollback"))
    assert isinstance(rolled_back, dict) and rolled_back["userName"] == "held.rollback@example.com"


def test_concurrent_recreates_and_renames_have_one_winner(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                          second: VizmoPostgresAdapter) -> None:
    one, two = adapter.resource_adapter("User", "1"), second.resource_adapter("User", "1")
    gone = run(one.create(full_user("gone@example.com")))
    run(one.delete(gone["id"]))
    wins, losses = _outcomes(run(_gather(
        *[(one, two)[i % 2].create(full_user("gone@example.com")) for i in range(8)], return_exceptions=True)))
    assert [w["id"] for w in wins] == [f"{gone['id']}.1"] and all(isinstance(e, AlreadyExists) for e in losses)
    a = run(one.create(full_user("a@example.com")))
    b = run(two.create(full_user("b@example.com")))
    wins, losses = _outcomes(run(_gather(one.replace(a["id"], full_user("Taken@example.com")),
                                                two.replace(b["id"], full_user("taken@EXAMPLE.com")),
                                                return_exceptions=True)))
    assert len(wins) == 1 and len(losses) == 1 and isinstance(losses[0], AlreadyExists), losses


def test_concurrent_writes_guarded_by_one_version_have_one_winner(
        run: Run[Any], adapter: VizmoPostgresAdapter, second: VizmoPostgresAdapter) -> None:
    one, two = adapter.resource_adapter("User", "1"), second.resource_adapter("User", "1")
    created = run(one.create(full_user("v@example.com")))
    version = created["meta"]["version"]
    results = run(_gather(*[(one, two)[i % 2].replace(created["id"], full_user("v@example.com", title=f"T{i}"),
                                                              expected_version=ExpectedVersion.exactly(version)) for i in range(8)],
                                 return_exceptions=True))
    wins, losses = _outcomes(results)
    assert len(wins) == 1 and all(isinstance(e, VersionMismatch) for e in losses), losses
    assert run(two.get(created["id"])) == wins[0]


# --- the state store: every process sees every change at once -------------------------------------

def test_state_changes_are_seen_by_another_process_at_once(run: Run[Any], adapter: VizmoPostgresAdapter,
                                                          second: VizmoPostgresAdapter) -> None:
    mine, theirs = adapter.state_store(), second.state_store()
    run(mine.start())
    run(theirs.start())
    try:
        assert run(theirs.active_token_id("1")) is None
        token = run(mine.enable("1"))
        assert run(theirs.active_token_id("1")) == token
        rotated = run(theirs.rotate("1"))
        assert rotated != token and run(mine.active_token_id("1")) == rotated
        with pytest.raises(AlreadyExists):  # enabling an enabled tenant changes nothing: rotate does
            run(mine.enable("1"))
        assert run(theirs.active_token_id("1")) == rotated
        run(mine.enable("2"))
        listed = run(theirs.list())
        assert [i.tenant for i in listed] == ["1", "2"] and listed[0].token_id == rotated
        assert listed[0].created_at <= listed[0].rotated_at and listed[0].created_at.endswith("Z")
        run(theirs.remove("1"))
        assert run(mine.active_token_id("1")) is None
        for call in (mine.remove("1"), mine.rotate("1"), mine.enable("abc"), mine.remove("x")):
            with pytest.raises(NotFound):
                run(call)
        for tenant in ("abc", "", "99999999999999999999"):
            assert run(mine.active_token_id(tenant)) is None
    finally:
        run(mine.close())
        run(theirs.close())


def test_the_state_store_shares_the_pool_until_its_last_user_closes(run: Run[Any], dsn_file: Path) -> None:
    adapter = _started(run, dsn_file)
    state = adapter.state_store()
    run(state.start())
    run(adapter.stop())  # the state store still holds the pool
    token = run(state.enable("1"))
    assert run(state.active_token_id("1")) == token
    run(state.close())
    with pytest.raises(Unavailable):
        run(state.active_token_id("1"))
    with pytest.raises(Unavailable):
        run(adapter.check_health())


# --- options, schema, DSN secrecy -------------------------------------------------------------------

def test_options_schema_accepts_no_inline_dsn() -> None:
    validator = Draft202012Validator(dict(VizmoPostgresAdapter.options_schema))
    assert not list(validator.iter_errors({}))
    assert not list(validator.iter_errors({"dsn_env": "MY_DSN", "min_pool": 0, "max_pool": 4, "create_schema": True}))
    for bad in ({"dsn": "postgresql://u:p@h/d"}, {"password": "p"}, {"dsn_env": "1BAD"}, {"max_pool": 0},
                {"create_schema": "yes"}):
        assert list(validator.iter_errors(bad)), bad
    with pytest.raises(ValueError, match="min_pool"):
        VizmoPostgresAdapter.from_options({"min_pool": 5, "max_pool": 2})


def test_the_dsn_comes_from_the_environment(run: Run[Any], pg_directory_dsn: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIZMO_DIRECTORY_DSN", raising=False)
    adapter = VizmoPostgresAdapter.from_options({})
    with pytest.raises(Unavailable, match="VIZMO_DIRECTORY_DSN"):
        run(adapter.start())
    monkeypatch.setenv("VIZMO_DIRECTORY_DSN", pg_directory_dsn)
    run(adapter.start())
    try:
        assert run(adapter.tenant_exists("2"))
    finally:
        run(adapter.stop())
    missing = VizmoPostgresAdapter.from_options({"dsn_file": "/nonexistent/dsn"})
    with pytest.raises(Unavailable, match="the DSN file that dsn_file names"):
        run(missing.start())


def test_the_dsn_and_its_password_never_reach_errors_or_logs(run: Run[Any], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for dsn in ("postgresql://scim:Sekr1t-Passw0rd@127.0.0.1:1/directory",  # nothing listens on port 1
                "postgresql://scim:Sekr1t-Passw0rd@[bad", "postgresql://scim:Sekr1t-Passw0rd@host:Sekr1t/x",
                "mysql://scim:Sekr1t-Passw0rd@host/x"):
        monkeypatch.setenv("VIZMO_TEST_DSN", dsn)
        adapter = VizmoPostgresAdapter.from_options({"dsn_env": "VIZMO_TEST_DSN"})
        with pytest.raises(Unavailable, match="VIZMO_TEST_DSN|connection failed") as caught:
            run(adapter.start())
        chain: BaseException | None = caught.value
        while chain is not None:  # the whole traceback a 5xx would log
            assert "Sekr1t" not in f"{chain} {chain!r}", chain
            chain = chain.__cause__ or chain.__context__
        assert "Sekr1t" not in repr(adapter)
    assert "Sekr1t" not in caplog.text


def test_an_existing_directory_gets_only_the_scim_tables(run: Run[Any], sql: Any, dsn_file: Path) -> None:
    def legacy() -> list[tuple[Any, ...]]:
        return [tuple(r) for r in sql(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name NOT LIKE 'scim\\_%' ORDER BY 1, 2")] + \
            [tuple(r) for r in sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                   "AND tablename NOT LIKE 'scim\\_%' ORDER BY 1")]

    before = legacy()
    for _ in range(2):  # idempotent
        run(_started(run, dsn_file).stop())
    assert legacy() == before
    assert {r[0] for r in sql("SELECT tablename FROM pg_tables WHERE tablename LIKE 'scim\\_%'")} == \
        {"scim_users", "scim_integrations", "scim_signing_key", "scim_activity", "scim_operators"}


def test_create_schema_builds_a_demo_directory_only_when_asked(run: Run[Any], tmp_path: Path, pg_dsn: str) -> None:
    dsn_file = tmp_path / "dsn"
    dsn_file.write_text(pg_dsn, encoding="utf-8")
    with pytest.raises(Unavailable, match="not a Vizmo directory"):
        run(VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file)}).start())
    adapters = [VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file), "create_schema": True})
                for _ in range(3)]
    run(_gather(*(a.start() for a in adapters)))  # three processes starting at once
    try:
        assert run(adapters[0].tenant_exists("1")) and not run(adapters[0].tenant_exists("2"))
        created = run(adapters[1].resource_adapter("User", "1").create(full_user("demo@example.com")))
        assert created["id"] == "1"
    finally:
        run(_gather(*(a.stop() for a in adapters)))


# --- an unreachable server ---------------------------------------------------------------------------

def test_an_unreachable_server_is_unavailable_then_recovers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every call answers Unavailable while the server is down, and works again once it is back;
    meanwhile asyncpg's pool retries its connection floor and says so in one line each time, with
    the error's name and no traceback."""
    cluster = start_cluster()
    try:
        dsn_file = tmp_path / "dsn"
        dsn_file.write_text(cluster.dsn(), encoding="utf-8")

        async def scenario() -> None:
            adapter = VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file), "create_schema": True,
                                                         "min_pool": 2})
            await adapter.start()
            state = adapter.state_store()
            await state.start()
            users = adapter.resource_adapter("User", "1")
            created = await users.create(full_user("up@example.com"))
            await asyncio.get_running_loop().run_in_executor(None, cluster.stop)
            for call in (adapter.check_health, lambda: users.get(created["id"]),
                         lambda: users.create(full_user("down@example.com")), lambda: users.search(ListQuery()),
                         lambda: state.active_token_id("1"), lambda: adapter.tenant_exists("1")):
                with pytest.raises(Unavailable):
                    await call()
            deadline = time.monotonic() + 15
            while not (retries := [r for r in caplog.records if r.name == "asyncpg.pool"]):
                assert time.monotonic() < deadline, "the pool never retried its connection floor"
                await asyncio.sleep(0.05)
            assert "Failed to restore the pool connection floor" in retries[0].getMessage()
            assert "Error" in retries[0].getMessage() and "\n" not in retries[0].getMessage()
            assert retries[0].exc_info is None and retries[0].exc_text is None
            await asyncio.get_running_loop().run_in_executor(None, cluster.start)
            for _ in range(20):  # dead pooled connections are replaced as they are found
                try:
                    await adapter.check_health()
                    break
                except Unavailable:
                    await asyncio.sleep(0.1)
            assert await users.get(created["id"]) == created
            await state.close()
            await adapter.stop()

        run_in_fresh_loop(scenario())
    finally:
        remove_cluster(cluster)


def test_a_waiting_request_gets_the_connection_before_requests_that_arrive_after_it(
        run: Run[Any], dsn_file: Path) -> None:
    """With every connection busy, a request that waits is served before requests that arrive
    while it waits. asyncpg's pool gives a released connection to whichever task asks next, so
    arrivals passed a waiting request over again and again (bench/load.py --adapter postgres,
    32 connections, a pool of 10: GET p99 230 ms at a p50 of 37 ms)."""
    db = PgDatabase(DsnSource(file=dsn_file), min_size=1, max_size=1)
    served: list[str] = []

    async def request(name: str) -> None:
        await db.fetchval("SELECT 1")
        served.append(name)

    async def scenario() -> None:
        await db.open()
        try:
            release, holding = asyncio.Event(), asyncio.Event()

            async def holder() -> None:
                async with db.transaction():
                    holding.set()
                    await release.wait()

            held = asyncio.ensure_future(holder())
            await holding.wait()
            waiting = asyncio.ensure_future(request("waiting"))
            for _ in range(3):
                await asyncio.sleep(0)  # it now waits for the connection
            late: list[asyncio.Future[None]] = []
            loop = asyncio.get_running_loop()

            def arrive(n: int) -> None:  # a new request on every turn of the loop
                if n < 30:
                    late.append(asyncio.ensure_future(request(f"late {n}")))
                    loop.call_soon(arrive, n + 1)

            release.set()
            loop.call_soon(arrive, 0)
            await asyncio.gather(held, waiting)
            while len(late) < 30:
                await asyncio.sleep(0.01)
            await asyncio.gather(*late)
        finally:
            await db.close()

    run(scenario())
    assert served[0] == "waiting", served[:5]
    assert len(served) == 31


def test_a_patch_keeps_the_portals_empty_strings_in_columns_it_does_not_touch(
        run: Run[Any], adapter: VizmoPostgresAdapter, sql: Any) -> None:
    """SCIM reads ``''`` and NULL alike as absent: a PATCH of ``title`` left the portal's ``''``
    columns NULL (found by a portal-concurrency review)."""
    employee_id = _employee(sql, "blank@example.com", display_name="", phone="", mobile="", department="")
    users = adapter.resource_adapter("User", "1")
    run(users.modify(str(employee_id), lambda current: {**current, "title": "QA"}))
    (row,) = sql("SELECT display_name, phone, mobile, department, designation FROM employees WHERE id = $1",
                 employee_id)
    assert tuple(row) == ("", "", "", "", "QA")


def test_a_role_with_the_privileges_readme_lists_starts_on_tables_it_does_not_own(
        run: Run[Any], adapter: VizmoPostgresAdapter, sql: Any, tmp_path: Path, pg_directory_dsn: str) -> None:
    """Once the gateway's tables exist, starting runs no DDL: it needed their ownership and CREATE
    on the schema at every start and CLI command ("must be owner of table scim_users"), and its
    locks queued every write behind a DBA's open transaction (a PostgreSQL review)."""
    role = f"gw_{secrets.token_hex(4)}"
    for statement in (f"CREATE ROLE {role} LOGIN", f"GRANT SELECT, INSERT, UPDATE ON employees TO {role}",
                      f"GRANT SELECT ON locations TO {role}", f"GRANT SELECT, DELETE ON employee_roles TO {role}",
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON scim_users, scim_integrations, scim_signing_key, "
                      f"scim_activity, scim_operators TO {role}", f"REVOKE CREATE ON SCHEMA public FROM {role}",
                      f"REVOKE CREATE ON SCHEMA public FROM PUBLIC"):
        sql(statement)
    rest = pg_directory_dsn.partition("://")[2].partition("@")[2]
    as_role = tmp_path / "role.dsn"
    as_role.write_text(f"postgresql://{role}@{rest}\n", encoding="utf-8")
    # Without USAGE on the activity log's sequence every write was a 500 (README did not list it):
    # the start is refused, naming it.
    refused = VizmoPostgresAdapter.from_options({"dsn_file": str(as_role)})
    with pytest.raises(Unavailable, match=rf"the database user {role} lacks USAGE on sequence "
                                          r"(public\.)?scim_activity_id_seq: grant them"):
        run(refused.start())
    run(refused.stop())
    sql(f"GRANT USAGE ON SEQUENCE scim_activity_id_seq TO {role}")
    other = _started(run, as_role)  # raised InsufficientPrivilegeError before
    try:
        created = run(other.resource_adapter("User", "1").create(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "granted@contoso.com"}))
        assert run(adapter.resource_adapter("User", "1").get(created["id"]))["userName"] == "granted@contoso.com"
    finally:
        run(other.stop())


def test_a_search_path_with_another_schema_first_is_refused_rather_than_given_new_empty_tables(
        run: Run[Any], adapter: VizmoPostgresAdapter, sql: Any, dsn_file: Path, pg_directory_dsn: str) -> None:
    """``CREATE TABLE IF NOT EXISTS`` looks only in the first schema of the search path: with
    another schema put first and one of the gateway's indexes missing (an upgrade adds one), a
    start made a second, empty ``scim_users`` there and every token and id was gone (a PostgreSQL
    review). The start is refused, naming both schemas, and nothing is created."""
    created = run(adapter.resource_adapter("User", "1").create(full_user("kept@example.com")))
    run(adapter.stop())
    database = pg_directory_dsn.rsplit("/", 1)[1].partition("?")[0]
    sql("DROP INDEX scim_activity_time")  # what an upgrade would create
    sql("CREATE SCHEMA reporting")
    sql(f'ALTER DATABASE "{database}" SET search_path = reporting, public')
    refused = VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file)})
    with pytest.raises(Unavailable, match=r"in schema 'public', but the search_path puts 'reporting' first"):
        run(refused.start())
    run(refused.stop())
    assert sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'reporting'")[0][0] == 0
    sql(f'ALTER DATABASE "{database}" SET search_path = public, reporting')  # the fix the message names
    fixed = _started(run, dsn_file)
    try:
        assert run(fixed.resource_adapter("User", "1").get(created["id"]))["userName"] == "kept@example.com"
    finally:
        run(fixed.stop())


def test_behind_a_transaction_pooler_no_prepared_statement_outlives_its_query(
        pg_directory_dsn: str, tmp_path: Path) -> None:
    """PgBouncer's transaction pooling hands each transaction another server connection, so a
    statement prepared on one was missing on the next: most requests were 500s (a PostgreSQL
    operations review). ``statement_cache_size = 0`` keeps none."""
    dsn_file = tmp_path / "dsn"
    dsn_file.write_text(pg_directory_dsn)
    loop = asyncio.new_event_loop()
    try:
        for size, kept in ((100, True), (0, False)):
            adapter = VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file), "max_pool": 1,
                                                         "statement_cache_size": size})
            loop.run_until_complete(adapter.start())
            try:
                users = adapter.resource_adapter("User", "1")
                loop.run_until_complete(users.search(ListQuery()))
                prepared = loop.run_until_complete(adapter._db.fetchval(
                    "SELECT count(*) FROM pg_prepared_statements"))
                assert (prepared > 0) is kept, (size, prepared)
            finally:
                loop.run_until_complete(adapter.stop())
    finally:
        loop.close()


def test_a_statement_timeout_the_server_does_not_apply_is_a_warning(
        pg_directory_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    """A pooler that drops the startup parameter (PgBouncer's ignore_startup_parameters) left the
    gateway's statements unbounded, without a word."""
    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(asyncpg.connect(pg_directory_dsn))  # no statement_timeout of ours
        try:
            database = PgDatabase(DsnSource(env="UNUSED"), statement_timeout=5)
            with caplog.at_level("WARNING", logger="vizmo_scim.adapter.postgres"):
                loop.run_until_complete(database._check_statement_timeout(conn))
            assert "statement_timeout for the gateway's connections is 0 ms, not the 5000 ms" in caplog.text
            caplog.clear()
            loop.run_until_complete(conn.execute("SET statement_timeout = 5000"))
            loop.run_until_complete(database._check_statement_timeout(conn))
            assert caplog.text == ""
        finally:
            loop.run_until_complete(conn.close())
    finally:
        loop.close()
