"""Endpoints for load balancers and monitoring, outside every Tenant URL (no Secret Token):

- ``GET /healthz``: the process is alive and its event loop answers (liveness).
- ``GET /readyz``: the directory and the state store answer (readiness); ``503`` with a
  reason otherwise, so a load balancer sends no traffic to a gateway that cannot serve it.
- ``GET /metrics``: Prometheus' text format (:mod:`gateway.metrics`); on the main port only with
  the ``[metrics]`` bearer token, on a separate metrics port with it when one is set.

``HEAD`` answers the probes too (the same status and headers, no body): some load balancers
probe with it.
"""

from __future__ import annotations

import asyncio
import hmac

import orjson

from gateway.errors import RETRY_AFTER_SECONDS, Unauthorized
from gateway.handlers.base import ScimHandler
from gateway.metrics import CONTENT_TYPE
from gateway.service import bearer_token


class HealthHandler(ScimHandler):
    """200 ``{"status": "ok"}`` while the process serves; reveals nothing else."""

    tenant_scoped = False

    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"status":"ok"}')

    head = get  # type: ignore[assignment]


class ReadinessHandler(ScimHandler):
    """200 when the directory and the state store answer within the adapter timeout, else 503
    ``{"status": "unavailable", "reason": ...}`` with ``Retry-After``."""

    tenant_scoped = False

    async def get(self) -> None:
        reason = await self.service.readiness()
        self.set_header("Content-Type", "application/json")
        if reason is None:
            self.finish(b'{"status":"ok"}')
            return
        self.set_status(503)
        self.set_header("Retry-After", RETRY_AFTER_SECONDS)
        self.finish(orjson.dumps({"status": "unavailable", "reason": reason}))

    head = get  # type: ignore[assignment]


class MetricsHandler(ScimHandler):
    """Every worker's metrics; ``token`` None serves them to anyone who reaches the listener
    (the separate metrics port, loopback by default), else only with ``Bearer <token>``,
    compared in constant time."""

    tenant_scoped = False

    def initialize(self, token: bytes | None = None, **kwargs: object) -> None:  # type: ignore[override]
        super().initialize(**kwargs)  # type: ignore[arg-type]
        self.token = token

    async def get(self) -> None:
        if self.token is not None:
            given = bearer_token(self.request.headers.get("Authorization", "")) or ""  # the SCIM endpoints' rule
            if not hmac.compare_digest(given.encode(), self.token):
                raise Unauthorized()
        # Built on a thread: with a thousand locations the text is ~5 MB and took the event loop
        # 0.6-1.7 s, stalling every SCIM request of the worker at each scrape (a review).
        body = await asyncio.to_thread(self.service.metrics.exposition)
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(body)
