"""A bounded memo for pure look-ups keyed by what requests name (attribute paths, body keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_MISSING: Any = object()


def remembered(cache: dict[K, V], key: K, compute: Callable[[K], V], limit: int) -> V:
    """``cache[key]``, computed by ``compute(key)`` and kept while ``cache`` holds fewer than
    ``limit`` entries (a client naming endless spellings cannot grow it). A key whose
    ``compute`` raises is not kept: it is worked out, and raises, again each time."""
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        found = compute(key)
        if len(cache) < limit:
            cache[key] = found
    return found
