"""Seeding a fresh Vizmo directory for the benchmark (not measured).

Employees go straight into the portal's ``employees`` table in one transaction with
``executemany``, as the portal's own bulk import would; half of them (every even id) also get
a ``scim_users`` row shaped like one the gateway writes for an Entra-created user, so both
kinds of employee (SCIM-managed and portal-only) are looked up. The location's integration is
enabled with the real CLI (``python -m gateway.cli integration add --json``), and the Secret
Token is written to a 0600 file for the wrk script (never printed).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from adapters.vizmo_sqlite import bootstrap
from bench.servers import ROOT, child_env
from gateway.tokens import load_or_create_key

LOCATION_ID = 1
#: At most this many ids/emails go to the wrk list files (a uniform sample of all employees).
LIST_SAMPLE = 200_000

_FIRST = ("Aarav", "Priya", "Rahul", "Ananya", "Vikram", "Meera", "John", "Maria", "Wei", "Fatima",
          "Lars", "Chloe", "Kenji", "Amara", "Diego", "Olga", "Noah", "Isla", "Omar", "Sofia")
_LAST = ("Sharma", "Iyer", "Gupta", "Khan", "Reddy", "Smith", "Garcia", "Chen", "Okafor", "Novak",
         "Jensen", "Dubois", "Tanaka", "Silva", "Ivanova", "Brown", "Haddad", "Rossi", "Kaur", "Das")
_DEPARTMENTS = ("Engineering", "Sales", "Finance", "Facilities", "HR", "Legal", "Support", None)
_TITLES = ("Engineer", "Manager", "Analyst", "Receptionist", "Director", "Intern", None)


class SeedError(Exception):
    """The directory could not be prepared."""


@dataclass(frozen=True)
class SeededDirectory:
    """A seeded directory and the files the wrk script reads."""

    data_dir: Path
    directory: Path
    employees: int
    scim_users: int
    token_file: Path
    emails_file: Path  # one percent-encoded userName per line
    ids_file: Path     # one SCIM id per line
    seconds: float


def _employee_rows(count: int, rng: random.Random, now: str) -> Iterator[tuple[object, ...]]:
    """Portal-shaped employee rows; emails are unique (the running number is part of them)."""
    for i in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        phone = f"+91 11 {rng.randrange(10**7, 10**8)}" if rng.random() < 0.6 else None
        mobile = f"+91 9{rng.randrange(10**8, 10**9)}" if rng.random() < 0.4 else None
        status = "disabled" if rng.random() < 0.05 else "active"
        yield (LOCATION_ID, f"{first}.{last}{i}@contoso.example", first, last, f"{first} {last}", phone, mobile,
               rng.choice(_DEPARTMENTS), rng.choice(_TITLES), f"E{i:07d}", status, now, now)


def _scim_rows(ids: list[int], emails: dict[int, str], rng: random.Random) -> Iterator[tuple[object, ...]]:
    """``scim_users`` rows for even employee ids, as the gateway stores an Entra create:
    externalId in its column, ``emails`` and the leftover ``name`` parts in ``extra``."""
    for employee_id in ids:
        if employee_id % 2:
            continue
        email = emails[employee_id]  # seeded emails are plain ASCII: no JSON escaping needed
        formatted = email.split("@", 1)[0].replace(".", " ")
        extra = (f'{{"emails":[{{"primary":true,"type":"work","value":"{email}"}}],'
                 f'"name":{{"formatted":"{formatted}"}}}}')
        h = rng.randbytes(16).hex()
        external_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
        yield (employee_id, LOCATION_ID, str(employee_id), 0, external_id, extra, 1)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def enable_integration(data_dir: Path, config: Path | None = None, *, location: int = LOCATION_ID) -> str:
    """Enable SCIM for ``location`` with the real CLI (with ``--config`` if given); return the
    Secret Token (not printed). The seeded data directory gets the signing key a first ``serve``
    would create: the CLI creates none (issue 17 §1)."""
    load_or_create_key(data_dir)
    argv = [sys.executable, "-m", "gateway.cli", "integration", "add", "--data-dir", str(data_dir),
            "--location", str(location), "--json", *(["--config", str(config)] if config else [])]
    done = subprocess.run(argv, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SeedError(f"'vizmo-scim integration add' failed ({done.returncode}): {done.stderr.strip()}")
    try:
        token = json.loads(done.stdout)["secret_token"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise SeedError("'vizmo-scim integration add --json' printed no secret_token")
    return token


def seed_directory(data_dir: Path, employees: int, *, seed: int = 7) -> SeededDirectory:
    """Create ``data_dir/directory.db`` (must not exist), seed it and enable SCIM for location 1."""
    started = time.perf_counter()
    path = data_dir / "directory.db"
    if path.exists():
        raise FileExistsError(f"{path} already exists; the benchmark needs a fresh directory")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    bootstrap.create_directory(path)
    rng = random.Random(seed)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: the unique email index stays in memory
        bootstrap.ensure_scim_tables(conn)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO employees (location_id, email, first_name, last_name, display_name, phone, mobile, "
            "department, designation, employee_code, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _employee_rows(employees, rng, now))
        emails = dict(conn.execute("SELECT id, email FROM employees WHERE location_id = ?", (LOCATION_ID,)))
        ids = sorted(emails)
        conn.executemany(
            "INSERT INTO scim_users (employee_id, location_id, scim_id, incarnation, external_id, extra, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", _scim_rows(ids, emails, rng))
        conn.execute("COMMIT")
        scim_users = conn.execute("SELECT count(*) FROM scim_users").fetchone()[0]
    finally:
        conn.close()
    return finish_seeding(data_dir, path, emails, scim_users, rng, started)


def finish_seeding(data_dir: Path, directory: Path, emails: dict[int, str], scim_users: int,
                   rng: random.Random, started: float, config: Path | None = None) -> SeededDirectory:
    """Enable SCIM for location 1 and write the token (0600) and the wrk list files."""
    ids = sorted(emails)
    token, token_file = enable_integration(data_dir, config), data_dir / "bench-token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(token + "\n")
    sample = rng.sample(ids, min(len(ids), LIST_SAMPLE))
    emails_file, ids_file = data_dir / "bench-emails.txt", data_dir / "bench-ids.txt"
    _write_lines(emails_file, [quote(emails[i], safe="") for i in sample])
    _write_lines(ids_file, [str(i) for i in sample])
    return SeededDirectory(data_dir=data_dir, directory=directory, employees=len(ids), scim_users=scim_users,
                           token_file=token_file, emails_file=emails_file, ids_file=ids_file,
                           seconds=time.perf_counter() - started)
