"""SCIM errors (RFC 7644 §3.12) and the one place adapter and parser errors are translated.

A handler raises :class:`ScimError`; ``ScimHandler.render_error`` renders it as
``{"schemas": [Error URN], "status": "400", "scimType": ..., "detail": ...}``.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from adapters import errors as adapter_errors

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(tornado.web.HTTPError):
    """An HTTP error with a SCIM body: ``status``, optional ``scim_type`` and a ``detail``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, log_message=None, reason=None)
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(self.status_code)}
        if self.scim_type:
            payload["scimType"] = self.scim_type
        payload["detail"] = self.detail
        return payload


class BadRequest(ScimError):
    """400 with a scimType of RFC 7644 §3.12 Table 9."""

    def __init__(self, detail: str, scim_type: str = "invalidValue") -> None:
        super().__init__(400, detail, scim_type)


class Unauthorized(ScimError):
    """401; the same answer for every reason, so it reveals nothing (RFC 6750 §3)."""

    def __init__(self) -> None:
        super().__init__(401, "Authorization failed: send the Secret Token of this Tenant URL as "
                              "'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": 'Bearer realm="vizmo-scim"'})


class NotFoundError(ScimError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


_ADAPTER_STATUS: dict[type[adapter_errors.AdapterError], tuple[int, str | None]] = {
    adapter_errors.NotFound: (404, None),
    adapter_errors.AlreadyExists: (409, "uniqueness"),
    adapter_errors.VersionMismatch: (412, None),
    adapter_errors.InvalidValue: (400, "invalidValue"),
    adapter_errors.Mutability: (400, "mutability"),
    adapter_errors.UnsupportedFilter: (400, "invalidFilter"),
    adapter_errors.TooMany: (400, "tooMany"),
    adapter_errors.BackendUnavailable: (503, None),
}


def from_adapter_error(exc: adapter_errors.AdapterError) -> ScimError:
    """The single translation point from adapter errors to HTTP (ARCHITECTURE.md, Errors)."""
    for kind, (status, scim_type) in _ADAPTER_STATUS.items():
        if isinstance(exc, kind):
            if status == 503:
                return ScimError(503, "The directory is temporarily unavailable; try again later.",
                                 headers={"Retry-After": "5"})
            return ScimError(status, exc.detail, scim_type)
    return ScimError(500, "Internal error.")
