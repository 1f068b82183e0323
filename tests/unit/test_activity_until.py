"""``vizmo-scim activity --since/--until``: the moment each names (gateway/activity/command.py)."""

from __future__ import annotations

import pytest

from gateway.activity.command import parse_since


@pytest.mark.parametrize("given, until", [
    ("2026-12-05", "2026-12-05T23:59:59.999Z"), ("20261205", "2026-12-05T23:59:59.999Z"),
    ("2026-W49-6", "2026-12-05T23:59:59.999Z"), ("2026-12-05T08", "2026-12-05T08:59:59.999Z"),
    ("2026-12-05T08:00", "2026-12-05T08:00:59.999Z"), ("2026-12-05T08:00:00Z", "2026-12-05T08:00:00.999Z"),
    ("2026-12-05t08:00:00z", "2026-12-05T08:00:00.999Z"), ("2026-12-05T08:00:00.123Z", "2026-12-05T08:00:00.123Z"),
    ("2026-12-05T08:00+05:30", "2026-12-05T02:30:59.999Z"), ("2026-12-05 08:00", "2026-12-05T08:00:59.999Z"),
    ("2026-12-05 08", "2026-12-05T08:59:59.999Z")])
def test_until_reaches_the_end_of_what_it_names(given: str, until: str) -> None:
    """A day, an hour, a minute or a second: ``--until 2026-12-05T08`` left out the rest of that
    hour, a week date the rest of its day, and lowercase ``t``/``z`` (RFC 3339 §5.6) were refused
    (a time review)."""
    assert parse_since(given, "--until") == until


def test_since_is_the_first_moment_of_what_it_names() -> None:
    assert parse_since("2026-12-05") == "2026-12-05T00:00:00.000Z"
    assert parse_since("2026-12-05T08:00:00.123Z") == "2026-12-05T08:00:00.123Z"
    assert parse_since("2026-12-05t08:30z") == "2026-12-05T08:30:00.000Z"
