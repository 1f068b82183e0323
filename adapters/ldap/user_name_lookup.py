"""A ``userName eq`` look-up on LDAP that finds every user a create would collide with.

userName's equality is its uniqueness (RFC 7643 §2.4, ``uniqueness: server``): two userNames are
the same when their normalised forms are (:func:`adapters.ldap.mapping.normalise_user_name`:
case, and white space around and within), and a gateway entry is named after that form, so two
creates of one userName collide on the DN. The directory's own equality, which narrows the search,
drops spaces but not every white space character (OpenLDAP keeps a tab in ``caseIgnoreIA5Match``):
a look-up of ``bob@example.com`` missed an entry stored as ``"bob@example.com\\t"`` that a create of
``bob@example.com`` collides with. Note: Entra ID creates when its look-up finds nobody and retries
the 409 every cycle, so such a user was never provisioned. Where the search finds nobody, the entry
at the DN the userName names is read as well (one base-scope read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.ldap.client import read
from adapters.ldap.mapping import Entry, rdn_value
from adapters.query import Compare, Filter

__all__ = ["entry_named", "user_name_eq"]


def user_name_eq(node: Filter | None) -> str | None:
    """``X`` of the filter ``userName eq "X"`` alone, else None."""
    if isinstance(node, Compare) and node.op == "eq" and node.path.urn is None and node.path.sub_attr is None \
            and node.path.attr == "userName" and isinstance(node.value, str) and node.value.strip():
        return node.value
    return None


def entry_named(conn: Any, user_name: str, dn_of: Callable[[str], str], attributes: list[str]) -> list[Entry]:
    """The gateway entry named after ``user_name``'s normalised form, if there is one (the
    caller checks it against the filter, as every entry a search returns)."""
    entry = read(conn, dn_of(rdn_value(user_name)), attributes)
    return [entry] if entry is not None else []


def same_user_name(stored: object, sent: str) -> bool:
    """Whether the entry :func:`entry_named` found is the one ``userName eq sent`` names: equal but
    for case and runs of white space (README). Its DN is named after the NFKC form, so a fullwidth
    ``ｕｓｅｒ003`` found ``user003`` (a differential filter review)."""
    return isinstance(stored, str) and " ".join(stored.casefold().split()) == " ".join(sent.casefold().split())
