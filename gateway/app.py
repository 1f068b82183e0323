"""``make_app``: the gateway's ``tornado.web.Application`` (routes, access log), and
``make_server``: Tornado's ``HTTPServer`` for it, with the gateway's limits and timeouts.

Tenant URL: ``/scim/v2/locations/<location id>``; Entra ID appends ``/Users``, ``/Groups``.
Endpoint names match case-insensitively and repeated or trailing slashes are tolerated (Note:
Entra ID appends ``/Users`` to a Tenant URL pasted with a trailing slash). Path values are
percent-decoded by Tornado (a value that is not UTF-8 is a SCIM 400).
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.web

from gateway.admin.routes import admin_routes, admin_settings
from gateway.certificates import tls_context
from gateway.config import HEADER_READ_LIMIT, ConfigError, GatewayConfig
from gateway.connection_cap import BoundedHTTPServer, connection_bound
from gateway.context import GatewayContext
from gateway.errors import InvalidSyntax, ProtocolError, Stopping
from gateway.handlers.base import (SCIM_CONTENT_TYPE, UNAUTHENTICATED, NotFoundHandler, ScimHandler,
                                   UnknownPathHandler)
from gateway.forwarded import PublicOrigin, trusted_networks
from gateway.logs import loggable_path, redact, shown_method
from gateway.metrics import Metrics
from gateway.handlers.discovery import (
    BulkHandler,
    MeHandler,
    ResourceTypesHandler,
    SchemasHandler,
    ServiceProviderConfigHandler,
)
from gateway.handlers.groups import GroupSearchHandler, GroupsHandler
from gateway.handlers.health import HealthHandler, MetricsHandler, ReadinessHandler
from gateway.handlers.users import UserHandler, UsersHandler, UserSearchHandler
from gateway.tenant_urls import TENANT_PATH

access_log = logging.getLogger("vizmo_scim.access")
log = logging.getLogger("vizmo_scim.app")

TENANT = rf"(?i){re.escape(TENANT_PATH)}(?P<location>[^/]+)/+"
SEGMENT = r"(?P<{}>[^/]+)"

#: A connection that sends no request for this long is closed (Tornado's ``idle_connection_timeout``).
IDLE_TIMEOUT = 120.0
#: A request body must arrive within this long (Tornado's ``body_timeout``).
BODY_TIMEOUT = 60.0


class ScimApplication(tornado.web.Application):
    """The gateway as Tornado sees it; ``inflight`` counts requests between their headers and
    their answer, ``draining`` is set when a graceful stop begins and ``closing`` when its
    connections are being closed (``gateway.serving``)."""

    inflight: int = 0
    draining: bool = False
    closing: bool = False
    public_origin: PublicOrigin

    def start_request(self, server_conn: object,
                      request_conn: tornado.httputil.HTTPConnection) -> tornado.httputil.HTTPMessageDelegate:
        return _MalformedRequestGuard(super().start_request(server_conn, request_conn), request_conn, self)


def close_after_answer(connection: tornado.httputil.HTTPConnection) -> None:
    """Answer this request with ``Connection: close`` and close the connection after it.

    While a worker drains, a keep-alive client would otherwise go on sending requests on its open
    connection, so the requests under way never reach zero and the final close cuts answers to
    writes already committed (bench/fault.py found 8 in one SIGTERM). Tornado has no public switch
    for a server-side close after the answer; ``HTTP1Connection._disconnect_on_finish`` is the one
    it sets itself for ``Connection: close`` requests (tests/http/test_drain.py fails if it stops
    working).
    """
    if hasattr(connection, "_disconnect_on_finish"):
        connection._disconnect_on_finish = True


class _MalformedRequestGuard(tornado.httputil.HTTPMessageDelegate):
    """The front door, before Tornado's router: a SCIM 400 for a request Tornado parses but cannot
    represent (a missing or malformed ``Host`` header), which its router would otherwise answer
    with a bare ``400`` and no body; and the RFC 9112 rules Tornado leaves to its application: no
    request run on a connection already closed (§9.6), ``close`` among the ``Connection``
    options, the absolute form of a target (§3.2.2) with the ``Host`` rules kept (§3.2), no
    fragment in one, HTTP/1.0 with ``Transfer-Encoding`` closed after its answer (§6.1), and
    ``Expect: 100-continue`` in any case, ignored in HTTP/1.0 (RFC 9110 §10.1.1). A refusal here
    is a HEAD's headers alone, and its log line holds no user information. A stop in progress
    answers 503."""

    def __init__(self, inner: tornado.httputil.HTTPMessageDelegate,
                 connection: tornado.httputil.HTTPConnection, app: ScimApplication) -> None:
        self.inner, self.connection, self.app, self.answered, self.head = inner, connection, app, False, False

    def headers_received(self, start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
                         headers: tornado.httputil.HTTPHeaders) -> Awaitable[None] | None:
        self.head = getattr(start_line, "method", None) == "HEAD"
        if _closed(self.connection):
            # Tornado closes a connection after an answer that says ``Connection: close`` (the
            # client's ``close``, a drain, an answer given before the body), then parses what the
            # client had already sent on it from its buffer: a request pipelined behind ran, its
            # answer lost (a DELETE made, and never acknowledged). RFC 9112 §9.6: a server MUST NOT
            # process any further request received on that connection.
            self.answered = True
            log.debug("a request sent on a connection closed after its answer was not run")
            return None
        if self.app.closing:
            # The stop closes the connections one by one: a request that came on an idle one
            # meanwhile would run, commit, and lose its answer when its turn came (a scale-out
            # review: a 201 stored, the client disconnected, its retry a 409). It runs nothing.
            self._refuse(Stopping(), "503 a request arrived while the gateway stops")
            return None
        if self.app.draining or _asks_close(headers):
            close_after_answer(self.connection)
        _read_expect(start_line, headers)
        if isinstance(start_line, tornado.httputil.RequestStartLine):
            if "#" in start_line.path:  # RFC 9112 §3.2: a fragment is never part of a request-target
                self._refuse(InvalidSyntax("The request-target holds '#': send the path without a fragment."),
                             "400 malformed request: a '#' in the request-target")
                return None
            try:
                if start_line.path[:1] != "/":  # (an origin-form target, nearly every one, needs nothing)
                    start_line = _origin_form(start_line, headers)
            except ValueError as exc:  # an authority urllib cannot read ("[::1", "[zz]"), none, or a bad Host
                self._refuse(InvalidSyntax(f"Malformed request with an absolute-form target: {exc}"[:200]),
                             f"400 malformed request: an absolute-form request-target: {str(exc)[:80]}")
                return None
            if start_line.version == "HTTP/1.0" and "Transfer-Encoding" in headers:
                # RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding is treated as faulty
                # framing: answered, then the connection closed (a smuggling guard behind old proxies)
                headers["Connection"] = "close"
                close_after_answer(self.connection)
        try:
            return self.inner.headers_received(start_line, headers)
        except tornado.httputil.HTTPInputError as exc:
            self._refuse(InvalidSyntax(f"Malformed request: {str(exc)[:200]}"), f"400 malformed request: {exc}")
            return None

    def _refuse(self, error: ProtocolError, logged: str) -> None:
        """Answer ``error`` here, before any handler runs, and close the connection after it. A
        HEAD's answer has the headers alone (RFC 9110 §9.3.2; Tornado refused to write its body:
        no answer, and a traceback at ERROR, for every HEAD refused here, a fuzzing review)."""
        self.answered = True
        body = json.dumps(error.body()).encode()
        access_log.info("%s", _without_userinfo(logged)[:240])  # (cut after: a cut secret is not recognised)
        headers = {"Content-Type": SCIM_CONTENT_TYPE, "Content-Length": str(len(body)), "Connection": "close",
                   **error.headers}
        self.connection.write_headers(
            tornado.httputil.ResponseStartLine("HTTP/1.1", error.status, tornado.httputil.responses[error.status]),
            tornado.httputil.HTTPHeaders(headers), None if self.head else body)
        self.connection.finish()

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return None if self.answered else self.inner.data_received(chunk)

    def finish(self) -> None:
        if not self.answered:
            self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.answered:
            self.inner.on_connection_close()


def _closed(connection: tornado.httputil.HTTPConnection) -> bool:
    """Whether the connection a request came on is closed already (its stream, on Tornado's
    ``HTTP1Connection``; a connection without one is taken as open)."""
    stream = getattr(connection, "stream", None)
    return stream is not None and stream.closed()


def _asks_close(headers: tornado.httputil.HTTPHeaders) -> bool:
    """Whether ``Connection`` lists ``close`` among its options (RFC 9110 §7.6.1: a list of
    tokens, in any case); Tornado closes only for the whole value ``close``, so a request
    pipelined behind ``Connection: close, TE`` (Perl's LWP) ran (a fuzzing review)."""
    return "Connection" in headers and any(
        token.strip().lower() == "close" for value in headers.get_list("Connection") for token in value.split(","))


def _read_expect(start_line: object, headers: tornado.httputil.HTTPHeaders) -> None:
    """``Expect: 100-continue`` in any case is read as such (Tornado sends its ``100`` for the one
    spelling alone), and ignored in an HTTP/1.0 request (RFC 9110 §10.1.1: a server MUST ignore
    it there; Tornado answered it)."""
    expect = headers.get("Expect")
    if expect is None:
        return
    if getattr(start_line, "version", None) == "HTTP/1.0":
        del headers["Expect"]
    elif expect != "100-continue" and expect.strip().lower() == "100-continue":
        headers["Expect"] = "100-continue"


#: A ``Host`` value Tornado refused, quoted in its message: all of it up to its last ``@`` is user
#: information (a host name holds no ``@``), whatever characters the password has.
_HOST_USERINFO = re.compile(r"(host headers?\b[^'\"]*['\"]).*@", re.IGNORECASE | re.DOTALL)
#: ``user:password@`` inside any other logged value.
_USERINFO = re.compile(r"[^\s'\"@/]*:[^\s'\"@/]*@")


def _without_userinfo(text: str) -> str:
    """``text`` with any ``user:password@`` made ``***@``: never a password in the log."""
    return _USERINFO.sub("***@", _HOST_USERINFO.sub(r"\1***@", text))


#: A ``Host`` value (RFC 9110 §7.2: uri-host [":" port]) has only these characters; a comma is
#: two values joined, as Tornado reads it beside an origin-form target (RFC 9112 §3.2: a 400).
_HOST_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+;=%:\[\]]*")


