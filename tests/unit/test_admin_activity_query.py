"""The activity view's keyset cursor, filters and CSV cells (gateway/admin/activity_query.py)."""

from __future__ import annotations

import csv
import io

import pytest

from adapters.activity import ActivityEntry, ActivityRecord
from gateway.admin.activity_query import ActivityFilter, csv_row, csv_text, cursor, parse_cursor, safe_cell


def entry(**changes: object) -> ActivityEntry:
    values: dict[str, object] = dict(time="2026-12-05T08:00:00.123Z", tenant="1", method="POST", operation="create",
                                     resource_id="7", user_name="ada@example.com", attributes=("userName", "title"),
                                     status=201, scim_type=None, request_id="abc")
    values.update(changes)
    return ActivityEntry(**values)  # type: ignore[arg-type]


def test_a_cursor_carries_the_time_and_id_of_the_last_record() -> None:
    record = ActivityRecord(42, entry())
    text = cursor(record)
    assert text == "2026-12-05T08:00:00.123Z,42"
    parsed = parse_cursor(text)
    assert parsed is not None and (parsed.id, parsed.entry.time) == (42, "2026-12-05T08:00:00.123Z")


@pytest.mark.parametrize("text", ["", "42", "2026-12-05T08:00:00.123Z", "2026-12-05T08:00:00Z,42",
                                  "2026-12-05T08:00:00.123Z,0", "2026-12-05T08:00:00.123Z,-1",
                                  "2026-12-05T08:00:00.123Z,42;DROP", "x" * 5000])
def test_a_malformed_cursor_is_the_first_page(text: str) -> None:
    assert parse_cursor(text) is None


def test_filters_keep_only_known_outcomes_and_link_back() -> None:
    filters = ActivityFilter.parse("  ada@example.com ", "refused", "2026-12-05T08:00:00.123Z,42")
    assert (filters.user_name, filters.outcome) == ("ada@example.com", "refused")
    assert filters.query() == {"user": "ada@example.com", "outcome": "refused"}
    assert ActivityFilter.parse("", "everything", "").outcome is None
    assert ActivityFilter.parse("", "", "").query() == {}


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("ada@example.com", "ada@example.com"), (None, ""), (201, "201"),
])
def test_cells_a_spreadsheet_would_evaluate_are_defused(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_rows_are_rfc_4180_csv() -> None:
    row = csv_row(entry(user_name='a,"b"@example.com', scim_type="uniqueness", status=409))
    text = csv_text([row])
    assert text.endswith("\r\n") and '"a,""b""@example.com"' in text
    assert next(csv.reader(io.StringIO(text))) == ["2026-12-05T08:00:00.123Z", "1", "POST", "create", "7",
                                                   'a,"b"@example.com', "userName;title", "409", "uniqueness", "abc"]
