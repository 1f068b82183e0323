"""The public origin of a request behind a reverse proxy (``[server] trusted_proxies``).

A proxy that terminates TLS tells the gateway the scheme and host the client used in
``X-Forwarded-Proto`` and ``X-Forwarded-Host``; from a trusted peer they build the Tenant URL and
every ``meta.location`` (RFC 7644 §3.1: ``Location`` and ``meta.location`` are the URI the client
can use). Anyone can send those headers, so from any other peer they are ignored and the
configured origin stands (:attr:`gateway.config.GatewayConfig.public_base_url`). When a chain of
proxies appended values, the last one, written by the trusted peer itself, is used.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # a type only: the service layer imports this module, and never Tornado
    from tornado.httputil import HTTPHeaders

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: A host as a proxy may forward it: a DNS name or an IPv4 address, or a bracketed IPv6
#: address, with an optional port (1-65535). Anything else (a path, user info, spaces) is ignored.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?")


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The configured proxies (addresses or CIDR networks); ``ValueError`` naming a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted_proxies: {entry[:60]!r} is not an IP address or network") from None
    return tuple(networks)


def too_wide(networks: Iterable[Network]) -> list[str]:
    """The trusted networks wider than a /8 (IPv4) or /32 (IPv6): ``0.0.0.0/0`` trusts every
    client's ``X-Forwarded-*``, so any client could set the Tenant URL and the admin page's
    scheme. Worth a warning at start, not a refusal (a private /8 behind a firewall is a choice)."""
    return [str(n) for n in networks if n.prefixlen < (8 if n.version == 4 else 32)]


class PublicOrigin:
    """The origin (``scheme://host[:port]`` plus the configured path prefix) a request was sent to."""

    def __init__(self, configured: str, trusted: tuple[Network, ...]) -> None:
        self.configured = configured.rstrip("/")
        self.prefix = urlsplit(self.configured).path
        self.trusted = trusted

    def for_request(self, peer: str | None, headers: HTTPHeaders) -> str:
        """``X-Forwarded-Proto``/``-Host`` from a trusted ``peer``, else the configured origin."""
        if not self.trusted or peer is None or not self._is_trusted(peer):
            return self.configured
        configured = urlsplit(self.configured)
        proto = _last(headers.get("X-Forwarded-Proto")).lower()
        host = _last(headers.get("X-Forwarded-Host"))
        scheme = proto if proto in ("http", "https") else configured.scheme
        matched = _HOST.fullmatch(host) if host and len(host) <= 255 else None
        port = matched and matched.group("port")
        usable = matched is not None and (port is None or 0 < int(port) < 65536) and _is_ipv6(matched.group("ipv6"))
        netloc = host if usable else configured.netloc
        return f"{scheme}://{netloc}{self.prefix}"

    def client(self, peer: str | None, headers: HTTPHeaders) -> str:
        """The client's address: the last ``X-Forwarded-For`` entry (the address the trusted
        ``peer`` itself saw) when ``peer`` is a trusted proxy, else ``peer``."""
        if self.trusted and peer is not None and self._is_trusted(peer):
            forwarded = _last(headers.get("X-Forwarded-For"))
            try:
                return str(ipaddress.ip_address(forwarded))
            except ValueError:
                pass  # none, or not an address: the proxy itself
        return peer or "-"

    def _is_trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False  # a Unix socket peer, or nothing usable
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)


def _last(value: str | None) -> str:
    return value.rsplit(",", 1)[-1].strip() if value else ""


def _is_ipv6(text: str | None) -> bool:
    """Whether a bracketed host holds an IPv6 address (``[...]`` and ``[::::]`` passed the
    pattern: a review); True when the host was not bracketed."""
    if text is None:
        return True
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
