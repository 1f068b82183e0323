"""xsd:dateTime values in filters (RFC 7643 §2.3.5), parsed once for every adapter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from adapters.errors import UnsupportedFilter

_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?",
                       re.IGNORECASE)


def parse_filter_datetime(value: str, name: str) -> tuple[datetime, bool]:
    """``value`` as an aware UTC datetime (no offset means UTC) and whether it had a non-zero
    fraction of a second; ``UnsupportedFilter`` naming ``name`` when it is no xsd:dateTime."""
    match = _DATETIME.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        offset = timedelta(0)
        if zone is not None and zone.upper() != "Z":
            offset = (-1 if zone[0] == "-" else 1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone(offset)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise UnsupportedFilter(f"{name} is a dateTime: compare it with an xsd:dateTime value") from None
    return parsed, bool(fraction and fraction.strip("0"))
