"""xsd:dateTime values (RFC 7643 §2.3.5), parsed in this one place for every adapter, the filter
evaluator and the in-memory sort."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from adapters.errors import UnsupportedFilter

_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?",
                       re.IGNORECASE | re.ASCII)  # (ASCII: "２０２６-..." in full-width digits was read as a time)


def _parsed(text: str) -> tuple[datetime, str] | None:
    """``text`` as an aware datetime (microseconds kept; no offset means UTC) that has a UTC
    equivalent, and its fraction's digits; None when it is no xsd:dateTime."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        offset = timedelta(0)
        if zone is not None and zone.upper() != "Z":
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if minutes > 59 or hours > 14 or (hours == 14 and minutes):  # xsd:dateTime: -14:00 to +14:00
                return None
            offset = (-1 if zone[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros,
                          tzinfo=timezone(offset))
        parsed.astimezone(timezone.utc)  # year 1 at +01:00 has none: comparing it would overflow
    except (ValueError, OverflowError):
        return None
    return parsed, fraction or ""


def parse_datetime(text: str) -> datetime | None:
    """``text`` as an aware datetime, or None when it is no xsd:dateTime (or has no UTC equivalent)."""
    if len(text) < 19 or text[4:5] != "-":  # (most strings compared are no dateTime: the regex is skipped)
        return None
    found = _parsed(text)
    return found[0] if found is not None else None


def parse_filter_datetime(value: str, name: str) -> tuple[datetime, bool]:
    """``value`` as an aware UTC datetime to the second (no offset means UTC) and whether it had a
    non-zero fraction of a second; ``UnsupportedFilter`` naming ``name`` when it is no xsd:dateTime."""
    found = _parsed(value)
    if found is None:
        raise UnsupportedFilter(f"{name} is a dateTime: compare it with an xsd:dateTime value")
    parsed, fraction = found
    return parsed.replace(microsecond=0).astimezone(timezone.utc), bool(fraction.strip("0"))
