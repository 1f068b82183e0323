"""The activity view's query (filters, keyset pages, the 24-hour summary) and its CSV export,
over :class:`adapters.activity.ActivityLog` (issue 15 §1). No Tornado here.

Pages are keyset pages, never offsets: the next page's link carries the last entry's time and
id (``before=2026-12-05T08:00:00.123Z,42``), and the log answers the entries after it in its
order (time, then id, newest first), so a page is one indexed range read however deep it is,
and entries appended meanwhile never shift a page.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from adapters.activity import ActivityEntry, ActivityLog, ActivityRecord, ActivitySummary, Outcome, activity_time
from gateway.activity.command import JSON_KEYS

PAGE_SIZE = 50
#: Entries read per round trip while a CSV export streams.
EXPORT_BATCH = 500
_CURSOR = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z),([1-9][0-9]{0,18})")
_MAX_USER_NAME = 256
CSV_COLUMNS = JSON_KEYS  # README: the columns of ``vizmo-scim activity --json``
#: Where a spreadsheet would read a formula (OWASP "CSV Injection"): a cell starting, after any
#: blanks, with ``=``, ``+``, ``-``, ``@`` (or their full-width forms), a tab, a carriage return or
#: a line feed (a quoted cell may hold one, and some readers start the formula after it);
#: and the same after a ``;``, where Excel splits a line in locales whose list separator it is
#: (fuzzing: a path id ``y;=cmd|' /C calc'!A0`` became a formula cell there).
_FORMULA = re.compile("(^|;)([ \u00a0\u3000]*)([-=+@\t\r\n\uff1d\uff0b\uff0d\uff20])")


@dataclass(frozen=True)
class ActivityFilter:
    """The view's filters, as read from the query string (invalid values are dropped)."""

    user_name: str | None = None
    outcome: Outcome | None = None
    before: ActivityRecord | None = None

    @classmethod
    def parse(cls, user_name: str, outcome: str, before: str) -> "ActivityFilter":
        user = user_name.strip()[:_MAX_USER_NAME] or None
        return cls(user_name=user, outcome=outcome if outcome in ("changed", "refused") else None,  # type: ignore[arg-type]
                   before=parse_cursor(before))

    def query(self, *, before: ActivityRecord | None = None) -> dict[str, str]:
        """The query-string arguments of this filter (for links), with another page's cursor."""
        args = {"user": self.user_name or "", "outcome": self.outcome or ""}
        if before is not None:
            args["before"] = cursor(before)
        return {k: v for k, v in args.items() if v}


def cursor(record: ActivityRecord) -> str:
    """The keyset position after ``record``: its time and id."""
    return f"{record.entry.time},{record.id}"


def parse_cursor(text: str) -> ActivityRecord | None:
    """The position a ``before`` argument names, or None for a malformed one (the first page)."""
    match = _CURSOR.fullmatch(text.strip())
    if match is None or int(match.group(2)) >= 2 ** 63:  # past a storage integer (fuzzing: a 500)
        return None
    # ActivityLog.read positions a page by the record's time and id only.
    position = ActivityEntry(time=match.group(1), tenant="", method="", operation="", resource_id=None,
                             user_name=None, attributes=(), status=0, scim_type=None, request_id="")
    return ActivityRecord(int(match.group(2)), position)


@dataclass(frozen=True)
class ActivityPage:
    records: list[ActivityRecord]
    #: The last record when there are older entries (the next page starts after it), else None.
    next_after: ActivityRecord | None


async def read_page(log: ActivityLog, location: str, filters: ActivityFilter,
                    size: int = PAGE_SIZE) -> ActivityPage:
    """One page of the location's entries, newest first, and whether another follows."""
    records = await log.read(location, before=filters.before, user_name=filters.user_name, outcome=filters.outcome,
                             limit=size + 1)
    more = len(records) > size
    records = records[:size]
    return ActivityPage(records, records[-1] if more and records else None)


async def day_summary(log: ActivityLog, location: str, *, now: datetime | None = None) -> ActivitySummary:
    """The last request ever, and writes and refusals in the last 24 hours."""
    since = (now or datetime.now(timezone.utc)) - timedelta(hours=24)
    return await log.summary(location, activity_time(since))


async def all_records(log: ActivityLog, location: str, filters: ActivityFilter) -> AsyncIterator[list[ActivityRecord]]:
    """Every matching entry from the filter's position on, newest first, in batches."""
    position = filters.before
    while True:
        batch = await log.read(location, before=position, user_name=filters.user_name, outcome=filters.outcome,
                               limit=EXPORT_BATCH)
        if not batch:
            return
        yield batch
        if len(batch) < EXPORT_BATCH:
            return
        position = batch[-1]


def safe_cell(value: object) -> str:
    """A cell's text, with a ``'`` before each part a spreadsheet would read as a formula."""
    text = "" if value is None else str(value)
    return _FORMULA.sub(lambda m: f"{m.group(1)}'{m.group(2)}{m.group(3)}", text)


def csv_row(entry: ActivityEntry) -> list[str]:
    values = (entry.time, entry.tenant, entry.method, entry.operation, entry.resource_id, entry.user_name,
              ";".join(entry.attributes), entry.status, entry.scim_type, entry.request_id)
    return [safe_cell(v) for v in values]


def csv_text(rows: Iterable[list[str]]) -> str:
    """Rows as CSV (RFC 4180: quoted where needed, CRLF line ends), by the ``csv`` module."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def without_position(filters: ActivityFilter) -> ActivityFilter:
    return replace(filters, before=None)
