"""The SDK's in-memory query helper (``adapters.in_memory``): filter, sort (RFC 7644 §3.4.2.3), page."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.datetimes import parse_datetime, parse_filter_datetime
from adapters.errors import UnsupportedFilter
from adapters.in_memory import search_in_memory, sort_resources
from adapters.ldap.sorting import Sorter
from adapters.schema import user_schema_info
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


def test_the_in_memory_sort_and_the_ldap_adapters_agree_on_text_that_looks_like_a_time() -> None:
    """A string attribute's text sorts as text in both (the in-memory sort read any text that
    parsed as a dateTime as a time, so the two orders differed: a maintainability review);
    ``meta.created`` sorts chronologically in both."""
    people = [{"id": "a", "userName": "a@x", "title": "2024-01-01T10:00:00+05:00",
               "meta": {"created": "2024-01-01T10:00:00+05:00"}},
              {"id": "b", "userName": "b@x", "title": "2024-01-01T06:00:00Z", "meta": {"created": "2024-01-01T06:00:00Z"}}]
    ldap = Sorter(user_schema_info())
    for spec, expected in ((by("title"), ["b", "a"]), (SortSpec(AttrPath("meta", "created")), ["a", "b"])):
        assert ids(sort_resources(people, spec)) == expected
        assert ids(ldap.order(people, spec)) == expected


def test_the_in_memory_filter_reads_text_that_looks_like_a_time_as_its_sort_does() -> None:
    """The filter compared any two date-like strings as moments while the sort (and SQL) compared a
    string attribute's text as text: ``title gt`` and ``sortBy=title`` disagreed (a code review)."""
    people = [{"id": "a", "userName": "a@x", "title": "2024-01-01T10:00:00+05:00",
               "meta": {"created": "2024-01-01T10:00:00+05:00"}},
              {"id": "b", "userName": "b@x", "title": "2024-01-01T06:00:00Z",
               "meta": {"created": "2024-01-01T06:00:00Z"}}]
    text = search_in_memory(ListQuery(filter=parse_filter('title gt "2024-01-01T06:00:00Z"')), people)
    assert ids(text.resources) == ["a"]  # "...10:00:00+05:00" > "...06:00:00Z" as text (05:00 UTC as a moment)
    times = search_in_memory(ListQuery(filter=parse_filter('meta.created gt "2024-01-01T05:30:00Z"')), people)
    assert ids(times.resources) == ["b"]  # as moments: a is 05:00 UTC (as text both were later)


def test_a_datetime_without_a_utc_equivalent_is_no_datetime() -> None:
    """Year 1 at +01:00 (and year 9999 at -01:00) cannot be compared: one parser for all."""
    for text in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-02-30T00:00:00Z", "today"):
        assert parse_datetime(text) is None
        with pytest.raises(UnsupportedFilter):
            parse_filter_datetime(text, "meta.created")
    moment = parse_datetime("2024-01-01T10:00:00.1234567+05:00")
    assert moment is not None and moment.microsecond == 123456 and moment.utcoffset().total_seconds() == 5 * 3600
    assert parse_filter_datetime("2024-01-01T10:00:00.0000001+05:00", "x") == (
        parse_filter_datetime("2024-01-01T05:00:00Z", "x")[0], True)


@pytest.mark.parametrize("text", ["2026-01-05T08:00:00+15:00", "2026-01-05T08:00:00-14:30", "2026-01-05T08:00:00+05:60",
                                  "\uff12\uff10\uff12\uff16-01-05T08:00:00Z"])
def test_an_offset_beyond_xsd_s_range_or_digits_outside_ascii_are_no_datetime(text: str) -> None:
    """xsd:dateTime offsets run from -14:00 to +14:00 (SQLite reads no other: such a stamp was shown
    as a time no filter found), and full-width digits matched ``\\d`` (a time fuzz)."""
    assert parse_datetime(text) is None
    assert parse_datetime("2026-01-05T08:00:00+14:00") is not None
    with pytest.raises(UnsupportedFilter):
        parse_filter_datetime(text, "meta.created")
