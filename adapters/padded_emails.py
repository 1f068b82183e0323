"""Portal emails stored with stray whitespace around them (``" ann@example.com"``, ``"ann@example.com "``).

The portal's sign-in email is the SCIM ``userName``, matched exactly (ignoring case) by the
directory's unique index. A row the portal stored with a space pasted before or after the address
is missed by Entra ID's ``userName eq`` look-up, and the create that follows made a second employee
for the same person, silently. So the SQL adapters try the padded forms of a ``userName`` where an
exact match finds nobody: the look-up answers the padded row (Entra ID then adopts it and its next
update writes the address clean), and a create or a rename onto it is a 409 naming the stored value.
The forms are a bounded list probed through the same unique index (equality, whatever the collation),
so the fallback costs a few index look-ups and never a scan. The LDAP adapter needs none of this: its
``userName eq`` compares the form its uniqueness does (:mod:`adapters.ldap.user_name_lookup`).
"""

from __future__ import annotations

import hashlib
from itertools import product

from adapters.errors import AlreadyExists
from adapters.query import Compare, Filter

#: What a pasted address brings along on either side (a space or two, a tab, a line end).
PADDING = ("", " ", "  ", "\t", "\n", "\r\n")
#: The characters of :data:`PADDING`: what :func:`bare` takes off (and no other white space, such
#: as a no-break space, which no padded form holds).
PADDING_CHARS = " \t\r\n"


def bare(text: str) -> str:
    """``text`` without the padding around it."""
    return text.strip(PADDING_CHARS)


def padded_forms(value: str) -> tuple[str, ...]:
    """``value`` with each combination of :data:`PADDING` before and after it, not bare."""
    return tuple(f"{before}{value}{after}" for before, after in product(PADDING, PADDING) if before or after)


def holder_forms(user_name: str) -> tuple[str, ...]:
    """The addresses no other live employee may hold for a write of ``user_name``: its padded
    forms; for a ``user_name`` with whitespace around it, its bare form and that form's padded ones
    (a padded create after the bare address made a second employee: a Unicode review)."""
    address = bare(user_name)
    if address == user_name:
        return padded_forms(user_name)
    return tuple(form for form in (address, *padded_forms(address)) if form != user_name)


def address_key(location: str, user_name: str) -> int:
    """A signed 64-bit key shared by every padded and case form of ``user_name`` in ``location``:
    a lock on it (PostgreSQL's ``pg_advisory_xact_lock``) serialises writes of one address in all
    its forms, where the unique index, which compares forms exactly, lets a padded one through
    beside a concurrent bare one (a race review: 2 to 5 employees for one address)."""
    material = f"{location}\n{bare(user_name).lower()}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "big", signed=True)


def padded_user_name(node: Filter | None) -> tuple[str, ...]:
    """The padded forms of ``X`` for the filter ``userName eq "X"`` alone, else none."""
    if isinstance(node, Compare) and node.op == "eq" and node.path.urn is None and node.path.sub_attr is None \
            and node.path.attr == "userName" and isinstance(node.value, str) and bare(node.value) == node.value:
        return padded_forms(node.value)
    return ()


def padded_holder_taken(user_name: str, stored: str) -> AlreadyExists:
    """The conflict of a ``userName`` a live employee holds with whitespace around it, or of a
    ``userName`` with whitespace around it whose bare address a live employee holds."""
    if bare(stored) == stored:
        return AlreadyExists(f"userName {user_name!r} is taken in this location: it has whitespace around it, and an "
                             f"employee's email is {stored!r}; a look-up of userName eq {stored!r} finds that "
                             "employee: update it, and send the address without the whitespace")
    return AlreadyExists(f"userName {user_name!r} is already taken in this location: an employee's email is "
                         f"stored as {stored!r}, with whitespace around it; a look-up of userName eq {user_name!r} "
                         "finds that employee: update it, or correct its email in the portal")
