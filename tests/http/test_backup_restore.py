"""README's *Backups*, followed as written: a snapshot copy (``VACUUM INTO``) of the directory
taken while the real ``vizmo-scim serve`` takes writes, restored with the signing key into a new
data directory, serves the same users to the same Secret Token."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from tests.serving import CORE, Server, add_integration


def test_a_snapshot_taken_under_writes_restores_to_a_working_gateway(tmp_path: Path,
                                                                       servers: list[Server]) -> None:
    server = Server(tmp_path / "data")
    servers.append(server)
    server.start()
    token = add_integration(server.data_dir)["secret_token"]
    acknowledged: list[str] = []

    def provision(first: int, count: int) -> None:
        for n in range(first, first + count):
            status, body = server.request("POST", "/Users", token, {"schemas": [CORE], "userName": f"u{n}@contoso.com"})
            assert status == 201, body
            acknowledged.append(body["id"])

    provision(0, 50)
    writer = threading.Thread(target=provision, args=(50, 150))  # writes go on during the copy
    writer.start()
    backup = tmp_path / "backups" / "directory.db"
    backup.parent.mkdir()
    conn = sqlite3.connect(server.data_dir / "directory.db")
    try:
        conn.execute("VACUUM INTO ?", (str(backup),))
    finally:
        conn.close()
    writer.join()
    server.stop()

    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copyfile(backup, restored / "directory.db")
    (restored / "directory.db").chmod(0o600)
    shutil.copyfile(server.data_dir / "signing-key", restored / "signing-key")
    (restored / "signing-key").chmod(0o600)
    again = Server(restored)
    servers.append(again)
    again.start()
    status, listing = again.request("GET", "/Users?count=200", token)
    assert status == 200
    ids = [user["id"] for user in listing["Resources"]]
    assert 50 <= len(ids) <= 200 and ids == acknowledged[:len(ids)]  # a consistent prefix of the writes
    assert again.request("POST", "/Users", token, {"schemas": [CORE], "userName": "after@contoso.com"})[0] == 201
    conn = sqlite3.connect(restored / "directory.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
