"""The activity view's keyset cursor, filters and CSV cells (gateway/admin/activity_query.py)."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.activity import ActivityEntry, ActivityRecord
from adapters.sqlite_state import SqliteStateStore
from gateway.admin.activity_query import (ActivityFilter, all_records, csv_row, csv_text, cursor, parse_cursor,
                                          read_page, safe_cell)


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
                                  "2026-12-05T08:00:00.123Z,42;DROP", "x" * 5000,
                                  "2026-12-05T08:00:00.123Z,9223372036854775808"])  # 2**63: a 500 (fuzzing)
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
    ("\r=1", "'\r=1"), ("\n=1", "'\n=1"), ("ada@example.com", "ada@example.com"), (None, ""), (201, "201"),
    ("y;=cmd|' /C calc'!A0;", "y;'=cmd|' /C calc'!A0;"), (" =1+1", "' =1+1"), ("\uff1d1+1", "'\uff1d1+1"),
    ("userName;emails;-x", "userName;emails;'-x"), ("a=b;c+d", "a=b;c+d"),
])
def test_cells_a_spreadsheet_would_evaluate_are_defused(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_rows_are_rfc_4180_csv() -> None:
    row = csv_row(entry(user_name='a,"b"@example.com', scim_type="uniqueness", status=409))
    text = csv_text([row])
    assert text.endswith("\r\n") and '"a,""b""@example.com"' in text
    assert next(csv.reader(io.StringIO(text))) == ["2026-12-05T08:00:00.123Z", "1", "POST", "create", "7",
                                                   'a,"b"@example.com', "userName;title", "409", "uniqueness", "abc"]


def test_pages_and_the_export_walk_the_whole_log_once_in_order(tmp_path: Path) -> None:
    """On a real SQLite activity log: 1,203 entries, many sharing one millisecond (the keyset
    breaks ties by id), read as 50-entry pages and as the export's 500-entry batches."""
    async def scenario() -> tuple[list[int], list[int], list[int]]:
        store = SqliteStateStore(tmp_path / "state.db")
        await store.start()
        try:
            log = store.activity_log()
            times = [f"2026-12-05T08:00:{n // 100:02d}.000Z" for n in range(1203)]
            await log.append([entry(time=t, resource_id=str(n), status=409 if n % 3 == 0 else 201)
                              for n, t in enumerate(times)])
            await log.append([entry(tenant="2", resource_id="other")])
            paged: list[int] = []
            filters = ActivityFilter()
            while True:
                page = await read_page(log, "1", filters)
                paged += [int(r.entry.resource_id or "-1") for r in page.records]
                if page.next_after is None:
                    break
                filters = replace(filters, before=page.next_after)
            batches = [len(batch) async for batch in all_records(log, "1", ActivityFilter())]
            exported = [int(r.entry.resource_id or "-1") async for batch in all_records(
                log, "1", ActivityFilter(outcome="refused")) for r in batch]
            return paged, batches, exported
        finally:
            await store.close()

    loop = asyncio.new_event_loop()
    try:
        paged, batches, exported = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert paged == list(range(1202, -1, -1))  # newest first: time, then id; each entry once
    assert batches == [500, 500, 203]
    assert exported == [n for n in range(1202, -1, -1) if n % 3 == 0]
