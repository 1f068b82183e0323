"""Request ids (``X-Request-Id``, the access line, activity entries, a 500's detail): unique,
not secret.

Each id is a random per-process prefix and a counter, both in hex (16 digits, as before):
``secrets.token_hex(8)`` per request read the kernel's random source every time, 4-5 µs of a
look-up under ``bench/load.py`` (py-spy), against a fraction of a µs here. The prefix is drawn
again in every forked worker (``--processes N``), so workers never share one, and whenever the
counter has used its 2³² values (at 1,000 requests a second, after 50 days), so an id is never
repeated by a long-running worker either.
"""

from __future__ import annotations

import itertools
import os
import secrets

_COUNTER_MASK = 0xFFFFFFFF  # 32 bits after the 32-bit prefix


class _Sequence:
    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.prefix = secrets.token_hex(4)
        self.counter = itertools.count()


_sequence = _Sequence()
os.register_at_fork(after_in_child=_sequence.restart)


def new_request_id() -> str:
    """A new id, unique within the process and (by its random prefix) across processes."""
    number = next(_sequence.counter)
    if number > _COUNTER_MASK:  # every counter value used with this prefix: a new prefix
        _sequence.restart()
        number = next(_sequence.counter)
    return f"{_sequence.prefix}{number:08x}"
