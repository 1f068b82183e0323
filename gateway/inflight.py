"""The count of requests under way that a graceful stop waits for (``gateway.serving.drain``)."""

from __future__ import annotations

from typing import Any


class InFlight:
    """Counts one request in ``app.inflight`` until :meth:`leave` (answered, or its client left);
    leaving twice counts once. An application without the counter (a test's) is left alone."""

    def __init__(self, app: Any) -> None:
        self._app = app if hasattr(app, "inflight") else None
        if self._app is not None:
            self._app.inflight += 1

    def leave(self) -> None:
        if self._app is not None:
            self._app.inflight -= 1
            self._app = None
