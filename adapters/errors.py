"""Typed errors an adapter raises; the gateway maps each one to an RFC 7644 §3.12 error response.

Adapters signal every failure with one of these, never with ``None`` or ``False``.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base class of every error an adapter raises on purpose.

    ``detail`` is safe to show to the SCIM client: it must not carry secrets or stack traces.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(AdapterError):
    """The resource does not exist (or was deleted): HTTP 404."""


class AlreadyExists(AdapterError):
    """A unique attribute (``userName``, ...) is taken: HTTP 409, ``scimType`` uniqueness."""


class VersionMismatch(AdapterError):
    """``If-Match`` named a version that is no longer current: HTTP 412 (RFC 7644 §3.14)."""


class Contention(AdapterError):
    """Concurrent writes kept changing the resource while a ``modify`` tried to: HTTP 409, retry."""


class InvalidValue(AdapterError):
    """A value the storage cannot accept: HTTP 400, ``scimType`` invalidValue."""


class Mutability(AdapterError):
    """An attempt to change an immutable attribute: HTTP 400, ``scimType`` mutability."""


class UnsupportedFilter(AdapterError):
    """A filter node the adapter cannot translate: HTTP 400, ``scimType`` invalidFilter.

    Raising this is mandatory where a translation would give a wrong answer.
    """


class TooMany(AdapterError):
    """The query would return more results than the adapter allows: HTTP 400, ``scimType`` tooMany."""


class Unavailable(AdapterError):
    """The storage cannot be reached or is locked for too long: HTTP 503."""


def storage_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the storage is down or went away (:class:`Unavailable`, or a driver's
    ``ConnectionError``): HTTP ``503`` wherever it is met, the SCIM endpoints and the admin page
    alike (the page answered a ``ConnectionError`` with a 500: a maintainability review)."""
    return isinstance(exc, (Unavailable, ConnectionError))
