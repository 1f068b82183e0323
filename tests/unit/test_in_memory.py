"""The SDK's in-memory query helper (``adapters.in_memory``): filter, sort (RFC 7644 §3.4.2.3), page."""

from __future__ import annotations

from typing import Any

from adapters.in_memory import search_in_memory, sort_resources
from adapters.query import AttrPath, Compare, ListQuery, SortSpec
from gateway.scim.filter import parse_filter

PEOPLE: list[dict[str, Any]] = [
    {"id": "1", "userName": "bob@x", "title": "b", "meta": {"created": "2024-01-02T00:00:00Z"},
     "emails": [{"value": "z@x"}, {"value": "a@x", "primary": True}]},
    {"id": "2", "userName": "Alice@x", "meta": {"created": "2024-01-01T10:00:00+11:00"},
     "emails": [{"value": "m@x"}]},
    {"id": "3", "userName": "carol@x", "title": "B", "meta": {"created": "2024-01-01T00:00:00.500Z"}},
    {"id": "4", "userName": "dave@x", "title": "a"},
]


def ids(resources: list) -> list[str]:
    return [r["id"] for r in resources]


def by(attr: str, descending: bool = False, sub: str | None = None) -> SortSpec:
    return SortSpec(AttrPath(attr=attr, sub_attr=sub), descending=descending)


def test_strings_sort_ignoring_case_and_missing_values_go_last_ascending_first_descending() -> None:
    assert ids(sort_resources(PEOPLE, by("userName"))) == ["2", "1", "3", "4"]
    assert ids(sort_resources(PEOPLE, by("title"))) == ["4", "1", "3", "2"]  # b and B tie: input order
    assert ids(sort_resources(PEOPLE, by("title", True))) == ["2", "1", "3", "4"]


def test_times_sort_chronologically_and_multi_valued_by_the_primary_value() -> None:
    assert ids(sort_resources(PEOPLE, by("meta", sub="created"))) == ["2", "3", "1", "4"]
    assert ids(sort_resources(PEOPLE, by("emails"))) == ["1", "2", "3", "4"]  # a@x (primary), m@x, then none


def test_search_filters_sorts_and_pages_with_the_full_total() -> None:
    query = ListQuery(filter=parse_filter('userName co "@x" and not (userName sw "dave")'), sort=by("userName", True),
                      start_index=2, count=1)
    page = search_in_memory(query, PEOPLE)
    assert ids(page.resources) == ["1"] and page.total_results == 3
    exact = ListQuery(filter=Compare(AttrPath(attr="userName"), "eq", "ALICE@X"))
    assert ids(search_in_memory(exact, PEOPLE).resources) == ["2"]  # userName is not caseExact
    assert search_in_memory(ListQuery(count=0), PEOPLE).resources == []
