"""``GET /healthz``: unauthenticated liveness and storage check for load balancers."""

from __future__ import annotations

from adapters.errors import AdapterError
from gateway.errors import from_adapter_error
from gateway.handlers.base import ScimHandler


class HealthHandler(ScimHandler):
    """200 ``{"status": "ok"}`` when the directory answers, 503 otherwise; reveals nothing else."""

    tenant_scoped = False

    async def get(self) -> None:
        try:
            await self.ctx.adapter.check_health()
        except AdapterError as exc:
            raise from_adapter_error(exc) from None
        self.set_header("Content-Type", "application/json")
        self.finish({"status": "ok"})
