"""``vizmo-scim activity``: a location's activity log, newest first, as text or JSON."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from adapters.activity import ActivityEntry, ActivityRecord, activity_time
from gateway.adapter_setup import open_adapter
from gateway.config import GatewayConfig

#: The keys of ``--json``'s objects, in this order (and the columns of the admin page's CSV export).
JSON_KEYS = ("time", "location_id", "method", "operation", "resource_id", "user_name", "attributes", "status",
             "scim_type", "request_id")
MAX_LIMIT = 10_000
#: Characters a terminal acts on (C0 and C1 controls, DEL, line and paragraph separators, bidi
#: overrides): an entry's userName and resource id are the client's text (fuzzing: ``ESC ] 0 ;``
#: retitled the operator's window and ``ESC [ 2 J`` cleared it, through a refused request's path).
_TERMINAL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ActivityCommandError(Exception):
    """A usage error (bad --since or --limit) or a store without an activity log."""


def parse_since(text: str, flag: str = "--since") -> str:
    """An ISO 8601 date or date-time (a time without offset is UTC; ``t``, ``z`` in any case) as
    an entry time; ``--until`` reaches the last moment of what it names, a day, an hour, a minute
    or a second (``--until 2026-12-07`` left out every entry of the 7th: a packaging review;
    ``--until 2026-12-05T08`` the rest of that hour: a time review), as "at or before" reads."""
    problem = f"{flag} must be an ISO 8601 date or date-time such as 2026-12-05 or 2026-12-05T08:00:00Z"
    try:
        given = text.strip().upper()
        moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(timezone.utc)
        if flag == "--until":
            moment += _named_span(given) - timedelta(milliseconds=1)
    except (ValueError, OverflowError):  # an offset past year 1 or 9999 overflows
        raise ActivityCommandError(f"{problem}, not {text[:40]!r}") from None
    if moment.year < 1000:  # entry times sort as text: a three-digit year would sort after 2026
        raise ActivityCommandError(f"{problem} from the year 1000 on, not {text[:40]!r}")
    return activity_time(moment)


#: The time of a date-time (after ``T`` or a space), without its fraction or offset: ``08``, ``08:00``...
_CLOCK = re.compile(r"[T ]([0-9:]*)")


def _named_span(given: str) -> timedelta:
    """How long the moment ``given`` names lasts: a day for a date (a week date too), an hour,
    a minute or a second for a time to that precision, a millisecond for a fraction."""
    clock = _CLOCK.search(given)
    if clock is None:
        return timedelta(days=1)
    digits = len(clock.group(1).replace(":", ""))
    if given[clock.end():clock.end() + 1] in (".", ","):
        return timedelta(milliseconds=1)
    return {2: timedelta(hours=1), 4: timedelta(minutes=1)}.get(digits, timedelta(seconds=1))


def as_json(record: ActivityRecord) -> dict[str, object]:
    entry = record.entry
    return dict(zip(JSON_KEYS, (entry.time, int(entry.tenant), entry.method, entry.operation, entry.resource_id,
                                entry.user_name, list(entry.attributes), entry.status, entry.scim_type,
                                entry.request_id), strict=True))


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def shown(text: str) -> str:
    """``text`` with every :data:`_TERMINAL_CONTROLS` character as a ``\\uXXXX`` escape, which is
    also valid inside a JSON string."""
    return _TERMINAL_CONTROLS.sub(_escaped, text)


def as_line(record: ActivityRecord) -> str:
    entry = record.entry
    outcome = f"{entry.status} {entry.scim_type}" if entry.scim_type else str(entry.status)
    changed = ",".join(entry.attributes) or "-"
    return shown(f"{entry.time}  {entry.method:<6} {entry.operation:<7} {outcome:<20} {entry.user_name or '-'}  "
                 f"id={entry.resource_id or '-'}  changed={changed}  request={entry.request_id}")


def _before(until: str) -> ActivityRecord:
    """A read cursor placed just after ``until``: the read starts with the entries at or before it
    (``ActivityLog.read`` continues after a record, newest first)."""
    return ActivityRecord(2**63 - 1, ActivityEntry(until, "", "", "", None, None, (), 0, None, ""))


async def show_activity(config: GatewayConfig, location: str, *, since: str | None, limit: int,
                        json_output: bool, until: str | None = None, user_name: str | None = None) -> None:
    """Print ``location``'s entries, newest first (while ``serve`` runs too: it only reads): at
    or after ``since``, at or before ``until``, of one ``user_name``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ActivityCommandError(f"--limit must be between 1 and {MAX_LIMIT}, not {limit}")
    opened = await open_adapter(config, create=False)  # only a gateway's existing storage
    try:
        log = opened.state.activity_log()
        if log is None:
            raise ActivityCommandError("this gateway's state store keeps no activity log")
        records = await log.read(location, since=since, before=None if until is None else _before(until),
                                 user_name=user_name, limit=limit)
    finally:
        await opened.close()
    if json_output:
        print(shown(json.dumps([as_json(r) for r in records], ensure_ascii=False)))  # C0 is escaped by json
    elif records:
        for record in records:
            print(as_line(record))
    else:
        print(f"No activity recorded for location {location}" + (f" since {since}" if since else "")
              + (f" up to {until}" if until else "") + (f" for {shown(user_name)}" if user_name else "") + ".")
