"""``If-Match`` and ``If-None-Match`` (RFC 7644 §3.14), parsed in this one place into the
:class:`~adapters.versions.ExpectedVersion` adapters and the service compare versions with, and
evaluated as RFC 9110 §13.2.2 orders them (:class:`Preconditions`)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.versions import ExpectedVersion, opaque
from gateway.scim.errors import PreconditionFailed


def parse_condition(header: str | None) -> ExpectedVersion | None:
    """``None`` for an absent or empty header, else the condition it states (``*`` or a list of
    entity tags)."""
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return ExpectedVersion(any_version=True)
    return ExpectedVersion(frozenset(opaque(tag) for tag in header.split(",") if tag.strip()))


@dataclass(frozen=True)
class Preconditions:
    """A request's ``If-Match`` and ``If-None-Match``, each ``None`` when not sent."""

    if_match: ExpectedVersion | None = None
    if_none_match: ExpectedVersion | None = None

    @classmethod
    def parse(cls, if_match: str | None, if_none_match: str | None) -> Preconditions:
        return cls(parse_condition(if_match), parse_condition(if_none_match))

    def read_is_current(self, version: str | None) -> bool:
        """For GET and HEAD: raise :class:`PreconditionFailed` when ``If-Match`` names no current
        version (RFC 9110 §13.1.1); True when ``If-None-Match`` names it, for a ``304`` (§13.1.2)."""
        if self.if_match is not None and not self.if_match.matches(version):
            raise PreconditionFailed("If-Match names no current version of this resource; GET it again "
                                     "(RFC 7644 §3.14).")
        return self.if_none_match is not None and self.if_none_match.matches(version)

    def refuse_write_to(self, version: str | None) -> None:
        """For PUT, PATCH and DELETE: raise :class:`PreconditionFailed` when ``If-None-Match``
        names ``version``, the current one, or is ``*`` (RFC 9110 §13.1.2: the method is not
        performed, 412). ``If-Match`` is the adapter's to check, in the write itself."""
        if self.if_none_match is not None and self.if_none_match.matches(version):
            raise PreconditionFailed("If-None-Match names the current version of this resource (or is *): "
                                     "nothing was changed (RFC 9110 §13.1.2).")

    def write_condition(self, version: str | None) -> ExpectedVersion | None:
        """The condition a PUT or DELETE is written under, once the current ``version`` was read:
        ``If-Match`` as sent; with ``If-None-Match``, after :meth:`refuse_write_to`, "still this
        version", so that no other write slips in between the check and this one (a ``412``)."""
        if self.if_none_match is None:
            return self.if_match
        if self.if_match is not None and not self.if_match.matches(version):
            return self.if_match  # the adapter answers 412 (or 404)
        self.refuse_write_to(version)
        return ExpectedVersion.exactly(version) if version else self.if_match

