"""``If-Match`` and ``If-None-Match`` (RFC 7644 §3.14), parsed in this one place into the
:class:`~adapters.versions.ExpectedVersion` adapters and the service compare versions with."""

from __future__ import annotations

from adapters.versions import ExpectedVersion, opaque


def parse_condition(header: str | None) -> ExpectedVersion | None:
    """``None`` for an absent or empty header, else the condition it states (``*`` or a list of
    entity tags)."""
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return ExpectedVersion(any_version=True)
    return ExpectedVersion(frozenset(opaque(tag) for tag in header.split(",") if tag.strip()))