def _check_host_header(version: str, headers: tornado.httputil.HTTPHeaders) -> None:
    """RFC 9112 §3.2: beside an absolute-form target too, an HTTP/1.1 request without ``Host``,
    with two, or with an invalid one is a ``400`` (its value then ignored, §3.2.2); ValueError."""
    values = headers.get_list("Host")
    if len(values) > 1:
        raise ValueError("more than one Host header")
    if not values:
        if version != "HTTP/1.0":
            raise ValueError("no Host header")
        return
    value = values[0]
    if value == "":
        return  # (an empty reg-name is a valid uri-host)
    parts = urllib.parse.urlsplit("//" + value)  # ValueError for an authority it cannot read
    if not _HOST_CHARS.fullmatch(value) or parts.netloc != value or not parts.hostname:
        raise ValueError("an invalid Host header")
    parts.port  # ValueError for one that is not a number from 0 to 65535


def _origin_form(start_line: tornado.httputil.RequestStartLine,
                 headers: tornado.httputil.HTTPHeaders) -> tornado.httputil.RequestStartLine:
    """An absolute-form request-target (``GET http://host/scim/... HTTP/1.1``) as the origin-form
    Tornado routes, its authority taking the place of ``Host`` (RFC 9112 §3.2.2: a server MUST
    accept the absolute form and use its host); it was a 404. ``ValueError`` for one without a
    host, with user information, a port that is no port, or an authority that cannot be read, and
    for a ``Host`` header a server must refuse whatever the target's form."""
    target = start_line.path
    if not target[:8].lower().startswith(("http://", "https://")):
        return start_line
    parts = urllib.parse.urlsplit(target)  # ValueError for an authority it cannot read
    if not parts.hostname:
        raise ValueError("no host")  # RFC 9110 §4.2.1: an http URI without a host is invalid
    if "@" in parts.netloc:  # RFC 9110 §4.2.4: user information is treated as an error (and never logged)
        raise ValueError("user information in the authority")
    _check_host_header(start_line.version, headers)
    port = parts.port  # ValueError for one that is not a number from 0 to 65535
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    headers["Host"] = host if port is None else f"{host}:{port}"
    path = parts.path or "/"
    return start_line._replace(path=f"{path}?{parts.query}" if parts.query else path)


