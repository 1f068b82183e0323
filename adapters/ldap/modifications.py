"""The LDAP modify operations that take an entry to the state the mapping desires: each is one
atomic modify in which the exact old values are deleted before the new ones are added, so a write
that raced another fails instead of overwriting it (the LDAP adapter retries or refuses)."""

from __future__ import annotations

import logging
from typing import Any

from adapters.ldap import mapping
from adapters.ldap.client import ldap3, ldap_errors
from adapters.ldap.mapping import Entry

log = logging.getLogger("vizmo_scim.adapter.ldap")

Changes = dict[str, list[tuple[Any, list[str]]]]
#: Modify failures that mean "the entry changed since it was read" when its version changed too.
CONFLICTS = (ldap_errors.LDAPNoSuchAttributeResult, ldap_errors.LDAPAttributeOrValueExistsResult,
             ldap_errors.LDAPConstraintViolationResult, ldap_errors.LDAPNoSuchObjectResult)


def swap(old: list[str], *new: str) -> list[tuple[Any, list[str]]]:
    """Replace exactly the values ``old`` by ``new`` (fails if ``old`` changed meanwhile)."""
    return [*([(ldap3.MODIFY_DELETE, old)] if old else []), *([(ldap3.MODIFY_ADD, list(new))] if new else [])]


def best_effort(operation: Any, *args: Any, **kwargs: Any) -> None:
    """Undo a step of a failed write; if that fails too, the next write repairs the entry."""
    try:
        operation(*args, **kwargs)
    except ldap_errors.LDAPOperationResult:
        log.warning("could not undo a step of a failed LDAP write")


def changes_to(current: Entry, desired: mapping.Desired, blobs: list[str] | None = None) -> Changes:
    """One atomic modify from ``current`` to ``desired`` (``blobs``: the JSON values to swap out,
    when they are not ``current``'s)."""
    changes: Changes = {}
    if desired.add_object_classes:
        changes["objectClass"] = [(ldap3.MODIFY_ADD, desired.add_object_classes)]
        if not current.values(mapping.RDN_ATTRIBUTE):  # shadowAccount needs uid
            changes[mapping.RDN_ATTRIBUTE] = [(ldap3.MODIFY_ADD, [desired.rdn])]
    for name, new in desired.values.items():
        old = current.values(name)
        if old[:1] == new:
            continue  # SCIM shows the first value only: the further ones are another tool's, kept
        # the exact old values go (the race check) and come back after the new first one: an
        # alias in mail, a second telephoneNumber were deleted by any PATCH (an LDAP review)
        ops: list[tuple[Any, list[str]]] = [(ldap3.MODIFY_DELETE, old)] if old else []
        if new or old[1:]:
            ops.append((ldap3.MODIFY_ADD, [*new, *old[1:]]))
        changes[name] = ops
    old_blobs = mapping.blob_values(current) if blobs is None else blobs
    changes[mapping.BLOB_ATTRIBUTE] = swap(old_blobs, desired.blob)
    return changes
