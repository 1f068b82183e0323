"""Text the portal stored that is not valid UTF-8, or a BLOB in a text column, read as text.

SQLite lets any writer put such values in the directory's TEXT columns (``CAST(X'4f70ff73' AS
TEXT)``, a BLOB literal). Python's ``sqlite3`` then fails the whole read ("Could not decode to
UTF-8 column ...") or hands back ``bytes``, and the employee was out of Entra ID's reach (every
GET and PATCH a 503, its ``active=false`` too) while a listing of the location failed with it.
Such a value reads as its UTF-8 text, each invalid byte as U+FFFD, and a write that does not
change it leaves the portal's bytes alone (:func:`kept`). SQLite never finds a BLOB equal to a
text, so an email stored as one is looked for apart (:data:`BLOB_EMAIL_IS`), and its JSON
functions refuse BLOBs, so the SQL that builds JSON from a column casts it to text first.

The usual read decodes in C (``text_factory = str``); only a read that met an invalid value is
run again with the lenient decoder, which costs a Python call per text value (9 against 6 µs for
a 17-column row, timeit), so the common path pays nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from adapters.errors import AlreadyExists

T = TypeVar("T")

#: The message ``sqlite3`` raises for a TEXT value that is not UTF-8.
_NOT_UTF8 = "Could not decode to UTF-8"
#: An employee whose email is a BLOB reading as the ``userName`` parameter (white space around
#: it and ASCII case ignored, as for a text email). A look-up of ``userName eq`` and a write's
#: uniqueness check probe it where the text comparison found nobody: else Entra ID did not find
#: that employee and created a second one (the unique email index does not see a text and a BLOB
#: as one). BLOBs sort after every text in the ``(location_id, email)`` index, so ``e.email >=
#: X''`` is a range of it: it reads as many index entries as the location has BLOB emails.
BLOB_EMAIL_IS = "e.email >= X'' AND trim(lower(CAST(e.email AS TEXT)), ' ' || char(9, 10, 13)) = lower(?)"


def lenient(value: bytes) -> str:
    """``value`` as UTF-8, an invalid byte as U+FFFD."""
    return value.decode("utf-8", "replace")


def is_not_utf8(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and _NOT_UTF8 in str(exc)


@contextmanager
def leniently(conn: sqlite3.Connection) -> Iterator[None]:
    """``conn`` decoding text leniently until the block ends."""
    conn.text_factory = lenient
    try:
        yield
    finally:
        conn.text_factory = str


def read(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` (reads only), once more leniently when a value is not UTF-8."""
    try:
        return fn(conn, *args)
    except sqlite3.OperationalError as exc:
        if not is_not_utf8(exc):
            raise
    with leniently(conn):
        return fn(conn, *args)


def as_text(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` as a dict, every ``bytes`` value (a BLOB) as its lenient text. A ``sqlite3.Row``
    finds a column by name with a scan of its column names, case-insensitively: the two dozen
    look-ups of :func:`~.mapping.from_storage` cost 16 against 10.5 µs on a dict, the dict 1.4
    (timeit, this machine)."""
    items = row.items() if isinstance(row, dict) else zip(row.keys(), row)  # type: ignore[attr-defined]
    as_dict = dict(items)
    if any(type(value) is bytes for value in as_dict.values()):
        return {key: lenient(value) if type(value) is bytes else value for key, value in as_dict.items()}
    return as_dict


def kept(new: Any, current: Any) -> Any:
    """The value to write over ``current``: ``current`` itself when it is a BLOB that reads as
    ``new`` (a write that does not change it keeps the portal's bytes)."""
    return current if type(current) is bytes and lenient(current) == new else new


def blob_holder_taken(user_name: str, stored: bytes) -> AlreadyExists:
    """The conflict of a ``userName`` a live employee holds as a BLOB (:data:`BLOB_EMAIL_IS`)."""
    return AlreadyExists(f"userName {user_name!r} is already taken in this location: an employee's email is "
                         f"stored as bytes (a BLOB) that read as {lenient(stored)!r}; a look-up of userName eq "
                         f"{user_name!r} finds that employee: update it, or correct its email in the portal")
