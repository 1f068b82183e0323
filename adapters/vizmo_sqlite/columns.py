"""Where each SCIM User attribute lives in the Vizmo directory, for filter/sort translation.

Queries have the shape (``mapping.py`` reads and writes the same layout)::

    SELECT ... FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id
    WHERE e.location_id = ? AND e.status <> 'removed' AND (<where>) ORDER BY <order by>

Legacy columns hold what the portal shows; everything else lives in ``s.extra`` (a partial SCIM
resource in canonical shape, NULL when the employee has no ``scim_users`` row).
"""

from __future__ import annotations

from typing import Any

from adapters.schema import ENTERPRISE_USER_URN, user_schema_info
from adapters.sql_filter import ColumnSpec, JsonArraySpec, SqlFilterTranslator
from adapters.vizmo_sqlite.mapping import split_id

#: The SCIM id: ``"<employee id>"`` or ``"<employee id>.<incarnation>"`` after a re-create.
ID_SQL = "COALESCE(s.scim_id, CAST(e.id AS TEXT))"
EXTRA_SQL = "COALESCE(s.extra, '{}')"


def id_lookup(value: str) -> tuple[str, list[Any]]:
    """``id eq`` as a primary-key lookup on the employee id before the dot; others match nothing."""
    employee_id = split_id(value)
    return ("e.id = ?", [employee_id]) if employee_id is not None else ("0", [])


def _type_at(alias: str) -> str:
    """The lower-cased ``type`` of the extra's phone entry that ``alias`` (a json_each row) is."""
    return f"lower(json_extract({EXTRA_SQL}, '$.phoneNumbers[' || {alias}.key || '].type'))"


def _phone_entry(kind: str, column: str, missing_group: int) -> str:
    """Rows ``(g, k, v)`` for the entry of this type: the extra's first one (keeping its position)
    with ``value`` taken from the column (as text: a portal's BLOB there made SQLite's JSON
    functions fail every such filter, a 503), or a new entry appended in group ``missing_group``;
    none when the column is NULL or the portal's '' (absent, as ``mapping.from_storage`` reads it)."""
    return (
        f"SELECT CASE WHEN vz_w.k IS NULL THEN {missing_group} ELSE 0 END, COALESCE(vz_w.k, 0),"
        f" json_set(COALESCE(vz_w.v, '{{\"type\":\"{kind}\"}}'), '$.value', CAST({column} AS TEXT))"
        f" FROM (SELECT 1) LEFT JOIN (SELECT vz_q.key AS k, vz_q.value AS v"
        f" FROM json_each({EXTRA_SQL}, '$.phoneNumbers') AS vz_q WHERE vz_q.type = 'object'"
        f" AND {_type_at('vz_q')} = '{kind}'"
        f" ORDER BY vz_q.key LIMIT 1) AS vz_w ON 1 WHERE CAST({column} AS TEXT) <> ''"
    )


#: The effective ``phoneNumbers`` array, as ``mapping.from_storage`` builds it. The portal edits
#: ``e.phone``/``e.mobile``, so they win over the list kept in ``s.extra``: the extra's entries in
#: their order, its first ``work``/``mobile`` entry (types compared ASCII-case-insensitively) with
#: the column as ``value`` (dropped when the column is NULL or ''; later entries of that type kept
#: as stored), then a new ``work``/``mobile`` entry for a set column the extra has no entry for.
#: Note: only object entries are kept (the gateway's schema validation admits no others).
PHONE_NUMBERS_SQL = (
    "(SELECT json_group_array(json(vz_ph.v)) FROM ("
    f"SELECT 0 AS g, vz_p.key AS k, vz_p.value AS v FROM json_each({EXTRA_SQL}, '$.phoneNumbers') AS vz_p"
    f" WHERE vz_p.type = 'object' AND (coalesce({_type_at('vz_p')}, '') NOT IN ('work', 'mobile')"
    f" OR EXISTS (SELECT 1 FROM json_each({EXTRA_SQL}, '$.phoneNumbers') AS vz_e WHERE vz_e.type = 'object'"
    f" AND vz_e.key < vz_p.key AND {_type_at('vz_e')} = {_type_at('vz_p')}))"
    f" UNION ALL {_phone_entry('work', 'e.phone', 1)}"
    f" UNION ALL {_phone_entry('mobile', 'e.mobile', 2)}"
    " ORDER BY 1, 2) AS vz_ph)"
)

#: ``emails``: as stored in ``s.extra``; an employee the portal created (no ``scim_users`` row)
#: shows its sign-in email (as text, a BLOB too) as its primary work email, as
#: ``mapping.from_storage`` does.
EMAILS_SQL = (
    "(CASE WHEN s.employee_id IS NULL THEN json_array(json_object("
    "'value', CAST(e.email AS TEXT), 'type', 'work', 'primary', json('true'))) "
    "ELSE json_extract(s.extra, '$.emails') END)"
)

#: ``active``: the portal's status, or NULL (no value) when the last SCIM write left it
#: unassigned (``"active": null`` in the extra, as ``mapping.to_storage`` writes it).
ACTIVE_SQL = "(CASE WHEN json_type(s.extra, '$.active') = 'null' THEN NULL ELSE e.status = 'active' END)"

_ENTERPRISE = ENTERPRISE_USER_URN + ":"


def column_map(*, id_sql: str, phone_numbers_sql: str, emails_sql: str,
               active_sql: str) -> dict[str, ColumnSpec | JsonArraySpec]:
    """Attribute path → storage of the Vizmo layout; everything else is read from ``s.extra``.

    The four expressions that differ between SQL dialects are parameters; the PostgreSQL
    adapter builds its map with this function too."""
    return {
        "id": ColumnSpec(id_sql, eq_lookup=id_lookup),
        "externalId": ColumnSpec("s.external_id"),  # the (external_id) index of scim_users drives it
        "userName": ColumnSpec("e.email"),
        "name.givenName": ColumnSpec("e.first_name"),
        "name.familyName": ColumnSpec("e.last_name"),
        "displayName": ColumnSpec("e.display_name"),
        "title": ColumnSpec("e.designation"),
        "active": ColumnSpec(active_sql),
        "meta.created": ColumnSpec("e.created_at"),
        "meta.lastModified": ColumnSpec("e.updated_at"),
        "phoneNumbers": JsonArraySpec(phone_numbers_sql),
        "emails": JsonArraySpec(emails_sql),
        _ENTERPRISE + "department": ColumnSpec("e.department"),
        _ENTERPRISE + "employeeNumber": ColumnSpec("e.employee_code"),
    }


COLUMNS = column_map(id_sql=ID_SQL, phone_numbers_sql=PHONE_NUMBERS_SQL, emails_sql=EMAILS_SQL,
                     active_sql=ACTIVE_SQL)


#: The filter/sort translator for Users of the Vizmo directory (stable tiebreak ``e.id``).
TRANSLATOR = SqlFilterTranslator(user_schema_info(), COLUMNS, json_document=EXTRA_SQL, tiebreak="e.id")
