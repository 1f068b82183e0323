"""A directory file damaged on disk (a torn copy restored, a failing disk), through the real
``vizmo-scim serve``: requests that meet the damage are 503s, ``/readyz`` fails from then on with
the reason, and the log says what to do once. It answered 500s while ``/readyz`` said ok."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

from adapters.vizmo_sqlite.bootstrap import create_directory
from tests.serving import CORE, Server, add_integration, first_serve

PAGE = 4096


def _damage_the_middle_of(path: Path) -> None:
    """Overwrite one page in the middle of the file (the employees table's leaves) with garbage."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()
    with open(path, "r+b") as file:
        file.seek((pages // 2) * PAGE)
        file.write(b"\xa5" * PAGE)


def _readyz(origin: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"{origin}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_damaged_directory_is_503_and_fails_readiness_with_the_reason(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    directory = data_dir / "directory.db"
    data_dir.mkdir(mode=0o700)
    create_directory(directory)
    conn = sqlite3.connect(directory)
    with conn:
        conn.executemany("INSERT INTO employees (location_id, email, first_name, last_name, created_at, updated_at) "
                         "VALUES (1, ?, ?, 'Rao', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
                         [(f"e{n}@contoso.com", "x" * 200) for n in range(3000)])
    conn.close()
    first_serve(data_dir)
    token = add_integration(data_dir)["secret_token"]
    _damage_the_middle_of(directory)
    conn = sqlite3.connect(directory)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok"  # really damaged
    except sqlite3.DatabaseError as exc:
        assert "malformed" in str(exc)
    finally:
        conn.close()

    server = Server(data_dir)
    server.start()
    try:
        assert _readyz(server.origin)[0] == 200  # nothing has met the damage yet
        statuses = {server.request("GET", f"/Users?startIndex={start}&count=200", token)[0]
                    for start in range(1, 3001, 200)}
        assert 503 in statuses and 500 not in statuses, statuses
        status, body = _readyz(server.origin)
        assert status == 503 and body["status"] == "unavailable", body
        status, _ = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": "new@contoso.com"})
        assert status == 503  # nothing more is written into a damaged file
    finally:
        log = server.stop()
    assert log.count(f"ERROR vizmo_scim.adapter.sqlite the directory database {directory} is damaged") == 1, log
    assert "restore it from a backup (README: Backups) and restart the gateway" in log
