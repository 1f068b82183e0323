"""The protocol core's errors: one family, typed by scimType (RFC 7644 §3.12, Table 9).

Every one is raised as ``Cls(detail)``, ``detail`` being one sentence safe to send to the client;
``scim_type`` and ``status`` are class attributes. The web layer answers any
:class:`ProtocolError` with its ``status`` and an RFC 7644 §3.12 body (``ScimHandler.write_error``
in ``gateway/handlers/base.py``, through :func:`gateway.errors.scim_error_for`).

The schema model (:mod:`adapters.schema`) and the path parser reject what they cannot read with
their own errors (:data:`PATH_ERRORS`); :func:`reported_as` is the one place those become
protocol errors, with the scimType of the parameter that held the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.schema import UnknownAttribute

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


class ProtocolError(ValueError):
    """A request the protocol rules reject: HTTP ``status`` with ``scim_type`` and ``detail``,
    and response ``headers`` where the status calls for one (``Allow``, ``Retry-After``)."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: Mapping[str, str] = headers or {}

    def body(self) -> dict[str, Any]:
        """The RFC 7644 §3.12 error message."""
        payload: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(self.status)}
        if self.scim_type:
            payload["scimType"] = self.scim_type
        payload["detail"] = self.detail
        return payload


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


class Uniqueness(ProtocolError):
    """A unique attribute (``userName``) is taken: 409 (RFC 7644 §3.3)."""

    status = 409
    scim_type = "uniqueness"


class PreconditionFailed(ProtocolError):
    """412: ``If-Match`` names no current version, or ``If-None-Match`` names the current one on a
    method other than GET and HEAD (RFC 7644 §3.14; RFC 9110 §13.1.1, §13.1.2)."""

    status = 412


class TooMany(ProtocolError):
    """More results than the adapter returns for one query."""

    scim_type = "tooMany"


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
    """413: a body over ``max_body_bytes``, or more PATCH work than one request may ask for, as
    RFC 7644 §3.7.4 answers a bulk request over ``maxOperations`` (no scimType fits)."""

    status = 413


#: What the path parser and the schema model raise for a path they cannot read or do not know.
PATH_ERRORS = (FilterSyntaxError, UnknownAttribute)


def reported_as(error: type[ProtocolError], prefix: str, exc: Exception) -> ProtocolError:
    """``exc``, one of :data:`PATH_ERRORS`, as the protocol error ``error(prefix + reason)``::

        except PATH_ERRORS as exc:
            raise reported_as(InvalidValue, "sortBy: ", exc) from None

    (a ``try`` costs nothing on the hot path, where a context manager would cost a call).
    """
    return error(f"{prefix}{exc}")
