"""Seeding the Vizmo directory into a throwaway PostgreSQL for ``bench/load.py --adapter
postgres`` (issue 3 §5; not measured).

The cluster is ``tests/pg_cluster.py``'s (``initdb`` + ``pg_ctl``, loopback, ``trust``); the
schema is the adapter's own ``directory.sql`` and ``scim_tables.sql``, with company 1 and
location 1. Rows have the shapes of :mod:`bench.seed` (the same generator and seed), loaded with
``COPY`` in one transaction. The gateway gets a TOML config naming the ``postgres`` adapter and
a 0600 DSN file; the cluster is stopped and deleted when the context ends, also on errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from bench.seed import LOCATION_ID, SeededDirectory, SeedError, _employee_rows, _scim_rows, finish_seeding
from tests.pg_cluster import PgCluster, find_bin_dir, remove_cluster, start_cluster

DATABASE = "vizmo_bench"
_EMPLOYEE_COLUMNS = ("id", "location_id", "email", "first_name", "last_name", "display_name", "phone", "mobile",
                     "department", "designation", "employee_code", "status", "created_at", "updated_at")
_SCIM_COLUMNS = ("employee_id", "location_id", "scim_id", "incarnation", "external_id", "extra", "version")


@dataclass(frozen=True)
class PgSeeded:
    """A seeded PostgreSQL directory: the wrk inputs and the gateway's ``--config``."""

    seeded: SeededDirectory
    config: Path


def _sql(name: str) -> str:
    return resources.files("adapters.vizmo_postgres").joinpath(name).read_text(encoding="utf-8")


async def _seed(dsn: str, employees: int, rng: random.Random) -> tuple[dict[int, str], int]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(_sql("directory.sql"))
            await conn.execute(_sql("scim_tables.sql"))
            await conn.execute("INSERT INTO companies (id, name) VALUES (1, 'Bench')")
            await conn.execute("INSERT INTO locations (id, company_id, name) VALUES ($1, 1, 'Delhi')", LOCATION_ID)
            rows = [(i, *row) for i, row in enumerate(_employee_rows(employees, rng, now), start=1)]
            await conn.copy_records_to_table("employees", records=rows, columns=_EMPLOYEE_COLUMNS)
            for table in ("companies", "locations", "employees"):  # explicit ids leave the identity behind
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
            emails = {row[0]: row[2] for row in rows}
            await conn.copy_records_to_table("scim_users", records=list(_scim_rows(sorted(emails), emails, rng)),
                                             columns=_SCIM_COLUMNS)
        await conn.execute("ANALYZE")
        scim_users = await conn.fetchval("SELECT count(*) FROM scim_users")
    finally:
        await conn.close()
    return emails, int(scim_users)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _start() -> PgCluster:
    try:
        return start_cluster(find_bin_dir())
    except RuntimeError as exc:
        raise SeedError(f"PostgreSQL did not start: {exc}") from None
    except BaseException as exc:  # find_bin_dir fails with pytest's Failed when binaries are missing
        if type(exc).__name__ == "Failed":
            raise SeedError(str(exc)) from None
        raise


@contextmanager
def postgres_directory(data_dir: Path, employees: int, *, seed: int = 7) -> Iterator[PgSeeded]:
    """Start a cluster, seed ``employees`` employees of location 1, enable SCIM there; yield the
    seeded directory and its gateway config; stop and delete the cluster at the end."""
    if data_dir.exists():
        raise FileExistsError(f"{data_dir} already exists; the benchmark needs a fresh directory")
    data_dir.mkdir(parents=True, mode=0o700)
    started = time.perf_counter()
    cluster = _start()
    try:
        try:
            dsn = cluster.create_database(DATABASE)
        except RuntimeError as exc:
            raise SeedError(str(exc)) from None
        rng = random.Random(seed)
        emails, scim_users = asyncio.run(_seed(dsn, employees, rng))
        dsn_file, config = data_dir / "directory.dsn", data_dir / "gateway.toml"
        _write_private(dsn_file, dsn + "\n")
        _write_private(config, f'[adapter]\nname = "postgres"\n\n[adapter.options]\ndsn_file = {json.dumps(str(dsn_file))}\n')
        seeded = finish_seeding(data_dir, dsn_file, emails, scim_users, rng, started, config)
        yield PgSeeded(seeded, config)
    finally:
        remove_cluster(cluster)
