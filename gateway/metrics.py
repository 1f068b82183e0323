"""Prometheus metrics (``GET /metrics``, prometheus-client), correct with ``--processes N``.

``vizmo-scim serve`` points prometheus-client's multiprocess mode at a fresh folder of its own
(``PROMETHEUS_MULTIPROC_DIR``) before its workers start: each worker writes its counts to files
there, and whichever worker answers a scrape sums them all (``MultiProcessCollector``). An app
built in-process (tests) keeps its counts in a registry of its own. prometheus-client is imported
only when a :class:`Metrics` is built, after that variable is set (it reads it on import).

Labels stay bounded: ``location`` is the authenticated location (``-`` before or without
authentication), ``method`` one of the HTTP methods the gateway answers, ``status`` the code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


_FOLDER_PREFIX = "vizmo-scim-metrics-"


def use_multiprocess_folder() -> Path:
    """A new, private folder for the workers' counts, named after this process, set as
    ``PROMETHEUS_MULTIPROC_DIR`` (call before the workers start); the caller removes it at exit
    (:func:`remove_multiprocess_folder`). The folders of gateways that ended without removing
    theirs (SIGKILL, the OOM killer) are removed first: they piled up in the temporary folder, one
    per unclean stop (a soak review)."""
    _remove_orphaned_folders()
    folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def _remove_orphaned_folders() -> None:
    """Remove this user's metrics folders whose gateway process no longer runs."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*-*"):
        pid = folder.name[len(_FOLDER_PREFIX):].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # gone meanwhile, or a process of another user's (alive)
            continue


def remove_multiprocess_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == str(folder):
        del os.environ[MULTIPROC_ENV]


class Metrics:
    """The gateway's metrics, as the request path records them."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self._registry = CollectorRegistry(auto_describe=True)
        self._multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        kw: dict[str, Any] = {"registry": self._registry}
        self.requests = Counter("vizmo_scim_requests", "SCIM requests answered.",
                                ["location", "method", "status"], **kw)
        self.duration = Histogram("vizmo_scim_request_duration_seconds", "Time to answer a request.",
                                  ["location", "method"], **kw,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.adapter_calls = Histogram("vizmo_scim_adapter_call_duration_seconds",
                                       "Time of one call of the adapter (the directory's storage).", ["operation"],
                                       **kw, buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5, 1, 2.5, 5, 15))
        self.adapter_timeouts = Counter("vizmo_scim_adapter_timeouts", "Adapter calls stopped by the timeout.",
                                        ["operation"], **kw)
        self.token_failures = Counter("vizmo_scim_token_failures", "Secret Tokens refused (answered 401).",
                                      ["reason"], **kw)
        self.rate_limited = Counter("vizmo_scim_rate_limited", "Requests answered 429 by the rate limit.",
                                    ["location"], **kw)
        self.loop_blocked = Counter("vizmo_scim_event_loop_blocked_seconds",
                                    "Time a worker's event loop did not run, counted in blocks of 1 s or more "
                                    "(gateway/loop_watch.py).", **kw)

        # The labelled children, looked up once each: ``labels()`` takes a lock and builds a
        # key on every call, a third of the cost of recording a request (timeit).
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}
        self._calls: dict[str, Any] = {}

    def request(self, location: str, method: str, status: int, seconds: float) -> None:
        """One answered request; ``location`` is ``-`` unless the request was authenticated."""
        method = method if method in _METHODS else "OTHER"
        counted = self._counted.get((location, method, status))
        if counted is None:
            counted = self._counted[(location, method, status)] = self.requests.labels(location, method, str(status))
        counted.inc()
        timed = self._timed.get((location, method))
        if timed is None:
            timed = self._timed[(location, method)] = self.duration.labels(location, method)
        timed.observe(seconds)

    def adapter_call(self, operation: str, seconds: float) -> None:
        """One call of the adapter or state store (``operation``: a fixed word of the gateway's)."""
        timed = self._calls.get(operation)
        if timed is None:
            timed = self._calls[operation] = self.adapter_calls.labels(operation)
        timed.observe(seconds)

    def token_failure(self, reason: str) -> None:
        self.token_failures.labels(reason).inc()

    def exposition(self) -> bytes:
        """The text format of every worker's counts (one worker's in-process)."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if not self._multiprocess:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
