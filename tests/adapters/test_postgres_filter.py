"""The SCIM filter → PostgreSQL translation of the Vizmo directory (RFC 7644 §3.4.2.2, §3.4.2.3).

The same users and the same filters as ``test_sql_filter.py`` (SQLite), on a real PostgreSQL
database built from ``adapters/vizmo_postgres/*.sql``, with the adapter's query shape: every
expectation that holds for SQLite holds here, and the in-memory evaluator agrees. Then what is
PostgreSQL's own: ``lower()`` case folding that agrees with the unique index, typed jsonb reads,
NUL, ``$n`` numbering, and ``EXPLAIN`` showing that point lookups are index scans.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import asyncpg
import pytest

from adapters.errors import UnsupportedFilter
from adapters.query import AttrPath, Compare, CompareOp, Filter, SortSpec
from adapters.schema import ENTERPRISE_USER_URN as ENT
from adapters.schema import resource_types
from adapters.sql_dialect import numbered
from adapters.vizmo_postgres.columns import PHONE_NUMBERS_SQL, TRANSLATOR
from adapters.vizmo_sqlite.mapping import from_storage
from gateway.scim.filter import parse_attr_path
from adapters.filter_eval import matches
from tests.adapters.test_sql_filter import (CROSS_CHECK, EXPLICIT, HOSTILE, SORTS, UNSUPPORTED, _case_exact, _sort_value,
                                            _employee, _f, _HOSTILE_TARGETS, _populate)
from tests.pg_cluster import PgCluster

_FROM = "FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id"
_LIVE = "e.location_id = ? AND e.status <> 'removed'"
_ROW = "e.*, s.scim_id, s.external_id, s.extra::text AS extra, s.version, s.incarnation"
_ID = "COALESCE(s.scim_id, e.id::text)"


class Db:
    """A blocking facade over one asyncpg connection on a private event loop, taking ``?``
    placeholders (so ``test_sql_filter``'s data helpers write to it unchanged)."""

    def __init__(self, dsn: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(dsn))

    def execute(self, query: str, params: Any = ()) -> None:
        self.loop.run_until_complete(self.conn.execute(numbered(query), *params))

    def fetch(self, query: str, params: Any = ()) -> list[asyncpg.Record]:
        return self.loop.run_until_complete(self.conn.fetch(numbered(query), *params))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def _sql_file(name: str) -> str:
    return files("adapters.vizmo_postgres").joinpath(name).read_text(encoding="utf-8")


def _new_directory(dsn: str) -> Db:
    db = Db(dsn)
    db.loop.run_until_complete(db.conn.execute(_sql_file("directory.sql") + _sql_file("scim_tables.sql")))
    db.execute("INSERT INTO companies (id, name) VALUES (1, 'Acme')")
    db.execute("INSERT INTO locations (id, company_id, name) VALUES (1, 1, 'Delhi'), (2, 1, 'Pune')")
    return db


@pytest.fixture(scope="module")
def db(pg_cluster: PgCluster) -> Iterator[Db]:
    conn = _new_directory(pg_cluster.create_database("filter_users"))
    _populate(conn)  # type: ignore[arg-type]
    yield conn
    conn.close()


@pytest.fixture
def empty_db(pg_dsn: str) -> Iterator[Db]:
    conn = _new_directory(pg_dsn)
    yield conn
    conn.close()


def _ids(db: Db, node: Filter, location: int = 1) -> set[str]:
    where, params = TRANSLATOR.where(node)
    rows = db.fetch(f"SELECT {_ID} {_FROM} WHERE {_LIVE} AND ({where})", [location, *params])
    return {row[0] for row in rows}


def _resources(db: Db, location: int = 1) -> list[dict[str, Any]]:
    rows = db.fetch(f"SELECT {_ROW} {_FROM} WHERE {_LIVE} ORDER BY e.id", [location])
    return [from_storage(row) for row in rows]


def _expected(db: Db, node: Filter) -> set[str]:
    return {r["id"] for r in _resources(db) if matches(node, r, case_exact=_case_exact)}


# --- the SQLite expectations hold on PostgreSQL ------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), EXPLICIT, ids=[t for t, _ in EXPLICIT])
def test_filter_matches_expected_users(db: Db, text: str, expected: set[str]) -> None:
    node = _f(text)
    assert _ids(db, node) == expected
    assert _expected(db, node) == expected


@pytest.mark.parametrize("text", CROSS_CHECK)
def test_sql_equals_the_in_memory_evaluator(db: Db, text: str) -> None:
    node = _f(text)
    assert _ids(db, node) == _expected(db, node)


def test_other_locations_and_removed_users_are_never_found(db: Db) -> None:
    assert _ids(db, _f('nickName eq "al"')) == {"1"}
    assert _ids(db, _f('externalId eq "ext-Alice"'), location=2) == {"7"}
    assert _ids(db, _f('id eq "7"'), location=2) == {"7"}
    assert _ids(db, _f('id eq "7"')) == set()


def test_effective_phone_array_equals_the_mapping(db: Db) -> None:
    rows = db.fetch(f"SELECT {_ROW}, ({PHONE_NUMBERS_SQL})::text AS phones {_FROM} ORDER BY e.id")
    for row in rows:
        assert json.loads(row["phones"]) == from_storage(row).get("phoneNumbers", []), row["id"]
    carol = json.loads(next(r for r in rows if r["id"] == 3)["phones"])
    assert carol == [{"type": "home", "value": "+91 20 5555"},
                     {"type": "Mobile", "value": "+91 98765 43210", "primary": True},
                     {"type": "work", "value": "020 1234"}]


def _pg_sort_value(resource: dict[str, Any], path: AttrPath) -> Any:
    """PostgreSQL sorts text that is not caseExact as ``lower(x) COLLATE "C"``: lower-cased, by code point."""
    return _sort_value(resource, path, str.lower)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort_by", SORTS)
def test_sort_order_follows_rfc_7644(db: Db, sort_by: str, descending: bool) -> None:
    path = resource_types()["User"].resolve(parse_attr_path(sort_by))[0]
    order, params = TRANSLATOR.order_by(SortSpec(path, descending))
    rows = db.fetch(f"SELECT {_ID} {_FROM} WHERE {_LIVE} ORDER BY {order}", [1, *params])
    resources = _resources(db)
    present = [r for r in resources if _pg_sort_value(r, path) is not None]
    absent = [r for r in resources if _pg_sort_value(r, path) is None]
    present.sort(key=lambda r: _pg_sort_value(r, path), reverse=descending)
    expected = absent + present if descending else present + absent
    assert [row[0] for row in rows] == [r["id"] for r in expected]


@pytest.mark.parametrize(("node", "message"), UNSUPPORTED, ids=[m for _, m in UNSUPPORTED])
def test_untranslatable_filters_raise_unsupported_filter(node: Filter, message: str) -> None:
    with pytest.raises(UnsupportedFilter, match=message):
        TRANSLATOR.where(node)


# --- parameters, hostile values, NUL ---------------------------------------------------------------

def test_json_paths_and_values_are_parameters() -> None:
    sql, params = TRANSLATOR.where(_f('manager.value eq "2"'))
    assert ENT not in sql and "manager" not in sql and "?::text[]" in sql
    assert params == [[ENT, "manager", "value"], [ENT, "manager", "value"], "2"]
    sql, params = TRANSLATOR.where(_f('addresses[type eq "work"]'))
    assert "'type'" not in sql and "work" not in sql and params == [["addresses"], "type", "type", "work"]


def test_userName_eq_is_the_indexed_expression() -> None:
    assert TRANSLATOR.where(_f('userName eq "A@x"')) == ("(lower(e.email) = lower(?::text))", ["A@x"])
    assert TRANSLATOR.where(_f('id eq "12.3"')) == (
        "(e.id = ? AND (COALESCE(s.scim_id, e.id::text) = ?::text))", [12, "12.3"])
    assert TRANSLATOR.where(_f('id eq "x12"')) == ("FALSE", [])
    assert TRANSLATOR.where(_f('not (id eq "x12")')) == ("(FALSE IS NOT TRUE)", [])


def test_numbered_placeholders_skip_quoted_text() -> None:
    assert numbered("a = ? AND b = '?' AND \"c?\" = ? AND d = 'it''s ?' OR e = ?") == \
        "a = $1 AND b = '?' AND \"c?\" = $2 AND d = 'it''s ?' OR e = $3"


@pytest.fixture(scope="module")
def hostile_db(pg_cluster: PgCluster) -> Iterator[Db]:
    conn = _new_directory(pg_cluster.create_database("filter_hostile"))
    for i, text in enumerate(["a%b", "a_b", "a\\b", "axb", "o'hara", 'q"uote', "100%", "__", "🙂", "é" * 5000,
                              "x" * 20000, "' OR 1=1 --"], start=1):
        _employee(conn, i, f"{text}@example.com", scim_id=str(i), external_id=text, phone=text,  # type: ignore[arg-type]
                  extra={"nickName": text, "emails": [{"value": text}], ENT: {"manager": {"value": text}}})
    yield conn
    conn.close()


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "le"])
@pytest.mark.parametrize("target", _HOSTILE_TARGETS)
def test_hostile_values_are_bound_parameters(hostile_db: Db, target: str, op: CompareOp) -> None:
    path = _f(f"{target} pr").path  # type: ignore[union-attr]
    benign_sql = None if target == "meta.created" else TRANSLATOR.where(Compare(path, op, "benign"))[0]
    for value in HOSTILE:
        if target == "meta.created":
            value = value if op in ("co", "sw", "ew") else "2024-01-01T00:00:00Z"
        node = Compare(path, op, value)
        sql, params = TRANSLATOR.where(node)
        if benign_sql is not None and "FALSE" not in sql:
            assert sql == benign_sql  # the value changes the parameters only
        assert _ids(hostile_db, node) == _expected(hostile_db, node), value[:20]
    assert hostile_db.fetch("SELECT count(*) FROM employees")[0][0] == 12


