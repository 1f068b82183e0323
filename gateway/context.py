"""Everything a handler needs, passed explicitly (no global state: a test can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from adapters.base import Adapter
from gateway.config import GatewayConfig
from gateway.scim.schema_model import ResourceType, resource_types
from gateway.service import ResourceService
from gateway.tokens import TokenCodec


class IntegrationLookup(Protocol):
    """The part of the integration store the gateway reads on every request."""

    def active_token_id(self, location_id: int) -> str | None: ...


@dataclass
class GatewayContext:
    """The running gateway's collaborators."""

    config: GatewayConfig
    adapter: Adapter
    integrations: IntegrationLookup
    tokens: TokenCodec
    resource_types: dict[str, ResourceType] = field(default_factory=resource_types)

    def __post_init__(self) -> None:
        self.users = ResourceService(self.resource_types["User"], max_results=self.config.max_results)
