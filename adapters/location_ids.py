"""What a location id is, for every part that takes one: a Tenant URL's path, the CLI's
``--location``, the Integrations page, the state stores and the built-in adapters.

Vizmo's locations are rows with 64-bit integer ids (SQLite ``INTEGER``, PostgreSQL ``bigint``),
and the gateway's own tables key on them. Before this one rule there were five, which disagreed:
``01`` enabled location 1, a 19-digit id passed the CLI and was then not found, and the LDAP
adapter listed organisational units named by words that no state store could enable.
"""

from __future__ import annotations


#: The largest location id (a signed 64-bit integer: SQLite's INTEGER, PostgreSQL's bigint).
MAX_LOCATION_ID = 2**63 - 1


def location_number(tenant: str) -> int | None:
    """The location id a tenant names: ASCII digits without a leading zero that fit a signed
    64-bit integer, or None."""
    if not (tenant.isascii() and tenant.isdigit()) or tenant.startswith("0") or len(tenant) > 19:
        return None
    number = int(tenant)
    return number if number <= MAX_LOCATION_ID else None