def test_like_wildcards_are_escaped(hostile_db: Db) -> None:
    assert _ids(hostile_db, Compare(AttrPath("userName"), "sw", "A%")) == {"1"}
    assert _ids(hostile_db, Compare(AttrPath("userName"), "sw", "a_")) == {"2"}
    assert _ids(hostile_db, Compare(AttrPath("userName"), "sw", "a\\")) == {"3"}
    assert _ids(hostile_db, Compare(AttrPath("nickName"), "co", "%")) == {"1", "7"}
    assert _ids(hostile_db, Compare(AttrPath("nickName"), "ew", "_")) == {"8"}
    assert _ids(hostile_db, Compare(AttrPath("externalId"), "sw", "A")) == set()  # caseExact
    assert _ids(hostile_db, Compare(AttrPath("externalId"), "ew", "%")) == {"7"}


def test_nul_cannot_be_stored_so_it_matches_nothing(hostile_db: Db) -> None:
    """PostgreSQL text holds no U+0000: ``eq`` such a value matches nothing (``ne`` everything);
    an order comparison with it is refused rather than answered approximately."""
    assert _ids(hostile_db, Compare(AttrPath("externalId"), "eq", "a\x00b")) == set()
    assert _ids(hostile_db, Compare(AttrPath("userName"), "eq", "a%b@example.com\x00")) == set()
    assert len(_ids(hostile_db, Compare(AttrPath("nickName"), "ne", "a%b\x00"))) == 12
    ops: tuple[CompareOp, ...] = ("gt", "ge", "lt", "le")
    for op in ops:
        with pytest.raises(UnsupportedFilter, match="NUL"):
            TRANSLATOR.where(Compare(AttrPath("userName"), op, "a\x00"))
    with pytest.raises(UnsupportedFilter, match="NUL"):
        TRANSLATOR.where(Compare(AttrPath("userName"), "co", "a\x00"))


