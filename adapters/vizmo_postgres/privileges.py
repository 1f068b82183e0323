"""The privileges the database user needs, checked when the adapter starts (README: the postgres
adapter's privileges).

A user granted what README listed could start and read, and every write was then a 500: the
activity entry each write adds takes a number from ``scim_activity``'s sequence, and a ``serial``
column's sequence needs ``USAGE`` of its own (an identity column's does not). A start with a
privilege missing is refused, naming each one, so a DBA grants them before Entra ID's first
write rather than after (a PostgreSQL review).
"""

from __future__ import annotations

import asyncpg

from adapters.errors import Unavailable

__all__ = ["refuse_missing_privileges"]

#: Table privileges by table: the portal's tables as the gateway uses them, then its own.
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "employees": ("SELECT", "INSERT", "UPDATE"),
    "locations": ("SELECT",),
    "employee_roles": ("SELECT", "DELETE"),
    **{table: ("SELECT", "INSERT", "UPDATE", "DELETE") for table in (
        "scim_users", "scim_integrations", "scim_signing_key", "scim_activity", "scim_operators")},
}
#: Tables whose ``id`` the gateway's inserts draw from a sequence.
NUMBERED = ("employees", "scim_activity")


async def refuse_missing_privileges(conn: asyncpg.Connection) -> None:
    """``Unavailable`` naming every privilege of :data:`TABLE_PRIVILEGES` the current user lacks,
    and ``USAGE`` on the sequence of a ``serial`` id of :data:`NUMBERED` (tables that do not exist
    are left to the checks that need them)."""
    pairs = [(table, privilege) for table, privileges in TABLE_PRIVILEGES.items() for privilege in privileges]
    missing = [f"{row['privilege']} on {row['name']}" for row in await conn.fetch(
        "SELECT t.name, t.privilege FROM unnest($1::text[], $2::text[]) AS t(name, privilege) "
        "WHERE to_regclass(t.name) IS NOT NULL AND NOT has_table_privilege(t.name, t.privilege)",
        [table for table, _ in pairs], [privilege for _, privilege in pairs])]
    missing += [f"USAGE on sequence {row['sequence']}" for row in await conn.fetch(
        "SELECT s.sequence FROM (SELECT pg_get_serial_sequence(name, 'id') AS sequence, name "
        "FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL) AS s "
        "JOIN pg_attribute a ON a.attrelid = to_regclass(s.name) AND a.attname = 'id' "
        "WHERE s.sequence IS NOT NULL AND a.attidentity = '' AND NOT has_sequence_privilege(s.sequence, 'USAGE')",
        list(NUMBERED))]
    if missing:
        user = await conn.fetchval("SELECT current_user")
        raise Unavailable(f"the database user {user} lacks {', '.join(missing)}: grant them (README: the "
                          "postgres adapter's privileges); without them writes fail")
