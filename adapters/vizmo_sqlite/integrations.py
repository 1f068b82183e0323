"""Which locations have the SCIM integration enabled, and the id of each one's valid token.

Kept in the directory database (table ``scim_integrations``) so that the CLI, run while the
gateway serves, changes what the running gateway accepts at once: the gateway reads the row
on every request (one indexed SELECT on a primary key, see ``active_token_id``).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from adapters.errors import BackendUnavailable, NotFound
from adapters.vizmo_sqlite import bootstrap, mapping


@dataclass(frozen=True)
class Integration:
    """One location with SCIM enabled."""

    location_id: int
    location_name: str
    token_id: str
    created_at: str
    rotated_at: str


class IntegrationStore:
    """Sync store over the directory database; every method is one short transaction."""

    def __init__(self, path: Path | str) -> None:
        self._conn = bootstrap.connect(path)
        self._conn.row_factory = sqlite3.Row
        bootstrap.ensure_scim_tables(self._conn)

    def close(self) -> None:
        self._conn.close()

    def active_token_id(self, location_id: int) -> str | None:
        """The id of the location's valid token, or None when SCIM is not enabled there."""
        try:
            row = self._conn.execute(
                "SELECT token_id FROM scim_integrations WHERE location_id = ?", (location_id,)).fetchone()
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"integration lookup failed: {exc}") from exc
        return None if row is None else row[0]

    def enable(self, location_id: int) -> str:
        """Enable SCIM for a location (or issue it a new token id if enabled); return the token id."""
        self._require_location(location_id)
        token_id = secrets.token_hex(16)
        now = mapping.now_iso()
        self._conn.execute(
            "INSERT INTO scim_integrations (location_id, token_id, created_at, rotated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (location_id) DO UPDATE SET token_id = excluded.token_id, rotated_at = excluded.rotated_at",
            (location_id, token_id, now, now))
        return token_id

    def rotate(self, location_id: int) -> str:
        """Replace the location's token id: the old token stops working at once."""
        if self.active_token_id(location_id) is None:
            raise NotFound(f"SCIM is not enabled for location {location_id}")
        return self.enable(location_id)

    def remove(self, location_id: int) -> None:
        """Disable SCIM for a location; its employees stay in the directory."""
        cur = self._conn.execute("DELETE FROM scim_integrations WHERE location_id = ?", (location_id,))
        if cur.rowcount == 0:
            raise NotFound(f"SCIM is not enabled for location {location_id}")

    def list(self) -> list[Integration]:
        rows = self._conn.execute(
            "SELECT i.location_id, l.name, i.token_id, i.created_at, i.rotated_at FROM scim_integrations i "
            "JOIN locations l ON l.id = i.location_id ORDER BY i.location_id").fetchall()
        return [Integration(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def _require_location(self, location_id: int) -> None:
        if self._conn.execute("SELECT 1 FROM locations WHERE id = ?", (location_id,)).fetchone() is None:
            raise NotFound(f"location {location_id} does not exist in the directory")
