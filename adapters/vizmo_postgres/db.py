"""The connection side of the PostgreSQL adapter: where the DSN comes from, one asyncpg pool shared
by the adapter and its state store, schema creation, and the one place where asyncpg errors
become :mod:`adapters.errors` types.

The DSN (it may carry a password) is read from an environment variable or a file named in the
options, never from the options themselves; it is never logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg

from adapters.errors import AlreadyExists, InvalidValue, Unavailable
from adapters.vizmo_postgres.privileges import refuse_missing_privileges
from adapters.vizmo_sqlite.bootstrap import DEMO_COMPANY, DEMO_LOCATION

log = logging.getLogger("vizmo_scim.adapter.postgres")

#: pg_advisory_xact_lock key serialising schema creation across gateway processes ("vizmoscm").
_SCHEMA_LOCK = 0x76697A6D6F73636D
_CONNECT_TIMEOUT = 10.0
_ACQUIRE_TIMEOUT = 10.0
_COMMAND_TIMEOUT = 30.0

#: Errors that mean "the server cannot serve us now" (HTTP 503; Entra ID retries later):
#: connection loss or refusal (class 08, OSError, timeouts), shutdown/cancel (57), no resources
#: (53), deadlock/serialisation (40), rejected credentials or database (28, 3D), a database not
#: accepting connections (55000, ``ALLOW_CONNECTIONS false``), a statement prepared before a schema
#: change (0A000 inside a transaction, which asyncpg does not retry), a closed pool.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError, asyncpg.TransactionRollbackError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError, asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError, asyncpg.exceptions.InvalidCachedStatementError,
    OSError, asyncio.TimeoutError,
    asyncpg.InternalClientError,  # a connection left mid-operation by a server that went away
    # the gateway's tables missing (an empty database of that name mid-restore), a prepared statement
    # a pooler lost (PgBouncer's transaction pooling without statement_cache_size = 0): 500s before
    asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.InvalidSQLStatementNameError,
    asyncpg.exceptions.DuplicatePreparedStatementError,
)
#: The directory's own rules refusing a write: a constraint the portal team added (class 23:
#: NOT NULL, CHECK, foreign key; a unique violation is a uniqueness clash, above) or a trigger
#: raising an error (P0001). A 400 naming it, not a 500 that Entra retries for ever.
_REFUSED = (asyncpg.IntegrityConstraintViolationError, asyncpg.exceptions.RaiseError)
#: Values the database cannot hold: U+0000 or an unpaired surrogate in text or jsonb (class 22, also
#: raised by asyncpg itself for a parameter it cannot encode), or too long for the unique index (54000).
_UNSTORABLE = (asyncpg.DataError, asyncpg.exceptions.ProgramLimitExceededError)


async def _release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Give ``conn`` back to the pool. Releasing resets the connection, which fails when the
    server went away meanwhile; asyncpg then closes that connection (the pool opens a new one on
    demand). The work done on it is over by then: a write whose transaction committed must not be
    answered as failed (bench/fault.py saw 201s turned into 500 and 503 this way while PostgreSQL
    restarted), so the failure is logged, not raised."""
    try:
        await pool.release(conn)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
            asyncio.TimeoutError) as exc:
        log.warning("a directory connection could not be reset after use and was closed: %s", _reason(exc))


