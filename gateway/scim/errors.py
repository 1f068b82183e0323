"""The protocol-level error of the pure SCIM code: a 400 with its RFC 7644 §3.12 scimType."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A request the protocol rules reject; the gateway answers ``status`` (400 unless a subclass
    says otherwise) with ``scim_type``/``detail``."""

    status: int = 400

    def __init__(self, detail: str, scim_type: str | None = "invalidValue") -> None:
        super().__init__(detail)
        self.detail = detail
        self.scim_type = scim_type
