"""The SQL of the Vizmo SQLite adapter, and its write transactions as plain synchronous functions.

Each write function runs whole inside one ``BEGIN IMMEDIATE`` … ``COMMIT``
(:func:`run_transaction`). The adapter runs it on the event loop, on a connection that never
waits for the write lock (a WAL commit is a few page writes, no fsync). Measured with
bench/load.py: with a statement per worker-thread round trip a write held the lock across eight
hops, and with a whole transaction per hop it still paid for GIL hand-backs; on the loop a
write costs only its own work (POST 350 → 580 req/s at 100,000 employees). Only a write that
finds the lock taken runs on a thread, the busy writer's, which waits for the lock there
(:mod:`adapters.vizmo_sqlite.busy_writer`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters.activity import ActivityEntry, Journal
from adapters.base import Change, Resource
from adapters.errors import AlreadyExists, InvalidValue, NotFound, Unavailable, VersionMismatch
from adapters.padded_emails import holder_forms, padded_holder_taken
from adapters.sqlite_activity import insert_entry
from adapters.versions import ExpectedVersion
from adapters.vizmo_sqlite import mapping, text_values

log = logging.getLogger("vizmo_scim.adapter.sqlite")

T = TypeVar("T")

SELECT = (
    "SELECT e.id, e.email, e.first_name, e.last_name, e.display_name, e.phone, e.mobile, "
    "e.department, e.designation, e.employee_code, e.status, e.created_at, e.updated_at, "
    "s.scim_id, s.external_id, s.extra, s.version, s.incarnation "
    "FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id "
)
LIVE = "e.location_id = ? AND e.status <> 'removed'"

_INSERT_EMPLOYEE = (
    "INSERT INTO employees (location_id, email, first_name, last_name, display_name, phone, mobile, "
    "department, designation, employee_code, status, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
#: The employees columns a SCIM write sets, in the order of :func:`_employee_values`.
_WRITTEN_COLUMNS = ("email", "first_name", "last_name", "display_name", "phone", "mobile",
                    "department", "designation", "employee_code", "status")
_UPDATE_EMPLOYEE = (
    "UPDATE employees SET email = ?, first_name = ?, last_name = ?, display_name = ?, phone = ?, "
    "mobile = ?, department = ?, designation = ?, employee_code = ?, status = ?, updated_at = ?, "
    "created_at = COALESCE(?, created_at) WHERE id = ?")
_NEW_INCARNATION = (
    "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
    "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (employee_id) DO UPDATE SET "
    "scim_id = excluded.scim_id, incarnation = excluded.incarnation, "
    "external_id = excluded.external_id, extra = excluded.extra, version = scim_users.version + 1")
_UPSERT_SCIM = (
    "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
    "VALUES (?, ?, ?, 0, ?, ?, 1) ON CONFLICT (employee_id) DO UPDATE SET "
    "external_id = excluded.external_id, extra = excluded.extra, version = scim_users.version + 1")


def _employee_values(stored: mapping.StoredUser) -> tuple[Any, ...]:
    return tuple(stored.columns[column] for column in _WRITTEN_COLUMNS)


def _update_changed_columns(conn: sqlite3.Connection, current: sqlite3.Row, stored: mapping.StoredUser) -> str:
    """UPDATE the columns whose value changes, and ``updated_at`` (returned). SQLite rewrites the
    index entries of every column a SET names, so naming an unchanged email rewrote its UNIQUE
    index entry on every write (a PATCH of ``title`` cost about twice the UPDATE it needs). The
    column names come from :data:`_WRITTEN_COLUMNS`, never from the request; the values are
    parameters."""
    changed = [column for column in _WRITTEN_COLUMNS if stored.columns[column] != current[column]]
    assignments = "".join(f"{column} = ?, " for column in changed)
    updated_at = mapping.stamp_after(mapping.read_stamp(current["updated_at"]))
    conn.execute(f"UPDATE employees SET {assignments}updated_at = ? WHERE id = ?",
                 (*(stored.columns[column] for column in changed), updated_at, current["id"]))
    return updated_at


def _update_scim_row(conn: sqlite3.Connection, location_id: int, current: sqlite3.Row,
                     external_id: str | None, extra: str) -> int:
    """Store externalId and the extras and bump the row's version when either changes: an
    UPDATE of the row when there is one (an upsert tries the INSERT first), naming
    ``external_id`` only when it changes (it is indexed); the first SCIM write of a
    portal-created employee inserts the row. A write that changes neither (Entra's usual
    PATCH of title, department or active) leaves the row alone: one page less to write and
    checkpoint, and ``meta.version`` still changes with the employees columns it sets.
    Returns the row's version after the write."""
    if current["version"] is None:  # no scim_users row yet (version is NOT NULL in one)
        conn.execute(_UPSERT_SCIM, (current["id"], location_id, mapping.scim_id_of(current), external_id, extra))
        return 1
    if external_id == current["external_id"] and extra == current["extra"]:
        return int(current["version"])
    if external_id == current["external_id"]:
        conn.execute("UPDATE scim_users SET extra = ?, version = version + 1 WHERE employee_id = ?",
                     (extra, current["id"]))
    else:
        conn.execute("UPDATE scim_users SET external_id = ?, extra = ?, version = version + 1 "
                     "WHERE employee_id = ?", (external_id, extra, current["id"]))
    return int(current["version"]) + 1


