"""``GET /healthz``: unauthenticated liveness and storage check for load balancers."""

from __future__ import annotations

from gateway.handlers.base import ScimHandler


class HealthHandler(ScimHandler):
    """200 ``{"status": "ok"}`` when the directory answers, 503 otherwise; reveals nothing else."""

    tenant_scoped = False

    async def get(self) -> None:
        await self.service.check_health()
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"status":"ok"}')