# --- PostgreSQL's own semantics ------------------------------------------------------------------

def test_case_folding_is_the_unique_index_one(empty_db: Db) -> None:
    """``lower()`` is the unique index's expression: for every candidate, "the index calls it a
    duplicate" and "userName eq finds the stored user" are the same answer."""
    _employee(empty_db, 1, "Zoë.Ünal@Example.com")  # type: ignore[arg-type]
    candidates = ["zoë.ünal@example.com", "ZOË.ÜNAL@EXAMPLE.COM", "Zoë.Ünal@Example.com", "zoe.unal@example.com",
                  "zoë.ünal@example.co", "zoë.ünal@example.com "]
    for n, candidate in enumerate(candidates, start=2):
        found = _ids(empty_db, Compare(AttrPath("userName"), "eq", candidate)) == {"1"}
        try:
            _employee(empty_db, n, candidate)  # type: ignore[arg-type]
            duplicate = False
            empty_db.execute("DELETE FROM employees WHERE id = ?", (n,))
        except asyncpg.UniqueViolationError:
            duplicate = True
        assert found == duplicate, candidate
    assert _ids(empty_db, _f('userName sw "ZOË."')) == {"1"}
    assert _ids(empty_db, _f('userName co "ünal@"')) == {"1"}


def test_empty_strings_in_the_extra_are_absent(empty_db: Db) -> None:
    _employee(empty_db, 1, "a@example.com", scim_id="1", extra={"nickName": "", "emails": [{"value": ""}]})  # type: ignore[arg-type]
    _employee(empty_db, 2, "b@example.com", scim_id="2", extra={"nickName": "b"})  # type: ignore[arg-type]
    for text, expected in [("nickName pr", {"2"}), ('nickName eq ""', set()), ('nickName lt "c"', {"2"}),
                           ('nickName le ""', set()), ('nickName ne ""', {"1", "2"}), ("emails pr", set()),
                           ('emails.value eq ""', set()), ('nickName co ""', {"2"})]:
        assert _ids(empty_db, _f(text)) == expected, text