def _as_written(current: sqlite3.Row, stored: mapping.StoredUser, updated_at: str, external_id: str | None,
                extra: str, version: int) -> dict[str, Any]:
    """The row :func:`_fetch` would read after :func:`_update_changed_columns` and
    :func:`_update_scim_row` wrote ``current`` (when no trigger changed anything more)."""
    row = dict(zip(current.keys(), current))
    row.update(stored.columns)
    if current["version"] is None:  # the row _UPSERT_SCIM inserted
        row.update(scim_id=mapping.scim_id_of(current), incarnation=0)
    row.update(updated_at=updated_at, external_id=external_id, extra=extra, version=version)
    return row


def _fetch(conn: sqlite3.Connection, employee_id: int) -> sqlite3.Row:
    """The row as written, read inside the transaction (mapped to SCIM after the commit)."""
    row = conn.execute(SELECT + "WHERE e.id = ?", (employee_id,)).fetchone()
    assert row is not None
    return row


def current_row(conn: sqlite3.Connection, location_id: int, id: str,
                expected_version: ExpectedVersion | None) -> sqlite3.Row:
    """The live row of SCIM id ``id``; ``NotFound``, or ``VersionMismatch`` when its version does
    not meet ``expected_version``."""
    employee_id = mapping.split_id(id)
    row = None
    if employee_id is not None:
        row = conn.execute(SELECT + "WHERE e.id = ? AND " + LIVE, (employee_id, location_id)).fetchone()
    if row is None or mapping.scim_id_of(row) != id:
        raise NotFound(f"User {id} not found")
    if expected_version is not None:
        _check_version(row, id, expected_version)
    return row


def _check_version(row: sqlite3.Row, id: str, expected_version: ExpectedVersion) -> None:
    version = mapping.version_tag(row)
    if not expected_version.matches(version):
        raise VersionMismatch(f"User {id} has changed: its current version is {version}")


def _refuse_padded_holder(conn: sqlite3.Connection, location_id: int, email: str, own_id: int = 0) -> None:
    """409 when another live employee holds ``email`` with whitespace around it (or ``email`` has
    whitespace around it and another holds it bare), or as a BLOB: the write would make a second
    employee for the same person (:mod:`adapters.padded_emails`,
    :data:`.text_values.BLOB_EMAIL_IS`)."""
    forms = holder_forms(email)
    marks = ", ".join("?" * len(forms))
    holder = conn.execute(f"SELECT email FROM employees WHERE location_id = ? AND email IN ({marks}) "
                          "AND status <> 'removed' AND id <> ? LIMIT 1", (location_id, *forms, own_id)).fetchone()
    if holder is not None:
        raise padded_holder_taken(email, holder["email"])
    holder = conn.execute(f"SELECT e.email FROM employees e WHERE e.location_id = ? AND {text_values.BLOB_EMAIL_IS} "
                          "AND e.status <> 'removed' AND e.id <> ? LIMIT 1", (location_id, email, own_id)).fetchone()
    if holder is not None:
        raise text_values.blob_holder_taken(email, holder["email"])