def _routes() -> list[tuple[str, type[ScimHandler]]]:
    """Every endpoint; any other path under a Tenant URL is a SCIM 404 after authentication."""
    return [
        (r"/healthz", HealthHandler),
        (r"/readyz", ReadinessHandler),
        (TENANT + r"Users/*", UsersHandler),
        (TENANT + r"Users/+\.search/*", UserSearchHandler),
        (TENANT + r"\.search/*", UserSearchHandler),  # RFC 7644 §3.4.3 root search: Users is the only type
        (TENANT + r"Users/+" + SEGMENT.format("id") + "/*", UserHandler),
        (TENANT + r"Groups/*", GroupsHandler),
        (TENANT + r"Groups/+\.search/*", GroupSearchHandler),
        (TENANT + r"Groups/+" + SEGMENT.format("id") + "/*", GroupsHandler),
        (TENANT + r"ServiceProviderConfig/*", ServiceProviderConfigHandler),
        (TENANT + r"ResourceTypes/*", ResourceTypesHandler),
        (TENANT + r"ResourceTypes/+" + SEGMENT.format("name") + "/*", ResourceTypesHandler),
        (TENANT + r"Schemas/*", SchemasHandler),
        (TENANT + r"Schemas/+" + SEGMENT.format("id") + "/*", SchemasHandler),
        (TENANT + r"Bulk/*", BulkHandler),
        (TENANT + r"Me(?:/.*)?", MeHandler),
        (TENANT + r".*", NotFoundHandler),
    ]


