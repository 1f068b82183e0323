"""A portal employee whose email was stored with whitespace around it (adapters.padded_emails), on
a real SQLite file and a real PostgreSQL server: Entra ID's ``userName eq`` look-up finds it, its
update writes the address clean, and no create or rename makes a second employee for the person."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.base import Adapter, ResourceAdapter
from adapters.errors import AlreadyExists
from adapters.query import And, AttrPath, Compare, ListQuery, Present
from adapters.testkit import full_user
from adapters.vizmo_postgres.adapter import VizmoPostgresAdapter
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory

Sql = Callable[..., list[Any]]
PORTAL_ROW = ("INSERT INTO employees (location_id, email, first_name, last_name, status, created_at, updated_at) "
              "VALUES ({}, {}, 'Ann', 'Lee', {}, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")


class Directory:
    """One adapter over a directory, and the portal's own SQL on it (a connection of its own)."""

    def __init__(self, adapter: Adapter, sql: Sql, mark: Callable[[int], str]) -> None:
        self.adapter, self.sql, self.mark = adapter, sql, mark
        self.loop = asyncio.new_event_loop()

    def run(self, aw: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(aw, 60))

    def users(self, location: str = "1") -> ResourceAdapter:
        return self.adapter.resource_adapter("User", location)

    def portal_employee(self, email: str, status: str = "active", location: int = 1) -> int:
        self.sql(PORTAL_ROW.format(self.mark(1), self.mark(2), self.mark(3)), location, email, status)
        return int(self.sql(f"SELECT id FROM employees WHERE email = {self.mark(1)}", email)[0][0])

    def emails(self) -> list[str]:
        return sorted(row[0] for row in self.sql("SELECT email FROM employees WHERE location_id = 1"))


def _sqlite_sql(path: Path) -> Sql:
    def query(text: str, *args: Any) -> list[Any]:
        conn = sqlite3.connect(path)
        try:
            with conn:
                return conn.execute(text, args).fetchall()
        finally:
            conn.close()
    return query


def _postgres_sql(dsn: str, directory: Directory) -> Sql:
    async def query(text: str, *args: Any) -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return [tuple(row) for row in await conn.fetch(text, *args)]
        finally:
            await conn.close()
    return lambda text, *args: directory.run(query(text, *args))


@pytest.fixture(params=["sqlite", "postgres"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Directory]:
    if request.param == "sqlite":
        path = tmp_path / "directory.db"
        create_directory(path)
        found = Directory(VizmoSqliteAdapter(path), _sqlite_sql(path), lambda n: "?")
    else:
        dsn = request.getfixturevalue("pg_directory_dsn")
        dsn_file = tmp_path / "directory.dsn"
        dsn_file.write_text(dsn, encoding="utf-8")
        found = Directory(VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file)}), lambda *a: [],
                          lambda n: f"${n}")
        found.sql = _postgres_sql(dsn, found)
    found.run(found.adapter.start())
    yield found
    found.run(found.adapter.stop())
    found.loop.close()


def _user_name_eq(value: str) -> ListQuery:
    return ListQuery(filter=Compare(AttrPath("userName"), "eq", value))


@pytest.mark.parametrize("stored", [" ann@example.com", "ann@example.com ", "\tANN@example.com\r\n"])
def test_the_look_up_finds_the_padded_row_and_the_update_writes_it_clean(directory: Directory, stored: str) -> None:
    employee_id = directory.portal_employee(stored)
    users = directory.users()
    page = directory.run(users.search(_user_name_eq("ann@example.com")))
    assert page.total_results == 1 and page.resources[0]["id"] == str(employee_id)
    assert page.resources[0]["userName"] == stored  # as stored: Entra ID sees the difference and corrects it
    updated = directory.run(users.replace(str(employee_id), full_user("ann@example.com")))
    assert updated["userName"] == "ann@example.com"
    assert directory.emails() == ["ann@example.com"]
    assert directory.run(users.search(_user_name_eq("other@example.com"))).total_results == 0
    assert directory.run(directory.users("2").search(_user_name_eq("ann@example.com"))).total_results == 0


def test_the_look_up_and_the_create_agree_on_what_padding_is(directory: Directory) -> None:
    """A userName ending in a no-break space, stored by the portal with a space after it: the
    create was refused 409 for that padded row while the look-up, which took the no-break space
    for padding, never tried the padded forms, so Entra ID looped (a maintainability review:
    two rules for the same white space)."""
    stored = "ann@example.com\u00a0 "
    employee_id = directory.portal_employee(stored)
    users = directory.users()
    page = directory.run(users.search(_user_name_eq("ann@example.com\u00a0")))
    assert [r["id"] for r in page.resources] == [str(employee_id)] and page.total_results == 1
    with pytest.raises(AlreadyExists):
        directory.run(users.create(full_user("ann@example.com\u00a0")))


def test_a_create_of_the_clean_address_is_refused_naming_the_stored_one(directory: Directory) -> None:
    directory.portal_employee("ann@example.com  ")
    with pytest.raises(AlreadyExists, match=r"stored as 'ann@example.com  ', with whitespace around it"):
        directory.run(directory.users().create(full_user("Ann@Example.com")))
    assert directory.emails() == ["ann@example.com  "]
    other = directory.run(directory.users("2").create(full_user("ann@example.com")))  # another location's own
    assert other["userName"] == "ann@example.com"


