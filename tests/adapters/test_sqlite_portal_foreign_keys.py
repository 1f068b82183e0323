"""The gateway's ``scim_users`` never blocks the portal's own writes (adapters/vizmo_sqlite/
scim_tables.sql): a portal whose connections enforce foreign keys (``PRAGMA foreign_keys=ON``,
as ORMs set it) failed to delete an employee SCIM had written, on a foreign key of the
gateway's table. Real files; the adapter started as ``serve`` starts it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters.vizmo_sqlite import bootstrap
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from tests.polling import run_on_own_loop

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

#: ``scim_users`` as gateways before 2026-12-07 created it.
OLD_SCIM_USERS = """
DROP TABLE IF EXISTS scim_users;
CREATE TABLE scim_users (
    employee_id  INTEGER PRIMARY KEY REFERENCES employees(id),
    location_id  INTEGER NOT NULL REFERENCES locations(id),
    scim_id      TEXT NOT NULL UNIQUE,
    incarnation  INTEGER NOT NULL DEFAULT 0,
    external_id  TEXT,
    extra        TEXT NOT NULL DEFAULT '{}',
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX scim_users_external_id ON scim_users (location_id, external_id);
"""


def _portal_deletes(path: Path, employee_id: str) -> None:
    """The portal's hard delete, with foreign keys enforced."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("DELETE FROM employee_roles WHERE employee_id = ?", (employee_id,))
        conn.execute("UPDATE visits SET host_employee_id = NULL WHERE host_employee_id = ?", (employee_id,))
        conn.execute("DELETE FROM employees WHERE id = ?", (employee_id,))
    finally:
        conn.close()


async def _created(path: Path, user_name: str) -> dict:
    adapter = VizmoSqliteAdapter(path)
    await adapter.start()
    try:
        users = adapter.resource_adapter("User", "1")
        created = await users.create({"schemas": [CORE], "userName": user_name, "externalId": f"ext-{user_name}"})
        assert (await users.get(created["id"]))["externalId"] == f"ext-{user_name}"
        return created
    finally:
        await adapter.stop()


def test_a_new_directory_lets_the_portal_delete_an_employee_scim_wrote(tmp_path: Path) -> None:
    path = tmp_path / "directory.db"
    bootstrap.create_directory(path)
    created = run_on_own_loop(_created(path, "gone@example.com"))
    _portal_deletes(path, created["id"])  # raised IntegrityError: FOREIGN KEY constraint failed


def test_an_existing_scim_users_table_loses_its_foreign_keys_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "directory.db"
    bootstrap.create_directory(path)
    setup = sqlite3.connect(path)
    setup.executescript(OLD_SCIM_USERS)
    setup.close()
    created = run_on_own_loop(_created(path, "kept@example.com"))  # starting the adapter migrates the table
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA foreign_key_list(scim_users)").fetchall() == []
        assert conn.execute("SELECT scim_id, external_id FROM scim_users").fetchall() == \
            [(created["id"], "ext-kept@example.com")]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'scim_users'")}
        assert "scim_users_by_external_id" in names and "scim_users_external_id" not in names  # the old index went
    finally:
        conn.close()
    again = run_on_own_loop(_created(path, "second@example.com"))  # a second start: nothing left to migrate
    assert again["id"] != created["id"]
    _portal_deletes(path, created["id"])
