"""Per-location rate limiting (``[limits] requests_per_second`` and ``burst``): a token bucket per
location in each worker process; a request past it answers 429 with ``Retry-After``.

Each worker keeps its own buckets (nothing is shared between processes): with ``--processes N`` a
location can be answered up to N times the rate, as the kernel spreads its connections over the
workers. The default (200 per second, bursts of 400) is far above Entra ID's 25 requests per
second per location, so Entra is never throttled in normal use; a runaway client is.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

#: Buckets kept at most (the least recently used is forgotten: a full bucket, which is what a
#: location that has not been heard from for a while would have anyway).
MAX_BUCKETS = 10_000


class RateLimiter:
    """Token buckets of ``rate`` tokens per second holding at most ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0 when allowed, else the seconds until one is there."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait


    def give_back(self, key: str) -> None:
        """Return the token a :meth:`take` for ``key`` took (at most up to ``burst``)."""
        if key in self._buckets:
            tokens, at = self._buckets[key]
            self._buckets[key] = (min(float(self.burst), tokens + 1.0), at)


def retry_after(wait: float) -> str:
    """The ``Retry-After`` value (whole seconds, at least 1) for a wait."""
    return str(max(1, math.ceil(wait)))
