"""The HTTP-level members of the one error family (:class:`~gateway.scim.errors.ProtocolError`),
and the one place where any exception becomes a SCIM error (RFC 7644 §3.12).

Protocol code raises the family's scimType-typed members, the web layer and the service raise
the statuses below, adapters raise :mod:`adapters.errors` types; the handlers' ``write_error``
hands whatever was raised to :func:`scim_error_for` and renders the result. Every member is
raised as ``Cls(detail)`` (``headers=`` where the status calls for one), except those whose
answer is fixed: ``Unauthorized()`` and ``Unavailable()`` (their cause goes to the log only),
``Stopping()``, ``ConnectionsFull()`` and ``TooManyRequests(retry_after)``.
"""

from __future__ import annotations

from adapters import errors as adapter_errors
from gateway.scim.errors import (
    ERROR_URN,
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    PreconditionFailed,
    ProtocolError,
    TooLarge,
    TooMany,
    Uniqueness,
)

__all__ = ["ERROR_URN", "ProtocolError", "scim_error_for", "cause", "Unauthorized", "Forbidden", "NotFound",
           "MethodNotAllowed", "Stopping", "PreconditionFailed", "Conflict", "UnsupportedMediaType", "UriTooLong",
           "HeadersTooLarge", "NotImplementedHere", "Unavailable", "ConnectionsFull", "TooManyRequests",
           "InternalError", "TooLarge", "InvalidSyntax", "InvalidValue", "RETRY_AFTER_SECONDS"]


class Unauthorized(ProtocolError):
    """401; the same answer for every reason, so it reveals nothing (RFC 6750 §3)."""

    status = 401

    def __init__(self) -> None:
        super().__init__("Authorization failed: send the Secret Token of this Tenant URL as "
                         "'Authorization: Bearer <token>'.", headers={"WWW-Authenticate": 'Bearer realm="vizmo-scim"'})


class Forbidden(ProtocolError):
    """403: a filter on a discovery endpoint (RFC 7644 §4), so a client cannot take the whole
    document for a filtered answer."""

    status = 403


class NotFound(ProtocolError):
    status = 404


class MethodNotAllowed(ProtocolError):
    """405, with the ``Allow`` header (RFC 9110 §15.5.6)."""

    status = 405


class Conflict(ProtocolError):
    """409 without a scimType (a PATCH that lost every retry to concurrent writes)."""

    status = 409


class UnsupportedMediaType(ProtocolError):
    status = 415


class UriTooLong(ProtocolError):
    status = 414


class HeadersTooLarge(ProtocolError):
    status = 431


class NotImplementedHere(ProtocolError):
    status = 501


#: ``Retry-After`` of every 503 for a storage that is down or a process that is full (seconds).
RETRY_AFTER_SECONDS = "5"


class Unavailable(ProtocolError):
    """503 with ``Retry-After``: the storage is down or locked too long; its detail stays in the log."""

    status = 503

    def __init__(self) -> None:
        super().__init__("The directory is temporarily unavailable; try again later.",
                         headers={"Retry-After": RETRY_AFTER_SECONDS})


class Stopping(ProtocolError):
    """503 with ``Retry-After: 1``: a request that arrived while the worker closes its connections
    (``gateway.app``); nothing of it ran, so the client sends it again, to another worker."""

    status = 503

    def __init__(self) -> None:
        super().__init__("The gateway is stopping; send the request again.", headers={"Retry-After": "1"})


class TooManyRequests(ProtocolError):
    """429 with ``Retry-After``: the location sent more than its rate limit (``[limits]``)."""

    status = 429

    def __init__(self, retry_after: str) -> None:
        super().__init__(f"Too many requests for this location; retry after {retry_after} s.",
                         headers={"Retry-After": retry_after})


class ConnectionsFull(ProtocolError):
    """503 with ``Retry-After``: the process holds as many connections as it may
    (:mod:`gateway.connection_cap` writes it before any request is read)."""

    status = 503

    def __init__(self) -> None:
        super().__init__("This gateway process holds as many connections as it may ([limits] max_connections); "
                         "try again in a few seconds.", headers={"Retry-After": RETRY_AFTER_SECONDS})


class InternalError(ProtocolError):
    """500: a bug; the client gets the request id to quote, the log gets the trace."""

    status = 500


_ADAPTER_ERRORS: dict[type[adapter_errors.AdapterError], type[ProtocolError]] = {
    adapter_errors.NotFound: NotFound,
    adapter_errors.AlreadyExists: Uniqueness,
    adapter_errors.VersionMismatch: PreconditionFailed,
    adapter_errors.Contention: Conflict,
    adapter_errors.InvalidValue: InvalidValue,
    adapter_errors.Mutability: Mutability,
    adapter_errors.UnsupportedFilter: InvalidFilter,
    adapter_errors.TooMany: TooMany,
}


def scim_error_for(exc: BaseException) -> ProtocolError | None:
    """The SCIM error for ``exc``, or ``None`` for a bug (the caller answers a generic 500).

    This is the one translation point: the family's members are answered as they are, adapter
    errors map by type (an unavailable storage is a 503 with ``Retry-After``), and a JSON body
    nested deeper than the code that walks it is ``invalidSyntax``.
    """
    if isinstance(exc, ProtocolError):
        return exc
    if adapter_errors.storage_unavailable(exc):
        return Unavailable()
    if isinstance(exc, adapter_errors.AdapterError):
        for kind, error in _ADAPTER_ERRORS.items():
            if isinstance(exc, kind):
                return error(exc.detail)
        return None
    if isinstance(exc, RecursionError):
        return InvalidSyntax("The request body is nested too deeply.")
    return None


def cause(exc: BaseException) -> str:
    """What an error answered ``503`` (or a failed readiness check) came from, for the log line
    (the client is told only to retry): the exception's type and detail, on one line, cut to
    300 characters. The log's filter (:mod:`gateway.logs`) redacts any credential in it."""
    detail = getattr(exc, "detail", None) or str(exc)
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return " ".join(text.split())[:300]
