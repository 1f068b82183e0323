"""SCIM errors (RFC 7644 §3.12) and the one place where any exception becomes one.

Protocol code raises :class:`~gateway.scim.errors.ProtocolError` (a 400 typed by ``scimType``,
or its own status), adapters raise :mod:`adapters.errors` types, the web layer raises
:class:`ScimError` for HTTP-level refusals (401, 404, 405, 413, 414, 431, 501). The handlers'
``write_error`` hands whatever was raised to :func:`scim_error_for` and renders the result.
"""

from __future__ import annotations

from typing import Any

from adapters import errors as adapter_errors
from gateway.scim.errors import ProtocolError

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An HTTP error with a SCIM body: ``status``, optional ``scim_type`` and a ``detail``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(self.status_code)}
        if self.scim_type:
            payload["scimType"] = self.scim_type
        payload["detail"] = self.detail
        return payload


class Unauthorized(ScimError):
    """401; the same answer for every reason, so it reveals nothing (RFC 6750 §3)."""

    def __init__(self) -> None:
        super().__init__(401, "Authorization failed: send the Secret Token of this Tenant URL as "
                              "'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": 'Bearer realm="vizmo-scim"'})


_ADAPTER_STATUS: dict[type[adapter_errors.AdapterError], tuple[int, str | None]] = {
    adapter_errors.NotFound: (404, None),
    adapter_errors.AlreadyExists: (409, "uniqueness"),
    adapter_errors.VersionMismatch: (412, None),
    adapter_errors.InvalidValue: (400, "invalidValue"),
    adapter_errors.Mutability: (400, "mutability"),
    adapter_errors.UnsupportedFilter: (400, "invalidFilter"),
    adapter_errors.TooMany: (400, "tooMany"),
}

#: What a client is told when the storage is down or locked; adapters' details stay in the log.
UNAVAILABLE = "The directory is temporarily unavailable; try again later."


def scim_error_for(exc: BaseException) -> ScimError | None:
    """The SCIM error for ``exc``, or ``None`` for a bug (the caller answers a generic 500).

    This is the one translation point: protocol errors keep their ``scimType`` and status,
    adapter errors map by type (a 503 carries ``Retry-After``), a JSON body nested deeper than
    the code that walks it is ``invalidSyntax``.
    """
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, ProtocolError):
        return ScimError(exc.status, exc.detail, exc.scim_type)
    if isinstance(exc, adapter_errors.BackendUnavailable):
        return ScimError(503, UNAVAILABLE, headers={"Retry-After": "5"})
    if isinstance(exc, adapter_errors.AdapterError):
        for kind, (status, scim_type) in _ADAPTER_STATUS.items():
            if isinstance(exc, kind):
                return ScimError(status, exc.detail, scim_type)
        return None
    if isinstance(exc, RecursionError):
        return ScimError(400, "The request body is nested too deeply.", "invalidSyntax")
    return None
