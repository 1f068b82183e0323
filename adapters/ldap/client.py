"""ldap3 off the event loop: a pool of bound connections used by a dedicated thread pool.

ldap3 is synchronous (and a ``Connection`` is not safe for concurrent use), so each operation
runs on a worker thread of its own :class:`~concurrent.futures.ThreadPoolExecutor` with a
connection taken from a queue; the event loop never blocks on the network. A connection that
fails at the transport level is dropped and re-opened on next use; a read is retried once on a
fresh connection, a write is not (it may have been applied).
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import ssl
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from adapters.errors import TooMany, Unavailable
from adapters.ldap.mapping import Entry
from adapters.ldap.options import LdapSettings

with warnings.catch_warnings():  # ldap3 2.9.1 imports names that pyasn1 >= 0.6 deprecates
    warnings.filterwarnings("ignore", message=r"\w+ is deprecated\. Please use \w+ instead\.",
                            category=DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap_errors
    from ldap3.utils.dn import escape_rdn

__all__ = ["LdapClient", "escape_rdn", "ldap3", "ldap_errors", "read", "search", "to_entry"]

log = logging.getLogger("vizmo_scim.adapter.ldap")
T = TypeVar("T")

#: Errors after which a connection is unusable (transport, timeouts, a failed bind).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    ldap_errors.LDAPCommunicationError, ldap_errors.LDAPSocketOpenError, ldap_errors.LDAPSocketReceiveError,
    ldap_errors.LDAPSocketSendError, ldap_errors.LDAPSessionTerminatedByServerError,
    ldap_errors.LDAPResponseTimeoutError, ldap_errors.LDAPBindError, ldap_errors.LDAPStartTLSError,
    ldap_errors.LDAPUnavailableResult, ldap_errors.LDAPBusyResult,
)
PAGED_RESULTS = "1.2.840.113556.1.4.319"
PAGE_SIZE = 500


class LdapClient:
    """Connections to one server; :meth:`run` calls a function with one of them on a worker."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self.schema: Any = None
        self._password: str | None = None
        self._server: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._seconds = max(1, math.ceil(settings.timeout))  # ldap3 packs socket timeouts as integers

    def _tls(self) -> Any:
        if not (self.settings.url.startswith("ldaps://") or self.settings.start_tls):
            return None
        return ldap3.Tls(validate=ssl.CERT_REQUIRED,
                         ca_certs_file=str(self.settings.ca_file) if self.settings.ca_file else None)

    def _connect(self) -> Any:
        conn = ldap3.Connection(self._server, user=self.settings.bind_dn, password=self._password,
                                auto_bind=ldap3.AUTO_BIND_NONE, raise_exceptions=True, read_only=False,
                                receive_timeout=self._seconds, client_strategy=ldap3.SYNC)
        # ldap3 marks an address unavailable after a failed connection and skips it for 5 s: a
        # server restarted at once was answered 503 for that long (an LDAP operations review);
        # each new connection tries the server afresh, as README says
        self._server.reset_availability()
        try:
            conn.open(read_server_info=False)
            if self.settings.start_tls:
                conn.start_tls(read_server_info=False)
            conn.bind(read_server_info=self._server.schema is None)
        except BaseException:
            _close(conn)
            raise
        return conn

    async def open(self) -> None:
        """Read the password, bind once and read the directory's schema."""
        self._password = self.settings.read_password()
        self._server = ldap3.Server(self.settings.url, tls=self._tls(), get_info=ldap3.SCHEMA,
                                    connect_timeout=self._seconds)
        self._executor = ThreadPoolExecutor(max_workers=self.settings.pool_size, thread_name_prefix="vizmo-ldap")
        try:
            await self.run(lambda conn: None)
            self.schema = self._server.schema
            if self.schema is None:
                raise Unavailable("the LDAP server did not publish its schema (RFC 4512 §4.4 subschema)")
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        while not self._idle.empty():
            _close(self._idle.get_nowait())

    async def run(self, operation: Callable[[Any], T], *, retry: bool = True) -> T:
        """``operation(connection)`` on a worker thread. Transport failures become
        ``Unavailable``; LDAP result errors propagate for the caller to map."""
        if self._executor is None:
            raise Unavailable("the LDAP adapter is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, operation, retry)

    def _call(self, operation: Callable[[Any], T], retry: bool) -> T:
        for attempt in (1, 2):
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = None
            try:
                if conn is None:
                    conn = self._connect()
                result = operation(conn)
            except ldap_errors.LDAPInvalidCredentialsResult:
                if conn is not None:
                    _close(conn)
                raise Unavailable("the LDAP server refused the bind DN and password") from None
            except TRANSPORT_ERRORS as exc:
                if conn is not None:
                    _close(conn)
                if attempt == 1 and retry:
                    continue
                # the reason too (an expired certificate, a host name the certificate does not name)
                log.warning("LDAP server unavailable: %s: %s", type(exc).__name__, str(exc)[:300])
                raise Unavailable("the LDAP directory is unavailable") from None
            except ldap_errors.LDAPOperationResult as exc:
                if conn is not None:  # the operation's own result, for the caller to map
                    self._idle.put(conn)
                    raise
                # the connection's set-up refused: StartTLS unsupported (a failover node without TLS),
                # a bind that needs a secure connection; each request was a 500 (an LDAP review)
                raise Unavailable(f"the LDAP server refused the connection's set-up: {exc.description}: "
                                  f"{exc.message}") from None
            except BaseException:
                if conn is not None:
                    self._idle.put(conn)
                raise
            self._idle.put(conn)
            return result
        raise AssertionError("unreachable")


def _close(conn: Any) -> None:
    """Unbind, and close the socket ldap3 2.9 leaves open after a failed connect."""
    try:
        conn.unbind()
    except Exception:  # the socket may be gone already
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


def to_entry(response: dict[str, Any]) -> Entry:
    """An ldap3 ``searchResEntry`` as an :class:`Entry` (values decoded as UTF-8)."""
    attrs = {name.lower(): [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in values]
             for name, values in response["raw_attributes"].items()}
    return Entry(dn=response["dn"], attrs=attrs)


#: LDAP result code 4 (RFC 4511 §4.1.9).
SIZE_LIMIT_EXCEEDED = 4


def search(conn: Any, base: str, scope: str, ldap_filter: str, attributes: list[str], *,
           limit: int | None = None) -> list[Entry]:
    """Every entry matching, read in pages (RFC 2696) so the server's size limit does not cut
    the answer; ``TooMany`` past ``limit`` entries, and when the server cut the answer anyway
    (sizeLimitExceeded: OpenLDAP caps a paged search's total too, ``size.prtotal``, 500 by
    default for a bind DN other than the root). ldap3 reports that code without raising, and the
    truncated answer passed for the whole one: totalResults 100 for 350 users (an LDAP review)."""
    entries: list[Entry] = []
    cookie: Any = None
    while True:
        try:
            conn.search(base, ldap_filter, search_scope=scope, attributes=attributes, paged_size=PAGE_SIZE,
                        paged_cookie=cookie)
        except ldap_errors.LDAPAdminLimitExceededResult as exc:  # every request was a 500 (an LDAP review)
            raise Unavailable(f"the LDAP server refused a paged search of {PAGE_SIZE} entries a page for the "
                              f"gateway's bind DN ({exc.message or exc.description}): allow it (OpenLDAP: olcLimits "
                              "size.pr=unlimited size.prtotal=unlimited for that DN)") from None
        entries.extend(to_entry(r) for r in conn.response if r.get("type") == "searchResEntry")
        if conn.result.get("result") == SIZE_LIMIT_EXCEEDED:
            raise TooMany(f"the directory's size limit for the gateway's bind DN stopped this search at "
                          f"{len(entries)} entries: raise it for that DN (OpenLDAP: olcLimits size.prtotal="
                          "unlimited), or narrow the filter")
        control = (conn.result.get("controls") or {}).get(PAGED_RESULTS) or {}
        cookie = (control.get("value") or {}).get("cookie")
        if limit is not None and len(entries) > limit:
            if cookie:  # abandon the paged search (RFC 2696 §3: a size of zero)
                conn.search(base, ldap_filter, search_scope=scope, attributes=["1.1"], paged_size=0,
                            paged_cookie=cookie)
            raise TooMany(f"the filter matches more than {limit} users; narrow it down")
        if not cookie:
            return entries


def read(conn: Any, dn: str, attributes: list[str]) -> Entry | None:
    """The entry at ``dn``, or None."""
    try:
        conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=attributes)
    except ldap_errors.LDAPNoSuchObjectResult:
        return None
    found = [r for r in conn.response if r.get("type") == "searchResEntry"]
    return to_entry(found[0]) if found else None