def _reason(exc: BaseException) -> str:
    """A description that cannot leak the DSN: server messages, asyncpg's own (they name the host
    and what failed, as ``rejected SSL upgrade``, never the password) and OS errors, else the type."""
    if isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.ClientConfigurationError,
                        asyncpg.InternalClientError)) or type(exc) is ConnectionError:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class _OneLinePoolWarnings(logging.Filter):
    """asyncpg's pool logs "Failed to restore the pool connection floor; retrying" with a whole
    traceback at each retry while PostgreSQL is down (every 1 s, doubling to 60 s): each such
    record keeps its message and names the error by :func:`_reason` instead of the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = f"{record.getMessage()}: {_reason(record.exc_info[1])}", ()
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_OneLinePoolWarnings())


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Raise asyncpg failures of ``action`` as adapter errors (the only translation point).

    A unique violation is a uniqueness clash: the database's unique index is the guard against
    concurrent writers, in this process or another.
    """
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("userName is already taken in this location") from exc
    except _UNSTORABLE as exc:
        raise InvalidValue("the directory cannot store a value: it holds U+0000 or an unpaired surrogate, "
                           "or it is too long") from exc
    except _REFUSED as exc:
        raise InvalidValue(f"the directory refused the change: {str(exc)[:300]}") from exc
    except _UNAVAILABLE as exc:
        raise Unavailable(f"directory {action} failed: {_reason(exc)}") from exc
    except asyncpg.InsufficientPrivilegeError as exc:  # revoked since the start's check: a 503, not a 500
        raise Unavailable(f"directory {action} failed: the database user lacks a privilege: {str(exc)[:200]}") \
            from exc


#: What ``scim_tables.sql`` creates, and the objects of older gateways it drops.
_CREATED = re.compile(r"^CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", re.MULTILINE)
_DROPPED = re.compile(r"^DROP INDEX IF EXISTS (\w+)", re.MULTILINE)
_CREATED_TABLES = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)", re.MULTILINE)


async def _scim_tables_current(conn: asyncpg.Connection) -> bool:
    """Whether the gateway's tables and indexes are as ``scim_tables.sql`` makes them (in the
    search path), so that starting runs no DDL. Running it on every start and every CLI command
    needed the tables' ownership and CREATE on the schema for good, and its CREATE INDEX IF NOT
    EXISTS took locks that queued every SCIM write behind a DBA's open transaction (a review)."""
    script = _sql("scim_tables.sql")
    wanted, dropped = _CREATED.findall(script), _DROPPED.findall(script)
    existing = set(await conn.fetchval(
        "SELECT coalesce(array_agg(name), '{}') FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL",
        [*wanted, *dropped]))
    return existing >= set(wanted) and not existing & set(dropped)


