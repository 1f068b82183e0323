"""Entity tags: ``meta.version`` as an ETag and the ``If-Match`` / ``If-None-Match`` conditions of
RFC 7644 §3.14, parsed and compared in this one place.

Versions are weak ETags (``W/"..."``); RFC 7644 §3.14 leaves weak or strong to the service
provider, and a condition compares the opaque part only, ignoring ``W/`` (the weak comparison of
RFC 9110 §8.8.3.2), so a client that echoes a version with or without ``W/`` is understood.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntityTagCondition:
    """A parsed ``If-Match`` or ``If-None-Match``: ``*`` (any current version) or a set of tags."""

    any: bool
    tags: frozenset[str]

    def matches(self, version: str | None) -> bool:
        """Whether the resource's current ``version`` satisfies the condition (weak comparison)."""
        if version is None:
            return False
        return self.any or opaque(version) in self.tags


def opaque(tag: str) -> str:
    """The opaque part of an entity tag: ``W/"abc"`` and ``"abc"`` are both ``"abc"``."""
    tag = tag.strip()
    return tag[2:] if tag[:2] in ("W/", "w/") else tag


def parse_condition(header: str | None) -> EntityTagCondition | None:
    """``None`` for an absent or empty header, else the condition it states."""
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return EntityTagCondition(any=True, tags=frozenset())
    return EntityTagCondition(any=False, tags=frozenset(opaque(t) for t in header.split(",") if t.strip()))
