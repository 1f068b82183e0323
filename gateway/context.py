"""Everything a gateway process needs, passed explicitly (no global state: a test can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.base import Adapter
from adapters.state import StateStore
from gateway.activity.recorder import ActivityRecorder
from gateway.config import GatewayConfig
from gateway.metrics import Metrics
from gateway.rate_limit import RateLimiter
from gateway.resources import ResourceService
from adapters.schema import ResourceType, resource_types
from gateway.service import GatewayService
from gateway.tokens import TokenCodec


@dataclass
class GatewayContext:
    """The running gateway's collaborators, and the service built on them."""

    config: GatewayConfig
    adapter: Adapter
    state: StateStore
    tokens: TokenCodec
    resource_types: dict[str, ResourceType] = field(default_factory=resource_types)

    def __post_init__(self) -> None:
        self.base_url = self.config.public_base_url
        activity_log = self.state.activity_log() if self.config.activity.enabled else None
        self.recorder = None if activity_log is None else ActivityRecorder(
            activity_log, self.adapter, retention_days=self.config.activity.retention_days)
        self.users = ResourceService(self.resource_types["User"], max_results=self.config.max_results,
                                     limits=self.config.limits, activity=self.config.activity, recorder=self.recorder)
        self.metrics = Metrics()
        self.service = GatewayService(adapter=self.adapter, state=self.state, tokens=self.tokens, users=self.users,
                                      resource_types=self.resource_types, base_url=self.base_url,
                                      max_results=self.config.max_results, recorder=self.recorder,
                                      metrics=self.metrics,
                                      limiter=RateLimiter(self.config.rate_limit, self.config.rate_burst),
                                      adapter_timeout=self.config.adapter_timeout)

    async def close(self) -> None:
        """Store the activity entries still queued (before the storage closes)."""
        if self.recorder is not None:
            await self.recorder.close()