def create_user(conn: sqlite3.Connection, location_id: int, stored: mapping.StoredUser, extra: str,
                written: Written | None = None) -> sqlite3.Row:
    """Insert a new employee, or revive a removed one (the one row UNIQUE (location_id, email)
    allows) under a new SCIM id so the old id stays 404 forever. ``extra`` is
    ``mapping.extra_json(stored.extra)``; both are computed before the write lock is taken.
    ``written``: the resource and the journal whose entry is stored in this transaction."""
    email = stored.columns["email"]
    existing = conn.execute(
        "SELECT e.id, e.status, s.incarnation FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id "
        "WHERE e.location_id = ? AND e.email = ?", (location_id, email)).fetchone()
    if existing is None or existing["status"] == "removed":
        _refuse_padded_holder(conn, location_id, email)
    now = mapping.now_iso()
    if existing is None:
        cur = conn.execute(_INSERT_EMPLOYEE, (location_id, *_employee_values(stored), now, now))
        employee_id, incarnation = int(cur.lastrowid or 0), 0
    elif existing["status"] == "removed":
        employee_id, incarnation = existing["id"], (existing["incarnation"] or 0) + 1
        conn.execute(_UPDATE_EMPLOYEE, (*_employee_values(stored), now, now, employee_id))
        # The new account starts as a plain employee, like a new row would: portal roles of the
        # removed account (location_admin, receptionist) are not inherited.
        conn.execute("DELETE FROM employee_roles WHERE employee_id = ?", (employee_id,))
    else:
        raise mapping.user_name_taken(email)
    scim_id = str(employee_id) if incarnation == 0 else f"{employee_id}.{incarnation}"
    conn.execute(_NEW_INCARNATION, (employee_id, location_id, scim_id, incarnation, stored.external_id, extra))
    if written is not None:
        insert_entry(conn, written.journal(None, {**written.resource, "id": scim_id}))
    return _fetch(conn, employee_id)


def replace_user(conn: sqlite3.Connection, location_id: int, id: str, stored: mapping.StoredUser, extra: str,
                 expected_version: ExpectedVersion | None, written: Written | None = None) -> sqlite3.Row | dict[str, Any]:
    """Replace every writable attribute of a live user (RFC 7644 §3.5.1); ``stored``, ``extra``
    and ``written`` as for :func:`create_user`."""
    current = current_row(conn, location_id, id, expected_version)
    if written is not None:
        entry = written.journal(mapping.from_storage(current), {**written.resource, "id": id})
        if not entry.changes_nothing:
            insert_entry(conn, entry)
    return _replace_row(conn, location_id, current, stored, extra)


@dataclass(frozen=True)
class PreparedPatch:
    """A PATCH worked out from the row as it was read: the new user (None: the PATCH changes
    nothing), its activity entry, and its columns and extras as stored."""

    row: sqlite3.Row
    stored: mapping.StoredUser | None = None
    extra: str = ""
    entry: ActivityEntry | None = None


def prepare_patch(conn: sqlite3.Connection, location_id: int, id: str, change: Change,
                  expected_version: ExpectedVersion | None, journal: Journal | None) -> PreparedPatch:
    """Read the live row outside any transaction and work the PATCH out from it (``NotFound``,
    ``VersionMismatch`` and the PATCH's own errors are raised here, before any lock is taken)."""
    return _patched(current_row(conn, location_id, id, expected_version), change, journal)


def _patched(current: sqlite3.Row, change: Change, journal: Journal | None) -> PreparedPatch:
    before = mapping.from_storage(current)
    changed = change(before)
    if changed is None:
        return PreparedPatch(current)
    stored = mapping.to_storage(changed)
    entry = journal(before, changed) if journal is not None else None
    return PreparedPatch(current, stored, mapping.extra_json(stored.extra), entry)


