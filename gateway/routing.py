"""The gateway's URL table: which handler class answers a request path, with which path values.

Tenant URL: ``/scim/v2/locations/<location id>``; Entra ID appends ``/Users``, ``/Groups``.
Endpoint names match case-insensitively and repeated or trailing slashes are tolerated (Note:
Entra ID appends ``/Users`` to a Tenant URL pasted with a trailing slash). Paths are matched as
sent (percent-encoded); the captured values are decoded afterwards (:func:`decode_path_value`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from gateway.errors import BadRequest

if TYPE_CHECKING:
    from gateway.handlers.base import ScimHandler

TENANT = r"/scim/v2/locations/(?P<location>[^/]+)/+"
_SEGMENT = r"(?P<{}>[^/]+)"


@dataclass(frozen=True)
class Route:
    """A compiled path pattern (anchored at both ends) and the handler class it selects."""

    pattern: re.Pattern[str]
    handler: type[ScimHandler]


def tenant_route(path: str, handler: type[ScimHandler]) -> Route:
    """``<Tenant URL>/<path>``, case-insensitive, trailing slashes allowed."""
    return Route(re.compile(f"(?i){TENANT}{path}/*"), handler)


def segment(name: str) -> str:
    """A path segment captured as ``name``."""
    return _SEGMENT.format(name)


@dataclass(frozen=True)
class RouteTable:
    """The first route whose pattern matches the whole path wins; ``fallback`` answers the rest."""

    routes: Sequence[Route]
    fallback: type[ScimHandler]

    def match(self, path: str) -> tuple[type[ScimHandler], dict[str, str]]:
        """The handler class and the raw (still percent-encoded) captured values."""
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is not None:
                return route.handler, {k: v for k, v in found.groupdict().items() if v is not None}
        return self.fallback, {}


def decode_path_value(name: str, raw: str) -> str:
    """A captured path value, percent-decoded as UTF-8 (``+`` stays a plus: RFC 3986 paths)."""
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"The {name} in the URL is not UTF-8 text after percent-decoding.",
                         "invalidValue") from None
