"""The version condition a write must meet (RFC 7644 §3.14 ``If-Match``), as adapters receive it.

The gateway parses the ``If-Match`` / ``If-None-Match`` header once (``gateway.scim.versions``)
into an :class:`ExpectedVersion`; an adapter only asks it :meth:`~ExpectedVersion.matches` with
the stored ``meta.version``. Versions are compared by their opaque part, ignoring ``W/`` (the
weak comparison of RFC 9110 §8.8.3.2), so a client that echoes a weak ETag with or without
``W/`` is understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: An entity tag (RFC 9110 §8.8.3): optional ``W/``, then a quoted string without ``"``, spaces or
#: control characters. ``meta.version`` must be one: it is sent as the ``ETag`` header.
_ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')


def is_entity_tag(version: object) -> bool:
    """Whether ``version`` is an entity tag such as ``W/"3"`` (the gateway answers ``500`` to a
    ``meta.version`` that is not, :mod:`gateway.adapter_output`; the conformance kit checks it)."""
    return isinstance(version, str) and _ENTITY_TAG.fullmatch(version) is not None


def opaque(tag: str) -> str:
    """The opaque part of an entity tag: ``W/"abc"`` and ``"abc"`` are both ``"abc"``."""
    tag = tag.strip()
    return tag[2:] if tag[:2] in ("W/", "w/") else tag


@dataclass(frozen=True)
class ExpectedVersion:
    """``*`` (any current version, ``any_version``) or one of ``tags`` (opaque parts)."""

    tags: frozenset[str] = frozenset()
    any_version: bool = False

    @classmethod
    def exactly(cls, version: str) -> "ExpectedVersion":
        """The condition "still this version" (a PATCH's guard against a concurrent write)."""
        return cls(frozenset({opaque(version)}))

    def matches(self, version: str | None) -> bool:
        """Whether a stored resource at ``version`` meets the condition: ``*`` any existing one,
        also one whose adapter keeps no versions (``None``); a list, only a version it names."""
        if self.any_version:
            return True
        return version is not None and opaque(version) in self.tags