def test_values_of_another_json_type_match_nothing(empty_db: Db) -> None:
    """Elements that are not objects are skipped, members of the wrong JSON type read as NULL
    (the gateway's validation admits neither; they must not fail a query or match wrongly)."""
    _employee(empty_db, 1, "a@example.com", phone="123", scim_id="1")  # type: ignore[arg-type]
    empty_db.execute("UPDATE scim_users SET extra = ?::jsonb WHERE employee_id = 1", (
        '{"emails": ["garbage", 5, null, {"value": "ok@example.com", "type": { }, "primary": "true"}],'
        ' "phoneNumbers": ["x", {"type": "work", "value": "w"}], "title": 5, "emails2": 3,'
        ' "addresses": [ { } , {"type": [ ], "locality": { }}], "nickName": ["a"], "userType": 7}',))
    for text, expected in [('emails eq "ok@example.com"', {"1"}), ('emails eq "garbage"', set()),
                           ('emails[type eq "work"]', set()), ("emails pr", {"1"}), ("addresses pr", set()),
                           ('nickName eq "a"', set()), ('userType eq "7"', set()), ("userType pr", set()),
                           ("emails.primary eq true", set()), ('emails.type pr', set()),
                           ('phoneNumbers[type eq "work"].value eq "123"', {"1"}), ('phoneNumbers eq "x"', set())]:
        assert _ids(empty_db, _f(text)) == expected, text
    order, params = TRANSLATOR.order_by(SortSpec(AttrPath("emails")))
    assert len(empty_db.fetch(f"SELECT 1 {_FROM} ORDER BY {order}", params)) == 1


# --- index use -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_db(pg_cluster: PgCluster) -> Iterator[Db]:
    conn = _new_directory(pg_cluster.create_database("filter_big"))
    conn.loop.run_until_complete(conn.conn.executemany(
        "INSERT INTO employees (id, location_id, email, status, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'active', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
        [(i, 1 + i % 2, f"User{i}@example.com") for i in range(1, 5001)]))
    conn.loop.run_until_complete(conn.conn.executemany(
        "INSERT INTO scim_users (employee_id, location_id, scim_id, external_id) VALUES ($1, $2, $3, $4)",
        [(i, 1 + i % 2, str(i), f"ext-{i}") for i in range(1, 5001) if i % 3]))
    conn.execute("ANALYZE")
    yield conn
    conn.close()


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.parametrize(("text", "index", "found"), [
    ('userName eq "user10@EXAMPLE.com"', "employees_location_email", 1),
    ('id eq "10"', "employees_pkey", 1),
    ('id eq "10.2"', "employees_pkey", 0),
    ('externalId eq "ext-10"', "scim_users_by_external_id", 1),
    ('userName eq "user10@example.com" and active eq true', "employees_location_email", 1),
    ('externalId eq "ext-10" and userName eq "user10@example.com"', None, 1),
])
def test_point_lookups_are_index_scans(big_db: Db, text: str, index: str | None, found: int) -> None:
    where, params = TRANSLATOR.where(_f(text))
    query = (f"SELECT count(*) OVER () AS total, {_ROW} {_FROM} WHERE {_LIVE} AND ({where}) "
             f"ORDER BY e.id LIMIT ? OFFSET ?")
    plan = json.loads(big_db.fetch(f"EXPLAIN (FORMAT JSON) {query}", [1, *params, 100, 0])[0][0])[0]["Plan"]
    nodes = list(_plan_nodes(plan))
    scans = {(n.get("Relation Name"), n["Node Type"], n.get("Index Name")) for n in nodes if "Relation Name" in n}
    assert not any(kind == "Seq Scan" for _, kind, _ in scans), scans
    assert any(relation == "employees" and "Index" in kind for relation, kind, _ in scans), scans
    if index is not None:
        assert any(name == index for _, _, name in scans), scans
    assert len(big_db.fetch(query, [1, *params, 100, 0])) == found


def test_a_filter_without_an_index_still_answers(big_db: Db) -> None:
    assert _ids(big_db, _f('userName ew "0@example.com" and externalId sw "ext-1"')) == \
        {str(i) for i in range(10, 5001, 10) if i % 3 and str(i).startswith("1")}
