"""Answering a :class:`~adapters.query.ListQuery` over resources held in memory: filter, sort, page.

For a store without a query language (a JSON file, a key-value store, an API that lists
everything): load the candidate resources, then ``search_in_memory(query, resources)`` is what
``ResourceAdapter.search`` returns. The filter is evaluated by :func:`adapters.filter_eval.matches`,
the same evaluator the gateway's PATCH engine uses and the SQL adapters are tested against, so an
adapter using it may declare every operator, ``logical`` and ``sort`` in its ``Capabilities``.

Sorting follows RFC 7644 §3.4.2.3 as the SQL adapters do: a multi-valued attribute sorts by its
primary (else first) value, a complex one by its ``value``; strings ignore case unless the
attribute is ``caseExact``; a ``dateTime`` attribute's values sort chronologically (a string
attribute's text sorts as text, whatever it looks like, as in the LDAP adapter); resources without a
value come last when ascending and first when descending; ties keep the input order (so the
unsorted order must be stable for paging to be).

Everything here is pure CPU work on the caller's thread: quick for the pages Entra ID and Okta
ask for, and the event-loop rule (``adapters/base.py``) applies to loading the resources, not to
this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.base import Resource
from adapters.datetimes import parse_datetime
from adapters.filter_eval import CaseExact, DateTime, matches, member
from adapters.query import AttrPath, ListQuery, Page, SortSpec
from adapters.schema import user_schema_info

__all__ = ["search_in_memory", "sort_resources", "matches"]


def _user_case_exact(path: AttrPath) -> bool:
    return user_schema_info().case_exact(path)


def _user_date_time(path: AttrPath) -> bool:
    """Whether the User attribute at ``path`` (``meta.created``, an extension's) is a ``dateTime``."""
    return user_schema_info().date_time(path)


def search_in_memory(query: ListQuery, resources: Iterable[Resource], *,
                     case_exact: CaseExact = _user_case_exact, date_time: DateTime = _user_date_time) -> Page:
    """One page of the resources matching ``query.filter``, sorted by ``query.sort``, from
    ``query.start_index`` (1-based), at most ``query.count``; ``total_results`` counts every
    match. The resources in the page are the objects given (copy them if they are stored)."""
    found = [r for r in resources
             if query.filter is None or matches(query.filter, r, case_exact=case_exact, date_time=date_time)]
    if query.sort is not None:
        found = sort_resources(found, query.sort, case_exact=case_exact, date_time=date_time)
    start = max(query.start_index, 1) - 1
    return Page(resources=list(found[start:start + max(query.count, 0)]), total_results=len(found))


def sort_resources(resources: Iterable[Resource], sort: SortSpec, *,
                   case_exact: CaseExact = _user_case_exact, date_time: DateTime = _user_date_time) -> list[Resource]:
    """``resources`` ordered by ``sort`` (RFC 7644 §3.4.2.3; see the module docstring);
    ``case_exact`` and ``date_time`` tell an attribute's characteristics (the User schema's by default)."""
    exact, timed = case_exact(sort.path), date_time(sort.path)
    keyed: list[tuple[tuple[int, Any], Resource]] = []
    without: list[Resource] = []
    for resource in resources:
        key = _sort_key(_sort_value(resource, sort.path), exact, timed)
        if key is None:
            without.append(resource)
        else:
            keyed.append((key, resource))
    keyed.sort(key=lambda pair: pair[0], reverse=sort.descending)  # stable, also reversed
    ordered = [resource for _, resource in keyed]
    return without + ordered if sort.descending else ordered + without


def _sort_value(resource: Resource, path: AttrPath) -> Any:
    container: Any = resource if path.urn is None else member(resource, path.urn)
    value = member(container, path.attr) if isinstance(container, Mapping) else None
    if isinstance(value, list):
        primary = [v for v in value if isinstance(v, Mapping) and v.get("primary") is True]
        value = primary[0] if primary else (value[0] if value else None)
    if isinstance(value, Mapping):
        value = member(value, path.sub_attr or "value")
    elif path.sub_attr is not None:
        value = None
    return value


def _sort_key(value: Any, exact: bool, timed: bool) -> tuple[int, Any] | None:
    """A key that orders values of one kind; kinds apart (numbers, then times, then strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        moment = parse_datetime(value) if timed else None
        if moment is not None:
            return (1, moment.timestamp())
        return (2, value if exact else value.casefold())
    return None
