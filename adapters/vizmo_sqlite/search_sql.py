"""The SELECT statements of a search on the Vizmo directory (SQLite): an index lookup for a
filter that pins one user, else one page of a scan with the number of matches.

Parameters, in order: the location, the filter's, the order's, count, offset (and for
:func:`page_sql` the order's once more).
"""

from __future__ import annotations

from adapters.query import And, Compare, Filter, ListQuery
from adapters.vizmo_sqlite.writes import LIVE, SELECT

_POINT_ATTRIBUTES = frozenset({"id", "userName", "externalId"})
#: Attributes with at most one live row per value in a location (the primary key, the unique
#: (location_id, email) index).
_UNIQUE_ATTRIBUTES = frozenset({"id", "userName"})
#: ``externalId eq`` alone is driven by ``scim_users``' external_id index with the location term
#: unindexable (``+``): else SQLite, without the statistics ANALYZE would write into the portal's
#: file, walks the whole location in id order (0.33 s at 100,000, on the loop; a review).
_EXTERNAL_ID = frozenset({"externalId"})
_LIVE_BY_EXTERNAL_ID = LIVE.replace("e.location_id", "+e.location_id", 1)


def is_point_lookup(node: Filter | None, attributes: frozenset[str] = _POINT_ATTRIBUTES) -> bool:
    """Whether the filter pins one of ``attributes`` with ``eq`` (an index lookup)."""
    if isinstance(node, Compare):
        return node.op == "eq" and node.path.urn is None and node.path.sub_attr is None \
            and node.path.attr in attributes
    if isinstance(node, And):
        return is_point_lookup(node.left, attributes) or is_point_lookup(node.right, attributes)
    return False


def _live_for(query: ListQuery, unique: bool) -> str:
    return _LIVE_BY_EXTERNAL_ID if not unique and is_point_lookup(query.filter, _EXTERNAL_ID) else LIVE


def count_sql(where: str, live: str = LIVE) -> str:
    """The number of users ``where`` matches (parameters: the location, ``where``'s), as ``total``."""
    return f"SELECT count(*) AS total FROM employees e LEFT JOIN scim_users s ON s.employee_id = e.id " \
           f"WHERE {live} AND ({where})"


def point_count_sql(query: ListQuery, where: str) -> str:
    """:func:`count_sql` of a point look-up, driven by the same index as its page, so that it too
    is read on the event loop (through the scans' reader it waited behind a million-employee
    list: a review of this module)."""
    return count_sql(where, _live_for(query, is_point_lookup(query.filter, _UNIQUE_ATTRIBUTES)))


def point_lookup_sql(query: ListQuery, where: str, order: str) -> tuple[str, bool]:
    """The SELECT of a search that pins ``id``, ``userName`` or ``externalId`` (parameters: the
    location, ``where``'s, the order's unless unordered, count, offset), and whether it is
    unordered. At most a handful of rows: no window count (it forces a temporary B-tree), and for
    at most one row no ORDER BY either (that one costs a sorter too: 18 -> 13 us)."""
    unique = is_point_lookup(query.filter, _UNIQUE_ATTRIBUTES)
    unordered = query.sort is None and unique
    live = _live_for(query, unique)
    return f"{SELECT}WHERE {live} AND ({where}){'' if unordered else f' ORDER BY {order}'} LIMIT ? OFFSET ?", unordered


def page_sql(where: str, order: str) -> str:
    """One page of the users ``where`` matches, in ``order``, each row with the number of all
    matches (``total``). The window count and the sort see only ids: the whole row (its columns
    and the ``scim_users`` join) is read for the page's rows alone. Reading it for every match
    sorted the whole location's rows (a directory of 1,000,000 employees: 4.8 s for the first
    page, 12.7 s at startIndex 999,001, past the adapter timeout; 1.7 and 3.7 s so; a scale review).
    """
    page = (f"SELECT count(*) OVER () AS total, e.id AS id FROM employees e LEFT JOIN scim_users s "
            f"ON s.employee_id = e.id WHERE {LIVE} AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?")
    rows = SELECT.replace("SELECT ", "SELECT vz_page.total AS total, ", 1) \
        .replace("FROM employees e ", "FROM vz_page JOIN employees e ON e.id = vz_page.id ", 1)
    return f"WITH vz_page AS ({page}) {rows}ORDER BY {order}"