async def _refuse_split_schemas(conn: asyncpg.Connection) -> None:
    """Refuse to create the gateway's missing objects in a schema other than the one holding its
    tables: ``CREATE TABLE IF NOT EXISTS`` looks only in the first schema of the search path, so
    after a DBA put another schema first it made a second, empty ``scim_users`` there, which every
    query then read (ids, externalIds and tokens gone at once; a PostgreSQL review)."""
    tables = _CREATED_TABLES.findall(_sql("scim_tables.sql"))
    elsewhere = await conn.fetch(
        "SELECT c.relname, n.nspname FROM unnest($1::text[]) AS name JOIN pg_class c ON c.oid = to_regclass(name) "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IS DISTINCT FROM current_schema()", tables)
    if elsewhere:
        first = await conn.fetchval("SELECT current_schema()")
        raise Unavailable(
            f"the gateway's table {elsewhere[0]['relname']} is in schema {elsewhere[0]['nspname']!r}, but the "
            f"search_path puts {first!r} first, where its missing tables would be made anew and empty: put "
            f"{elsewhere[0]['nspname']!r} first in the role's search_path (ALTER ROLE ... SET search_path)")


@dataclass(frozen=True)
class DsnSource:
    """Where the DSN is: the file ``file`` if set, else the environment variable ``env``."""

    env: str = "VIZMO_DIRECTORY_DSN"
    file: Path | None = None

    def __str__(self) -> str:
        return str(self.file) if self.file is not None else f"${self.env}"

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        """The DSN; ``Unavailable`` naming the variable or file (never the value) if missing."""
        if self.file is not None:
            try:
                dsn = self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise Unavailable(f"cannot read the DSN file that dsn_file names (not repeated here: a DSN typed in "
                                  f"its place would be): {exc.strerror}") from None
            except UnicodeDecodeError:
                raise Unavailable(f"the DSN file {self.file} is not UTF-8 text") from None
            if not dsn:
                raise Unavailable(f"the DSN file {self.file} is empty")
            return dsn
        dsn = (os.environ if environ is None else environ).get(self.env, "").strip()
        if not dsn:
            raise Unavailable(f"the environment variable {self.env} holding the directory DSN is not set")
        return dsn


def _sql(name: str) -> str:
    return resources.files("adapters.vizmo_postgres").joinpath(name).read_text(encoding="utf-8")


class PgDatabase:
    """One asyncpg pool over the directory database, opened by its first user and closed by its
    last (the adapter and its state store share it), bound to the event loop that opened it."""

    def __init__(self, source: DsnSource, *, min_size: int = 1, max_size: int = 10,
                 create_schema: bool = False, statement_timeout: float = 15.0,
                 statement_cache_size: int = 100) -> None:
        self._source = source
        self._statement_cache_size = statement_cache_size  # 0 behind PgBouncer's transaction pooling
        # The server's own limit on each statement: a connection the gateway drops when its
        # timeout cuts a call (``_connection``) leaves its statement running on the server, which
        # does not notice a client gone while it waits for a lock: behind a DBA's LOCK TABLE every
        # timed-out request's backend stayed, until the database ran out of connections and the
        # portal was locked out (a PostgreSQL review).
        self._statement_timeout_ms = max(1, int(statement_timeout * 1000))
        self._min_size, self._max_size = min_size, max_size
        self._create_schema = create_schema
        self._pool: asyncpg.Pool | None = None
        self._users = 0
        self._opening = asyncio.Lock()
        # A FIFO gate in front of the pool. asyncpg's pool gives a released connection to
        # whichever task asks next, and a request asks twice (token check, then its query): under
        # load a waiting request was passed over again and again (bench/load.py --adapter
        # postgres, 32 connections, pool of 10: GET p99 230 ms at p50 37 ms). asyncio.Semaphore
        # serves its waiters in order, and only tasks past it ask the pool, which then never waits.
        self._gate = asyncio.Semaphore(max_size)
        # Transactions (every write) take at most ``max_size`` less a quarter of the pool: a write
        # waits for a row the portal holds locked for up to statement_timeout, and writes to rows
        # a portal job held took every connection, so reads, token checks and /readyz of every
        # location queued behind them and failed (a race review). Reads keep the rest.
        self._write_gate = asyncio.Semaphore(max_size - max_size // 4 if max_size > 1 else 1)

    def __repr__(self) -> str:
        return f"PgDatabase(dsn from {self._source}, open={self._pool is not None})"

    async def open(self) -> None:
        """Create the pool (first user) and the gateway's tables; idempotent across processes."""
        async with self._opening:
            if self._pool is None:
                pool = await self._create_pool(self._source.read())
                try:
                    with translate_errors("schema setup"):
                        async with pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
                            await self._ensure_schema(conn)
                            await refuse_missing_privileges(conn)
                            await self._check_statement_timeout(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
            self._users += 1

    async def _create_pool(self, dsn: str) -> asyncpg.Pool:
        try:
            with translate_errors("connection"):
                return await asyncpg.create_pool(
                    dsn, min_size=self._min_size, max_size=self._max_size, timeout=_CONNECT_TIMEOUT,
                    command_timeout=_COMMAND_TIMEOUT, statement_cache_size=self._statement_cache_size,
                    server_settings={"application_name": "vizmo-scim-gateway",
                                     "statement_timeout": str(self._statement_timeout_ms)})
        except ValueError:  # the DSN parser's message may quote parts of the DSN
            pass
        # raised outside the handler, so that no traceback carries the parser's error as context
        raise Unavailable(f"the directory DSN in {self._source} is malformed")

    async def _check_statement_timeout(self, conn: asyncpg.Connection) -> None:
        """WARNING when the server does not apply the statement_timeout asked for: PgBouncer refuses
        it as a startup parameter, and its usual remedy (ignore_startup_parameters) drops it, so a
        lock held by a DBA piled up the gateway's backends again (a PostgreSQL operations review)."""
        applied = await conn.fetchval("SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'")
        if applied != self._statement_timeout_ms:
            log.warning("the directory's statement_timeout for the gateway's connections is %s ms, not the %s ms "
                        "asked for (a pooler such as PgBouncer dropped the startup parameter?): set it for the "
                        "gateway's role (ALTER ROLE <role> SET statement_timeout = '%ss')", applied,
                        self._statement_timeout_ms, self._statement_timeout_ms / 1000)

    async def _ensure_schema(self, conn: asyncpg.Connection) -> None:
        if not self._create_schema and await _scim_tables_current(conn):
            return  # no DDL: it needs the tables' ownership, and its locks queue every write behind a DBA's
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            if self._create_schema:
                await conn.execute(_sql("directory.sql"))
                if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM companies)"):
                    await conn.execute("INSERT INTO companies (id, name) VALUES (1, $1)", DEMO_COMPANY)
                    await conn.execute("INSERT INTO locations (id, company_id, name) VALUES ($1, 1, $2)",
                                       *DEMO_LOCATION)
                    for table in ("companies", "locations"):  # explicit ids leave the identity behind
                        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                           f"(SELECT max(id) FROM {table}))")
            if await conn.fetchval("SELECT to_regclass('employees')") is None:
                raise Unavailable("not a Vizmo directory: it has no 'employees' table")
            await _refuse_split_schemas(conn)
            await conn.execute(_sql("scim_tables.sql"))

    async def close(self) -> None:
        """Release one user; the last one closes the pool (waiting for running queries)."""
        async with self._opening:
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0 and self._pool is not None:
                pool, self._pool = self._pool, None
                try:
                    await asyncio.wait_for(pool.close(), timeout=_COMMAND_TIMEOUT)
                except (asyncio.TimeoutError, OSError, asyncpg.InterfaceError):
                    log.warning("the directory pool did not close cleanly; connections terminated")
                    pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable("the directory is not open")
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, handed out in the order requests asked (see ``_gate``).

        A cancellation (the gateway's adapter timeout) drops the connection instead of handing
        it back: handing back resets it, and waits for the query under way to be cancelled, over
        a server that may not answer at all (stopped, partitioned: the reset held a 503 for the
        pool's own 10-30 s). The server rolls back a dropped connection's transaction; the pool
        opens a new one on demand."""
        pool = self.pool
        async with asyncio.timeout(_ACQUIRE_TIMEOUT):
            await self._gate.acquire()
        try:
            conn = await pool.acquire(timeout=_ACQUIRE_TIMEOUT)
            try:
                yield conn
            except asyncio.CancelledError:
                conn.terminate()
                raise
            finally:
                await _release(pool, conn)
        finally:
            self._gate.release()

    async def fetch(self, query: str, *args: Any, action: str = "read") -> list[asyncpg.Record]:
        """One statement (``$n`` placeholders, autocommitted) on a pooled connection."""
        with translate_errors(action):
            async with self._connection() as conn:
                return list(await conn.fetch(query, *args))

    async def fetchval(self, query: str, *args: Any, action: str = "read") -> Any:
        with translate_errors(action):
            async with self._connection() as conn:
                return await conn.fetchval(query, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction (READ COMMITTED): committed when the block ends, rolled back on any
        error; asyncpg errors raised inside come out translated."""
        with translate_errors("write"):
            async with self._write_gate, self._connection() as conn:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    yield conn
                except asyncio.CancelledError:
                    raise  # no ROLLBACK over a connection that may not answer: _connection drops it
                except BaseException:
                    await transaction.rollback()
                    raise
                await transaction.commit()
