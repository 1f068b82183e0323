"""Files the gateway creates are its owner's alone: employees' personal data and secrets are not
for other local users (issue 13 §6)."""

from __future__ import annotations

import os
from pathlib import Path


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (0600, whatever the umask) if it is missing, so
    that SQLite, which gives a database's ``-wal`` and ``-shm`` files the database's own mode,
    keeps them private too. An existing file is never opened: closing any descriptor of a file
    drops every POSIX lock the process holds on it, SQLite's included (another process would then
    take its WAL for unused and delete it under the open connections)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
