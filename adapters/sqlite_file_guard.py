"""Whether an SQLite file the gateway has open (the directory of the SQLite adapter, the state
store beside another adapter) can still take writes: the same file is at its path (not deleted
or replaced), and SQLite has not found it damaged.

The open connections would go on writing to a deleted or replaced file, which nobody reads again:
every acknowledged write lost (an ``rm -rf`` of the data directory, a restore moved over it). A
damaged file (a torn copy restored, a failing disk) answered 500s while ``/readyz`` said ok.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from adapters.errors import Unavailable

log = logging.getLogger("vizmo_scim.adapter.sqlite")

#: SQLite's primary result codes for a file it cannot read as a database.
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), or None when nothing is at ``path``."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


class FileGuard:
    """The file as opened, and what has been found wrong with it since; ``what`` names it in
    messages."""

    def __init__(self, path: Path, what: str = "the directory database") -> None:
        self.path, self.what = path, what
        self._opened = _identity(path)
        self._damage: str | None = None  # why the file is damaged, once SQLite said so

    def check(self) -> None:
        """``Unavailable`` once the file was found damaged, or when the file at ``path`` is no
        longer the one opened (one stat: microseconds against a write's milliseconds)."""
        if self._damage is not None:  # no write into a damaged file
            raise Unavailable(self._damage)
        if _identity(self.path) != self._opened:
            raise Unavailable(f"{self.what} {self.path} was deleted or replaced while the gateway had "
                              "it open: restart the gateway to use the file now at that path (writes are refused "
                              "until then, so none is lost)")

    def note(self, exc: sqlite3.Error) -> None:
        """Raise ``Unavailable`` (and fail :meth:`check` from now on) when SQLite found the file
        damaged; return for any other error."""
        code = getattr(exc, "sqlite_errorcode", None)  # not on errors of Python's own module
        if code is None or code & 0xFF not in _DAMAGED:
            return
        if self._damage is None:
            self._damage = (f"{self.what} {self.path} is damaged ({exc}): restore it from a backup "
                            "(README: Backups) and restart the gateway")
            log.error("%s", self._damage)
        raise Unavailable(self._damage) from exc
