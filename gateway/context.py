"""Everything a handler needs, passed explicitly (no global state: a test can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from adapters.base import Adapter
from adapters.schema import ResourceType, resource_types
from adapters.state import StateStore
from gateway.config import GatewayConfig
from gateway.service import ResourceService
from gateway.tokens import TokenCodec


@dataclass
class GatewayContext:
    """The running gateway's collaborators."""

    config: GatewayConfig
    adapter: Adapter
    state: StateStore
    tokens: TokenCodec
    resource_types: dict[str, ResourceType] = field(default_factory=resource_types)
    inflight: int = 0  # requests between prepare and finish, for a graceful stop

    def __post_init__(self) -> None:
        self.base_url = self.config.public_base_url
        self.users = ResourceService(self.resource_types["User"], max_results=self.config.max_results,
                                     limits=self.config.limits)