def access_level(status: int) -> int:
    """An access line's level: ERROR for a 500 (a fault of the gateway's), WARNING for 502-504 (the
    storage unavailable or too slow; the gateway recovers by itself), INFO for every answer it means
    to give, 501 included (an endpoint it does not offer, such as writes to ``/Groups``)."""
    if status == 500:
        return logging.ERROR
    return logging.WARNING if status > 501 else logging.INFO


def request_logger(metrics: Metrics | None) -> Callable[[tornado.web.RequestHandler], None]:
    """Tornado's ``log_function``: each answered request counted and timed in ``metrics``, and
    one access line (request id, location, method, path, status, duration, and the ``scimType``
    of an error that has one) without the query string or headers: filters carry personal data
    (``userName eq "..."``) and headers carry the Secret Token, neither belongs in logs. The
    fields also ride on the record, for ``--log-format json`` (:class:`gateway.logs.JsonFormatter`).
    With ``metrics`` None (the separate metrics port, scraped every few seconds) only refused
    requests are logged, and nothing is counted."""

    def log_request(handler: tornado.web.RequestHandler) -> None:
        status = handler.get_status()
        if metrics is None and status < 400:
            return
        request = handler.request
        seconds = request.request_time()
        location = getattr(handler, "tenant", UNAUTHENTICATED).location
        method = shown_method(request.method)
        if metrics is not None:
            metrics.request(location, method, status, seconds)
        request_id = getattr(handler, "request_id", "-")
        path = redact(loggable_path(request.path[:200]))  # for the JSON field: the filter redacts only messages
        fields = {"request_id": request_id, "location": location, "method": method, "path": path, "status": status,
                  "duration_ms": round(1000.0 * seconds, 2)}
        scim_type = getattr(handler, "scim_type", None)
        if scim_type is None:
            access_log.log(access_level(status), "%d %s %s %.1fms id=%s location=%s", status, method, path,
                           1000.0 * seconds, request_id, location, extra={"request": fields})
        else:
            access_log.log(access_level(status), "%d %s %s %.1fms id=%s location=%s scimType=%s", status, method,
                           path, 1000.0 * seconds, request_id, location, scim_type,
                           extra={"request": {**fields, "scim_type": scim_type}})

    return log_request