def test_a_rename_onto_it_is_refused_and_a_removed_padded_row_blocks_nothing(directory: Directory) -> None:
    directory.portal_employee(" ann@example.com")
    users = directory.users()
    bob = directory.run(users.create(full_user("bob@example.com")))
    with pytest.raises(AlreadyExists, match="with whitespace around it"):
        directory.run(users.replace(bob["id"], full_user("ann@example.com")))
    assert directory.run(users.get(bob["id"]))["userName"] == "bob@example.com"
    directory.portal_employee(" cid@example.com", status="removed")
    assert directory.run(users.create(full_user("cid@example.com")))["userName"] == "cid@example.com"
    assert directory.run(users.replace(bob["id"], full_user("bob@example.com", title="Lead")))["title"] == "Lead"


@pytest.mark.parametrize("address", ["İpek@example.com", "ΟΔΟΣ@example.com"])
def test_an_address_whose_lower_case_python_and_the_database_disagree_on_is_found(directory: Directory,
                                                                                  address: str) -> None:
    """The padded forms were lower-cased in Python, the column in PostgreSQL: ``İ`` and a word-final
    ``Σ`` lower differently there, the padded row was missed and a create made a second employee
    (a Unicode review)."""
    employee_id = directory.portal_employee(f" {address}")
    page = directory.run(directory.users().search(_user_name_eq(address)))
    assert [user["id"] for user in page.resources] == [str(employee_id)]
    with pytest.raises(AlreadyExists, match="with whitespace around it"):
        directory.run(directory.users().create(full_user(address)))
    assert directory.emails() == [f" {address}"]


def test_a_rename_that_changes_only_the_case_of_a_non_ascii_letter_is_checked(directory: Directory) -> None:
    """SQLite's NOCASE folds ASCII only, and the rename check was skipped when Python's lower-case
    of the old and new address agreed: ``änne`` renamed ``Änne`` beside a padded ``Änne`` made a
    second employee for the person (a Unicode review)."""
    users = directory.users()
    anne = directory.run(users.create(full_user("änne@example.com")))
    directory.portal_employee(" Änne@example.com")
    with pytest.raises(AlreadyExists, match="with whitespace around it"):
        directory.run(users.replace(anne["id"], full_user("Änne@example.com")))
    assert directory.emails() == [" Änne@example.com", "änne@example.com"]


def test_an_address_with_whitespace_around_it_is_refused_where_the_bare_one_is_held(directory: Directory) -> None:
    """The check looked one way only: the bare address after a padded one was a 409, a padded one
    after the bare address made a second employee (a Unicode review)."""
    users = directory.users()
    directory.run(users.create(full_user("pad@example.com")))
    with pytest.raises(AlreadyExists, match=r"whitespace around it, and an employee's email is 'pad@example.com'"):
        directory.run(users.create(full_user(" pad@example.com")))
    bob = directory.run(users.create(full_user("bob@example.com")))
    with pytest.raises(AlreadyExists, match="whitespace around it"):
        directory.run(users.replace(bob["id"], full_user("PAD@example.com\t")))
    assert directory.emails() == ["bob@example.com", "pad@example.com"]


def test_a_portal_phone_left_empty_is_no_phone_to_a_filter_either(directory: Directory) -> None:
    """The portal's '' reads as absent (a PATCH review); the filters' phone list must agree, or
    ``phoneNumbers pr`` finds an employee whose answer shows no phone."""
    employee_id = directory.portal_employee("nophone@example.com")
    directory.sql(f"UPDATE employees SET phone = '', mobile = '' WHERE id = {directory.mark(1)}", employee_id)
    users = directory.users()
    shown = directory.run(users.get(str(employee_id)))
    assert "phoneNumbers" not in shown
    who = Compare(AttrPath("userName"), "eq", "nophone@example.com")
    assert directory.run(users.search(ListQuery(filter=who))).total_results == 1
    with_phone = ListQuery(filter=And(who, Present(AttrPath("phoneNumbers"))))
    assert directory.run(users.search(with_phone)).total_results == 0


def _outcomes(directory: Directory, *writes: Awaitable[Any]) -> list[Any]:
    async def at_once() -> list[Any]:
        return await asyncio.gather(*writes, return_exceptions=True)
    return list(directory.run(at_once()))


def test_padded_forms_written_at_once_make_one_employee(directory: Directory) -> None:
    """Creates of ``x@y``, ``x@y `` and `` x@y`` sent at once, and a rename onto ``x@y `` beside a
    create of ``x@y``: on PostgreSQL each write's check for the other forms ran before the others
    committed, so 2 to 5 employees were made for one address in every round (a race review)."""
    users = directory.users()
    for round_ in range(4):
        address = f"race{round_}@example.com"
        forms = [address, f"{address} ", f" {address}", f"\t{address.upper()}", f"{address}\r\n"]
        outcomes = _outcomes(directory, *(users.create(full_user(form)) for form in forms))
        assert sum(isinstance(o, dict) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, (dict, AlreadyExists)) for o in outcomes), outcomes
        other = directory.run(users.create(full_user(f"other{round_}@example.com")))
        renamed = f"moved{round_}@example.com"
        outcomes = _outcomes(directory, users.create(full_user(renamed)),
                             users.replace(other["id"], full_user(f"{renamed} ")))
        assert sum(isinstance(o, dict) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, (dict, AlreadyExists)) for o in outcomes), outcomes
    bare = sorted(email.strip().lower() for email in directory.emails())
    assert len(bare) == len(set(bare)) == 12
