"""Where each SCIM User attribute lives in the Vizmo directory on PostgreSQL, for filter/sort
translation (the PostgreSQL twin of :mod:`adapters.vizmo_sqlite.columns`).

Queries have the shape (``adapters.vizmo_sqlite.mapping`` reads and writes the same layout)::

    SELECT ... FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id
    WHERE e.location_id = ? AND e.status <> 'removed' AND (<where>) ORDER BY <order by>

Legacy columns hold what the portal shows; everything else lives in ``s.extra`` (``jsonb``, a
partial SCIM resource in canonical shape, NULL when the employee has no ``scim_users`` row).
``userName eq`` compiles to ``lower(e.email) = lower(?)``, the expression of the unique index
``(location_id, lower(email))``; ``id eq`` adds ``e.id = ?`` (the primary key) and
``externalId eq`` lets the ``(location_id, external_id)`` index of ``scim_users`` drive the join.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.schema_info import ENTERPRISE_USER_URN, user_schema_info
from adapters.sql_dialect import PostgresDialect
from adapters.sql_filter import ColumnSpec, JsonArraySpec, SqlFilterTranslator

#: The SCIM id: ``"<employee id>"`` or ``"<employee id>.<incarnation>"`` after a re-create.
ID_SQL = "COALESCE(s.scim_id, e.id::text)"
EXTRA_SQL = "s.extra"
_ID_RE = re.compile(r"([0-9]{1,18})(?:\.[0-9]+)?")


def _id_lookup(value: str) -> tuple[str, list[Any]]:
    """``id eq`` as a primary-key lookup on the employee id before the dot; others match nothing."""
    match = _ID_RE.fullmatch(value)
    return ("e.id = ?", [int(match.group(1))]) if match else ("0", [])


def _external_id_lookup(value: str) -> tuple[str, list[Any]]:
    """Lets ``externalId eq`` use the ``(location_id, external_id)`` index of ``scim_users``.

    ``s.location_id`` always equals the employee's location (the adapter writes both).
    """
    return "s.location_id = e.location_id", []


#: The extra's ``phoneNumbers`` when it is an array, else NULL (which has no elements).
_PHONES = "(CASE WHEN jsonb_typeof(s.extra -> 'phoneNumbers') = 'array' THEN s.extra -> 'phoneNumbers' END)"


def _phone_entry(kind: str, column: str, missing_group: int) -> str:
    """Rows ``(g, k, v)`` for the entry of this type: the extra's first one (keeping its position)
    with ``value`` taken from the column, or a new entry appended in group ``missing_group``;
    none when the column is NULL."""
    return (
        f"SELECT CASE WHEN vz_w.k IS NULL THEN {missing_group} ELSE 0 END, COALESCE(vz_w.k, 0),"
        f" jsonb_set(COALESCE(vz_w.v, '{{\"type\": \"{kind}\"}}'::jsonb), '{{value}}', to_jsonb({column}))"
        f" FROM (SELECT 1) AS vz_one LEFT JOIN (SELECT vz_q.k, vz_q.v"
        f" FROM jsonb_array_elements({_PHONES}) WITH ORDINALITY AS vz_q(v, k) WHERE jsonb_typeof(vz_q.v) = 'object'"
        f" AND lower(vz_q.v ->> 'type') = '{kind}' ORDER BY vz_q.k LIMIT 1) AS vz_w ON TRUE"
        f" WHERE {column} IS NOT NULL"
    )


#: The effective ``phoneNumbers`` array (jsonb), as ``mapping.from_storage`` builds it. The portal
#: edits ``e.phone``/``e.mobile``, so they win over the list kept in ``s.extra``: the extra's
#: entries in their order, its first ``work``/``mobile`` entry (types compared case-insensitively)
#: with the column as ``value`` (dropped when the column is NULL; later entries of that type
#: dropped), then a new ``work``/``mobile`` entry for a set column the extra has no entry for.
#: Note: only object entries are kept (the gateway's schema validation admits no others).
PHONE_NUMBERS_SQL = (
    "(SELECT COALESCE(jsonb_agg(vz_ph.v ORDER BY vz_ph.g, vz_ph.k), '[]'::jsonb) FROM ("
    f"SELECT 0 AS g, vz_p.k AS k, vz_p.v AS v FROM jsonb_array_elements({_PHONES}) WITH ORDINALITY AS vz_p(v, k)"
    " WHERE jsonb_typeof(vz_p.v) = 'object' AND coalesce(lower(vz_p.v ->> 'type'), '') NOT IN ('work', 'mobile')"
    f" UNION ALL {_phone_entry('work', 'e.phone', 1)}"
    f" UNION ALL {_phone_entry('mobile', 'e.mobile', 2)}"
    ") AS vz_ph)"
)

#: ``emails``: as stored in ``s.extra``; an employee the portal created (no ``scim_users`` row)
#: shows its sign-in email as its primary work email, as ``mapping.from_storage`` does.
EMAILS_SQL = (
    "(CASE WHEN s.employee_id IS NULL THEN jsonb_build_array(jsonb_build_object("
    "'value', e.email, 'type', 'work', 'primary', TRUE)) ELSE s.extra -> 'emails' END)"
)

_ENTERPRISE = ENTERPRISE_USER_URN + ":"

#: Attribute path → storage; everything else is read from ``s.extra``.
COLUMNS: dict[str, ColumnSpec | JsonArraySpec] = {
    "id": ColumnSpec(ID_SQL, eq_lookup=_id_lookup),
    "externalId": ColumnSpec("s.external_id", eq_lookup=_external_id_lookup),
    "userName": ColumnSpec("e.email"),
    "name.givenName": ColumnSpec("e.first_name"),
    "name.familyName": ColumnSpec("e.last_name"),
    "displayName": ColumnSpec("e.display_name"),
    "title": ColumnSpec("e.designation"),
    "active": ColumnSpec("(e.status = 'active')"),
    "meta.created": ColumnSpec("e.created_at"),
    "meta.lastModified": ColumnSpec("e.updated_at"),
    "phoneNumbers": JsonArraySpec(PHONE_NUMBERS_SQL),
    "emails": JsonArraySpec(EMAILS_SQL),
    _ENTERPRISE + "department": ColumnSpec("e.department"),
    _ENTERPRISE + "employeeNumber": ColumnSpec("e.employee_code"),
}

#: The filter/sort translator for Users of the Vizmo directory on PostgreSQL (tiebreak ``e.id``).
#: Its SQL has ``?`` placeholders: pass the finished statement through ``sql_dialect.numbered``.
TRANSLATOR = SqlFilterTranslator(user_schema_info(), COLUMNS, json_document=EXTRA_SQL, tiebreak="e.id",
                                 dialect=PostgresDialect())
