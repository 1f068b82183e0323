"""Say so when a worker's event loop stops running.

A call that blocks the loop (a synchronous database driver in an adapter, ``time.sleep``, a long
computation) stalls every request of the worker, and nothing else reports it: requests just wait.
A heartbeat on the loop stamps the time every :data:`BEAT_SECONDS`; a daemon thread checks the
stamp and, once it is :data:`BLOCKED_SECONDS` old, logs a WARNING with the loop thread's stack
(where it is stuck), then one line with the whole duration when the loop runs again, which also
goes to the ``vizmo_scim_event_loop_blocked_seconds`` counter.

asyncio's debug mode reports slow callbacks as well, but only once they have ended, without the
stack, and at the cost of debug mode on every callback; this costs one timer a quarter second.
A loop found waiting in its selector is not blocked, only late (the process was suspended, by
SIGSTOP or a paused VM, and the loop has yet to run its overdue heartbeat): not reported.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("vizmo_scim.app")

#: How often the loop stamps its heartbeat, and the watching thread looks at it.
BEAT_SECONDS = 0.25

#: How long the loop may go without running before it is reported (the largest page the gateway
#: builds, 200 users of 16 KiB, takes about 0.1 s; a full garbage collection about 0.04 s).
BLOCKED_SECONDS = 1.0

#: How many of the innermost frames of the blocked loop's stack are logged.
STACK_FRAMES = 12


class LoopWatch:
    """Watches the running loop from a thread of its own; :meth:`stop` ends it."""

    def __init__(self, on_blocked: Callable[[float], None] = lambda seconds: None, *,
                 blocked_seconds: float = BLOCKED_SECONDS, beat_seconds: float = BEAT_SECONDS) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._on_blocked = on_blocked
        self._blocked_seconds = blocked_seconds
        self._beat_seconds = beat_seconds
        self._last_beat = time.monotonic()
        self._beat_handle: asyncio.TimerHandle | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vizmo-scim-loop-watch", daemon=True)

    def start(self) -> None:
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._beat_handle is not None:
            self._beat_handle.cancel()

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        self._beat_handle = self._loop.call_later(self._beat_seconds, self._beat)

    def _watch(self) -> None:
        blocked_since: float | None = None
        while not self._stopped.wait(self._beat_seconds):
            now = time.monotonic()
            last_beat = self._last_beat
            if blocked_since is not None and last_beat > blocked_since:
                seconds = last_beat - blocked_since
                log.warning("the event loop ran again after about %.1f s blocked", seconds)
                self._on_blocked(seconds)
                blocked_since = None
            elif blocked_since is None and now - last_beat >= self._blocked_seconds:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is None or _waiting_in_selector(frame):
                    continue
                blocked_since = last_beat
                log.warning("the event loop has not run for %.1f s: every request of this worker waits; "
                            "it is blocked in:\n%s", now - last_beat,
                            "".join(traceback.format_stack(frame)[-STACK_FRAMES:]).rstrip("\n"))


def _waiting_in_selector(frame: FrameType) -> bool:
    """Whether the loop's thread waits in its selector (between callbacks), not in a callback."""
    return frame.f_code.co_name == "select" and frame.f_code.co_filename.endswith("selectors.py")
