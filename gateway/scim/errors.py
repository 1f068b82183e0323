"""The protocol core's errors: one family, typed by scimType (RFC 7644 §3.12, Table 9).

Every one is raised as ``Cls(detail)``, ``detail`` being one sentence safe to send to the client;
``scim_type`` and ``status`` are class attributes. ``gateway/service.py`` answers any
:class:`ProtocolError` with its ``status`` and an RFC 7644 §3.12 body.

The schema model (:mod:`adapters.schema`) and the path parser reject what they cannot read with
their own errors; :func:`reported_as` is the one place those become protocol errors, with the
scimType of the parameter that held the path.
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar

from adapters.schema import UnknownAttribute


class ProtocolError(ValueError):
    """A request the protocol rules reject: HTTP ``status`` with ``scim_type`` and ``detail``."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidSyntax(ProtocolError):
    """The request body's structure is wrong (not an object, a required member missing, ...)."""

    scim_type = "invalidSyntax"


class InvalidValue(ProtocolError):
    """A value is missing, of the wrong type, or not one the protocol allows."""

    scim_type = "invalidValue"


class OverLimit(InvalidValue):
    """A value or resource past a ``[limits]`` bound (:mod:`.limits`): too many values, too large."""


class InvalidFilter(ProtocolError):
    """A filter that does not parse, or names what cannot be filtered on (RFC 7644 §3.4.2.2)."""

    scim_type = "invalidFilter"


class FilterSyntaxError(InvalidFilter):
    """A filter or attribute path that does not parse; ``position`` is the 0-based character
    offset of the problem, when there is one (:mod:`.filter`)."""

    def __init__(self, detail: str, position: int | None = None) -> None:
        super().__init__(detail)
        self.position = position


class InvalidPath(ProtocolError):
    """A PATCH ``path`` that is not a valid attribute path for the operation (RFC 7644 §3.5.2)."""

    scim_type = "invalidPath"


class NoTarget(ProtocolError):
    """A PATCH path that selects nothing where something must be selected (RFC 7644 §3.5.2)."""

    scim_type = "noTarget"


class Mutability(ProtocolError):
    """A change to a read-only or immutable attribute, or the removal of a required one."""

    scim_type = "mutability"


class TooLarge(ProtocolError):
    """More PATCH work than one request may ask for: 413, as RFC 7644 §3.7.4 answers a bulk
    request over ``maxOperations`` (no scimType fits)."""

    status = 413


class _Reported:
    def __init__(self, error: type[ProtocolError], prefix: str) -> None:
        self.error, self.prefix = error, prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(exc, (FilterSyntaxError, UnknownAttribute)):
            raise self.error(f"{self.prefix}{exc}") from None


def reported_as(error: type[ProtocolError], prefix: str = "") -> _Reported:
    """A context in which a path the parser cannot read (:class:`FilterSyntaxError`) or the
    schema model does not know (:class:`~adapters.schema.UnknownAttribute`) raises
    ``error(prefix + reason)``, e.g. ``with reported_as(InvalidValue, "sortBy: "): ...``."""
    return _Reported(error, prefix)
