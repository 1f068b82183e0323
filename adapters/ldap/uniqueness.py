"""userName uniqueness in a location's OU (LDAP), checked before an add or a rename.

Users are the entries directly below the location's OU (one-level searches), but other tools file
employees in sub-OUs too (``ou=engineering,ou=<location>,...``): such an entry is no SCIM user, so
Entra ID's ``userName eq`` look-up missed it and its create made a second entry for the person (an
LDAP review). The check so searches the whole subtree, leaving out the gateway's own tombstones
(``ou=deprovisioned``: a removed user may be created again), and names an entry it finds in a
sub-OU, for the directory's admin to move or remove.
"""

from __future__ import annotations

from typing import Any

from adapters.errors import AlreadyExists, NotFound
from adapters.ldap import mapping
from adapters.ldap.attributes import AttributeMap
from adapters.ldap.client import ldap3, ldap_errors, search
from adapters.ldap.filter_parts import escape
from ldap3.utils.dn import parse_dn  # imported after adapters.ldap.client, which quiets ldap3's import warnings


def check_free(conn: Any, base: str, tombstones: str, users: str, amap: AttributeMap, user_name: str,
               except_id: str | None = None) -> None:
    """``AlreadyExists`` when another entry below ``base`` (but not under ``tombstones``) has this
    userName, or holds it as a further value of its userName attribute (read as its first value,
    so a look-up cannot find it): the detail names that entry, for the directory's admin (Entra
    ID retries a 409 every cycle). ``users``: the filter of user entries."""
    attribute = amap.user_name.ldap
    try:
        found = search(conn, base, ldap3.SUBTREE, f"(&{users}({attribute}={escape(user_name)}))",
                       [attribute, "entryUUID"])
    except ldap_errors.LDAPNoSuchObjectResult:
        raise NotFound("this location does not exist in the directory") from None
    holders = [e for e in found if e.first("entryUUID") != except_id and not _below(e.dn, tombstones)]
    holder = next((e for e in holders if _below(e.dn, base, directly=True)), holders[0] if holders else None)
    if holder is None:
        return
    if not _below(holder.dn, base, directly=True):
        raise AlreadyExists(f"userName {user_name!r} is taken in this location by the entry {holder.dn!r}, in an "
                            "OU below the location's, where the gateway does not serve users: move that entry "
                            "into the location's OU (Entra ID then finds it) or remove it")
    own = holder.first(attribute) or ""
    if mapping.normalise_user_name(own) == mapping.normalise_user_name(user_name):
        raise AlreadyExists(f"userName {user_name!r} is already taken in this location")
    raise AlreadyExists(f"userName {user_name!r} is taken in this location: user {holder.first('entryUUID')} "
                        f"(whose userName is the first of its {attribute} values) holds it as a further "
                        f"{attribute} value; remove that value in the directory")


def _below(dn: str, parent: str, *, directly: bool = False) -> bool:
    """Whether ``dn`` is below ``parent`` (one level only with ``directly``), comparing DNs as
    parsed and case-folded (attribute names and values alike: OU names compare case-insensitively)."""
    try:
        child, above = parse_dn(dn), parse_dn(parent)
    except ldap_errors.LDAPInvalidDnError:
        return False
    if len(child) <= len(above) or (directly and len(child) != len(above) + 1):
        return False
    fold = [(name.lower(), value.lower()) for name, value, _ in child[len(child) - len(above):]]
    return fold == [(name.lower(), value.lower()) for name, value, _ in above]