def metrics_token(config: GatewayConfig) -> bytes | None:
    """The ``[metrics]`` bearer token (from ``token_file`` or ``token_env``), or None."""
    settings = config.metrics
    if settings.token_file is not None:
        try:
            text = settings.token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"[metrics] token_file {settings.token_file}: {exc.strerror}") from None
    elif settings.token_env is not None:
        text = os.environ.get(settings.token_env, "")
        if not text.strip():
            raise ConfigError("[metrics] token_env names an environment variable that is not set or empty (its "
                              "name is not repeated: a token typed in its place would be): set it to the scrapers' "
                              "bearer token (16 characters or more)")
    else:
        return None
    if len(text.strip()) < 16:
        where = settings.token_file or f"${settings.token_env}"
        raise ConfigError(f"[metrics] the token in {where} must be at least 16 characters")
    return text.strip().encode("utf-8")


def make_app(ctx: GatewayContext) -> ScimApplication:
    """The application for one gateway: the SCIM endpoints, ``/healthz`` and ``/readyz``, and
    ``/metrics`` when ``[metrics]`` names a token and no separate port."""
    kwargs: dict[str, Any] = {"service": ctx.service, "max_body_bytes": ctx.config.max_body_bytes}
    handlers: list[Any] = [(pattern, handler, kwargs) for pattern, handler in _routes()]
    token = metrics_token(ctx.config)
    if token is not None and ctx.config.metrics.port is None:
        handlers.insert(0, (r"/metrics", MetricsHandler, {**kwargs, "token": token}))
    handlers += admin_routes(ctx)  # the Integrations page under /admin (gateway/admin)
    app = ScimApplication(handlers, transforms=[], log_function=request_logger(ctx.metrics),
                          gateway_config=ctx.config, default_handler_class=UnknownPathHandler,
                          default_handler_args=kwargs, **admin_settings(ctx))
    app.public_origin = PublicOrigin(ctx.base_url, trusted_networks(ctx.config.trusted_proxies))
    return app


def make_metrics_app(ctx: GatewayContext) -> ScimApplication:
    """``GET /metrics`` alone, for the separate ``[metrics] port``: with the ``[metrics]`` token when
    one is set too (it was silently not asked there, found by fuzzing), else to anyone who reaches it."""
    kwargs: dict[str, Any] = {"service": ctx.service, "max_body_bytes": ctx.config.max_body_bytes}
    app = ScimApplication([(r"/metrics", MetricsHandler, {**kwargs, "token": metrics_token(ctx.config)})],
                          transforms=[],
                          log_function=request_logger(None), default_handler_class=UnknownPathHandler,
                          default_handler_args=kwargs)
    app.public_origin = PublicOrigin(ctx.base_url, ())
    return app


def make_server(app: ScimApplication, config: GatewayConfig, *, tls: ssl.SSLContext | None = None,
                idle_timeout: float = IDLE_TIMEOUT, body_timeout: float = BODY_TIMEOUT) -> tornado.httpserver.HTTPServer:
    """Tornado's HTTP server for ``app``: headers read up to
    :data:`~gateway.config.HEADER_READ_LIMIT` (so an oversized request is answered 414/431, not
    dropped), bodies up to four times ``max_body_bytes`` (read and answered 413; a declared
    larger one is refused before it is read), and its idle and body timeouts; at most
    ``[limits] max_connections`` open connections (:mod:`gateway.connection_cap`); HTTPS with
    ``tls``, else with the configured certificate, if any (:func:`gateway.certificates.tls_context`)."""
    return BoundedHTTPServer(app, max_header_size=HEADER_READ_LIMIT, max_body_size=4 * config.max_body_bytes,
                             ssl_options=tls if tls is not None else tls_context(config),
                             idle_connection_timeout=idle_timeout, body_timeout=body_timeout,
                             max_connections=connection_bound(config.max_connections))
