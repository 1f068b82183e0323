"""Where each SCIM User attribute lives in the Vizmo directory on PostgreSQL, for filter/sort
translation (the PostgreSQL twin of :mod:`adapters.vizmo_sqlite.columns`).

Queries have the shape (``adapters.vizmo_sqlite.mapping`` reads and writes the same layout)::

    SELECT ... FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id
    WHERE e.location_id = ? AND e.status <> 'removed' AND (<where>) ORDER BY <order by>

Legacy columns hold what the portal shows; everything else lives in ``s.extra`` (``jsonb``, a
partial SCIM resource in canonical shape, NULL when the employee has no ``scim_users`` row).
``userName eq`` compiles to ``lower(e.email) = lower(?)``, the expression of the unique index
``(location_id, lower(email))``; ``id eq`` adds ``e.id = ?`` (the primary key) and
``externalId eq`` is driven by the ``(external_id)`` index of ``scim_users``.
"""

from __future__ import annotations


from adapters.schema import user_schema_info
from adapters.sql_dialect import PostgresDialect
from adapters.sql_filter import SqlFilterTranslator
from adapters.vizmo_sqlite.columns import column_map

#: The SCIM id: ``"<employee id>"`` or ``"<employee id>.<incarnation>"`` after a re-create.
ID_SQL = "COALESCE(s.scim_id, e.id::text)"
EXTRA_SQL = "s.extra"
#: The extra's ``phoneNumbers`` when it is an array, else NULL (which has no elements).
_PHONES = "(CASE WHEN jsonb_typeof(s.extra -> 'phoneNumbers') = 'array' THEN s.extra -> 'phoneNumbers' END)"


def _phone_entry(kind: str, column: str, missing_group: int) -> str:
    """Rows ``(g, k, v)`` for the entry of this type: the extra's first one (keeping its position)
    with ``value`` taken from the column, or a new entry appended in group ``missing_group``;
    none when the column is NULL or the portal's '' (absent, as ``mapping.from_storage`` reads it)."""
    return (
        f"SELECT CASE WHEN vz_w.k IS NULL THEN {missing_group} ELSE 0 END, COALESCE(vz_w.k, 0),"
        f" jsonb_set(COALESCE(vz_w.v, '{{\"type\": \"{kind}\"}}'::jsonb), '{{value}}', to_jsonb({column}))"
        f" FROM (SELECT 1) AS vz_one LEFT JOIN (SELECT vz_q.k, vz_q.v"
        f" FROM jsonb_array_elements({_PHONES}) WITH ORDINALITY AS vz_q(v, k) WHERE jsonb_typeof(vz_q.v) = 'object'"
        f" AND lower(vz_q.v ->> 'type') = '{kind}' ORDER BY vz_q.k LIMIT 1) AS vz_w ON TRUE"
        f" WHERE {column} <> ''"
    )


#: The effective ``phoneNumbers`` array (jsonb), as ``mapping.from_storage`` builds it. The portal
#: edits ``e.phone``/``e.mobile``, so they win over the list kept in ``s.extra``: the extra's
#: entries in their order, its first ``work``/``mobile`` entry (types compared case-insensitively)
#: with the column as ``value`` (dropped when the column is NULL; later entries of that type kept
#: as stored), then a new ``work``/``mobile`` entry for a set column the extra has no entry for.
#: Note: only object entries are kept (the gateway's schema validation admits no others).
PHONE_NUMBERS_SQL = (
    "(SELECT COALESCE(jsonb_agg(vz_ph.v ORDER BY vz_ph.g, vz_ph.k), '[]'::jsonb) FROM ("
    f"SELECT 0 AS g, vz_p.k AS k, vz_p.v AS v FROM jsonb_array_elements({_PHONES}) WITH ORDINALITY AS vz_p(v, k)"
    " WHERE jsonb_typeof(vz_p.v) = 'object' AND (coalesce(lower(vz_p.v ->> 'type'), '') NOT IN ('work', 'mobile')"
    f" OR EXISTS (SELECT 1 FROM jsonb_array_elements({_PHONES}) WITH ORDINALITY AS vz_e(v, k)"
    " WHERE jsonb_typeof(vz_e.v) = 'object' AND vz_e.k < vz_p.k"
    " AND lower(vz_e.v ->> 'type') = lower(vz_p.v ->> 'type')))"
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

#: ``active``: the portal's status, or NULL when the last SCIM write left it unassigned.
ACTIVE_SQL = "(CASE WHEN s.extra -> 'active' = 'null'::jsonb THEN NULL ELSE e.status = 'active' END)"

COLUMNS = column_map(id_sql=ID_SQL, phone_numbers_sql=PHONE_NUMBERS_SQL, emails_sql=EMAILS_SQL,
                     active_sql=ACTIVE_SQL)

#: The filter/sort translator for Users of the Vizmo directory on PostgreSQL (tiebreak ``e.id``).
#: Its SQL has ``?`` placeholders: pass the finished statement through ``sql_dialect.numbered``.
TRANSLATOR = SqlFilterTranslator(user_schema_info(), COLUMNS, json_document=EXTRA_SQL, tiebreak="e.id",
                                 dialect=PostgresDialect())