def modify_user(conn: sqlite3.Connection, location_id: int, id: str, change: Change,
                expected_version: ExpectedVersion | None, journal: Journal | None = None,
                prepared: PreparedPatch | None = None) -> sqlite3.Row | dict[str, Any]:
    """A PATCH in one transaction. ``prepared`` (:func:`prepare_patch`, before the lock) is
    written as it is when the row is still the one it was worked out from; otherwise (another
    write came between) the version is checked and the PATCH worked out again, here. ``change``
    and ``journal`` are pure, so that costs nothing but time.

    Why before the lock: working a PATCH out (mapping the row, applying the operations, the
    activity entry, mapping back) was two thirds of the time a PATCH held the write lock (py-spy,
    bench/load.py PATCH), and with ``--processes N`` every microsecond held is one the other
    workers may wait. The price is a second read of the row, inside the lock, to compare."""
    current = current_row(conn, location_id, id, expected_version if prepared is None else None)
    if prepared is None or tuple(prepared.row) != tuple(current):
        if prepared is not None and expected_version is not None:
            _check_version(current, id, expected_version)
        prepared = _patched(current, change, journal)
    if prepared.stored is None:
        return current
    if prepared.entry is not None:
        insert_entry(conn, prepared.entry)
    return _replace_row(conn, location_id, current, prepared.stored, prepared.extra)


def _replace_row(conn: sqlite3.Connection, location_id: int, current: sqlite3.Row, stored: mapping.StoredUser,
                 extra: str) -> sqlite3.Row | dict[str, Any]:
    """Write ``stored`` over the live row ``current``. The answer's row is built from what was
    written rather than read back, unless a trigger changed more (saves a joined SELECT inside
    the write lock: 2,645k → 2,586k instructions per PATCH, callgrind, one worker)."""
    stored = mapping.over(stored, current)
    email = stored.columns["email"]
    if email != current["email"]:  # a change of case too: NOCASE folds ASCII only, str.lower() more
        holder = conn.execute("SELECT status FROM employees WHERE location_id = ? AND email = ? AND id <> ?",
                              (location_id, email, current["id"])).fetchone()
        if holder is not None:
            raise mapping.user_name_taken(email, holder["status"])
        _refuse_padded_holder(conn, location_id, email, current["id"])
    changes = conn.total_changes
    updated_at = _update_changed_columns(conn, current, stored)
    version = _update_scim_row(conn, location_id, current, stored.external_id, extra)
    # One row in employees, and one in scim_users when its version moved: anything more is a
    # trigger of the portal's (total_changes counts trigger programs), so read the row back.
    if conn.total_changes - changes == 1 + (version != current["version"]):
        return _as_written(current, stored, updated_at, stored.external_id, extra, version)
    return _fetch(conn, current["id"])


def delete_user(conn: sqlite3.Connection, location_id: int, id: str,
                expected_version: ExpectedVersion | None, journal: Journal | None = None) -> None:
    """Deprovision: status 'removed' (visits keep their host); the SCIM id answers 404 from now on."""
    current = current_row(conn, location_id, id, expected_version)
    if journal is not None:
        insert_entry(conn, journal({"id": id, "userName": current["email"]}, None))
    conn.execute("UPDATE employees SET status = 'removed', updated_at = ? WHERE id = ?",
                 (mapping.stamp_after(mapping.read_stamp(current["updated_at"])), current["id"]))
    _update_scim_row(conn, location_id, current, current["external_id"], current["extra"] or "{}")


@dataclass(frozen=True)
class Written:
    """A write's resource (as the client sent it, canonical) and the journal of its entry."""

    resource: Resource
    journal: Journal


class DirectoryBusy(Unavailable):
    """Another connection holds the write lock (raised only by a connection that does not wait)."""


def run_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(conn, *args)`` between BEGIN IMMEDIATE and COMMIT (ROLLBACK on any error),
    translating SQLite errors into adapter errors. In WAL mode only BEGIN IMMEDIATE can meet
    another writer's lock: that raises :class:`DirectoryBusy` before anything was written."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DirectoryBusy(f"directory is busy: {exc}") from exc
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
        return result
    except BaseException as exc:
        _rollback(conn)
        if text_values.is_not_utf8(exc) and conn.text_factory is str:
            with text_values.leniently(conn):  # the whole transaction again (adapters/vizmo_sqlite/text_values.py)
                return run_transaction(conn, fn, *args)
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
            raise AlreadyExists("userName is already taken in this location") from exc
        if isinstance(exc, sqlite3.IntegrityError):  # the portal's own rule: a CHECK, NOT NULL or trigger
            raise InvalidValue(f"the directory refused the change: {str(exc)[:300]}") from exc
        if isinstance(exc, sqlite3.Error):
            raise Unavailable(f"directory write failed: {exc}") from exc
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed; the transaction was already closed")
