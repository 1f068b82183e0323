"""The base of every SCIM handler, on Tornado's web layer (``tornado.web.RequestHandler``).

- ``initialize`` takes the :class:`~gateway.service.GatewayService`; handlers call only it.
- The request body is streamed (``stream_request_body``), so ``prepare`` runs before any body
  byte is read: it refuses oversized requests (414, 431, 413 on a declared ``Content-Length``)
  and authenticates the Tenant URL. ``data_received`` buffers at most ``max_body_bytes``.
- ``write_error`` is the one place where an exception becomes an RFC 7644 §3.12 error body,
  through :func:`gateway.errors.scim_error_for`. An answer given before the body was read says
  ``Connection: close`` (Tornado closes such a connection: the client must know not to reuse it).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson
import tornado.web

from gateway.answer import Answer
from gateway.config import MAX_HEADER_BYTES, MAX_URL_BYTES
from gateway.errors import (
    HeadersTooLarge,
    InternalError,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    NotImplementedHere,
    ProtocolError,
    TooLarge,
    UnsupportedMediaType,
    UriTooLong,
    cause,
    scim_error_for,
)
from gateway.inflight import InFlight
from gateway.logs import shown_method
from gateway.request_ids import new_request_id
from gateway.service import GatewayService, Tenant

log = logging.getLogger("vizmo_scim.app")

SCIM_CONTENT_TYPE = "application/scim+json"
_ACCEPTED_BODY_TYPES = ("application/scim+json", "application/json")
#: The activity log's operation of each method (RFC 7644 §3.3-§3.6).
OPERATIONS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
#: The verbs a SCIM endpoint may define; HEAD is answered wherever GET is, OPTIONS is a 405 after authentication.
VERBS = ("get", "post", "put", "patch", "delete")
#: The methods HTTP defines (RFC 9110 §9.3, PATCH by RFC 5789): any other is a ``501``.
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"))
#: Control characters a query value must not carry (tab, line breaks and form feeds are whitespace).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")
#: A ``\uD800``-``\uDFFF`` escape: only then can the parsed body hold a lone surrogate, which no
#: storage can encode (the body is checked in full only when one is present).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
#: A ``\u0000`` escape: only then can the parsed body hold NUL, which PostgreSQL refuses to store
#: and SQLite stores (so the gateway refuses it for every adapter alike).
_ESCAPED_NUL = b"\\u0000"
_SIZE_TOO_LARGE = "The request body is larger than {} bytes."
#: The tenant of a request not (yet) authenticated; ``-`` is its metrics label.
UNAUTHENTICATED = Tenant("-", "")


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON of an answer, by orjson: 0.5 against 7 µs for a one-user ListResponse
    with the stdlib (timeit, this machine). A value orjson cannot encode (an integer beyond 64
    bits, stored in an extension before requests holding one were refused) takes the stdlib's path."""
    try:
        return orjson.dumps(body)
    except TypeError:  # allow_nan=False: a NaN beside such an integer was sent as NaN, not JSON (RFC 8259 §6)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _int64(text: str) -> int:
    """A JSON integer within the signed 64-bit range, the widest every storage keeps exactly (a
    SQLite INTEGER; orjson reads a wider one back as a float): a wider one is refused rather than
    stored and returned changed (``18446744073709551616`` came back as ``1.8446744073709552e+19``)."""
    if len(text) > 21 or not -(2 ** 63) <= (value := int(text)) < 2 ** 63:  # (int() refuses 4,300 digits)
        raise InvalidValue(f"The integer {text[:40]} is outside the signed 64-bit range the gateway stores.")
    return value


def _holds_nul(body: Any) -> bool:
    """Whether a string or object key anywhere in ``body`` holds U+0000 (walked without recursion)."""
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _finite_float(text: str) -> float:
    """A JSON number as a float; one too large for a double (``1e400``) is refused rather than
    read as infinity, which no JSON answer could carry (RFC 8259 §6)."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _check_body_encoding(headers: Any) -> None:
    """A ``415`` for a body that is not JSON as sent: another media type, or a
    ``Content-Encoding`` such as gzip (RFC 9110 §8.4.1: a gzipped body was a 400 of invalid JSON).
    A ``charset`` parameter is not consulted: RFC 8259 §11 defines none for JSON ("adding one
    really has no effect on compliant recipients"), and clients label UTF-8 bodies ISO-8859-1
    (Java HTTP clients' default); the body is read as UTF-8, and anything else is a 400."""
    media_type = headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type and media_type not in _ACCEPTED_BODY_TYPES:
        raise UnsupportedMediaType(f"Send the body as application/scim+json, not {media_type[:60]}.")
    coding = headers.get("Content-Encoding", "").strip().lower()
    if coding not in ("", "identity"):
        raise UnsupportedMediaType(f"Send the body without a Content-Encoding, not {coding[:40]}.",
                                   headers={"Accept-Encoding": "identity"})


@tornado.web.stream_request_body
class ScimHandler(tornado.web.RequestHandler):
    """Common behaviour; subclasses set ``tenant_scoped = False`` for unauthenticated endpoints."""

    tenant_scoped: ClassVar[bool] = True
    #: Whether the path's ``id`` is a user's: a refusal's activity entry is then named after that
    #: user when the request carried no userName (``/Users/{id}``).
    user_in_path: ClassVar[bool] = False
    #: The activity log's operation for a method, where it is not the method's usual one
    #: (:data:`OPERATIONS`): e.g. ``GET /Users`` is a search.
    operations: ClassVar[Mapping[str, str]] = {}

    def initialize(self, service: GatewayService, max_body_bytes: int) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.request_id = new_request_id()
        self.location = ""
        self.tenant = UNAUTHENTICATED  # set by prepare once the Secret Token is accepted
        self._chunks: list[bytes] = []
        self._size = 0
        self._prepared = False
        self.scim_type: str | None = None  # of the error answered, for the access line
        self._user_name: str | None = None
        self._inflight = InFlight(self.application)  # a graceful stop waits for these
        self.set_header("X-Request-Id", self.request_id)

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Type", SCIM_CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")
        if hasattr(self, "request_id"):
            self.set_header("X-Request-Id", self.request_id)

    def compute_etag(self) -> None:
        """No automatic ETag: a resource's ETag is its ``meta.version`` (RFC 7644 §3.14)."""
        return None

    def check_etag_header(self) -> bool:
        """Never a 304 of Tornado's own: ``If-None-Match`` is the service's rule (RFC 7644 §3.14,
        :mod:`gateway.scim.versions`), and without :meth:`compute_etag` Tornado's check never
        matches; skipping its header regex takes about 1.5 % off a filtered GET (py-spy)."""
        return False

    # -- before the body ------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Refuse oversized requests and authenticate, before any body byte is read."""
        if len(self.request.uri or "") > MAX_URL_BYTES:
            raise UriTooLong(f"The URL is {len(self.request.uri or '')} bytes long; at most {MAX_URL_BYTES} "
                                 "are accepted. Send a long filter in the body of POST .../Users/.search "
                                 "(RFC 7644 §3.4.3).")
        size = sum(len(name) + len(value) + 4 for name, value in self.request.headers.get_all())
        if size > MAX_HEADER_BYTES:
            raise HeadersTooLarge(f"The request headers are {size} bytes long; at most {MAX_HEADER_BYTES} "
                                 "are accepted.")
        if self.tenant_scoped:
            self.location = self.path_kwargs.get("location", "")
            self.tenant = await self.service.authenticate(
                self.location, self.request.headers.get("Authorization", ""),
                self.application.public_origin.for_request(self.request.remote_ip,  # type: ignore[attr-defined]
                                                           self.request.headers))
            self.service.admit(self.tenant)
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise TooLarge(_SIZE_TOO_LARGE.format(self.max_body_bytes))
        self._prepared = True

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.max_body_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    # -- reading the request ------------------------------------------------------------------
    def json_body(self) -> Any:
        """The request body as JSON; a 400/413/415 SCIM error for anything else."""
        if self._size > self.max_body_bytes:
            raise TooLarge(_SIZE_TOO_LARGE.format(self.max_body_bytes))
        _check_body_encoding(self.request.headers)
        raw = b"".join(self._chunks)
        if not raw.strip():
            raise InvalidSyntax("The request body is empty; a JSON object is required.")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float,
                              parse_int=_int64)
            if _ESCAPED_SURROGATE.search(raw) is not None:
                json.dumps(body, ensure_ascii=False).encode("utf-8")  # raises for a lone surrogate
            if _ESCAPED_NUL in raw and _holds_nul(body):
                raise InvalidValue("The request body holds NUL (\\u0000) in a string or a name: no directory "
                                   "stores it.")
            if isinstance(body, dict) and isinstance(body.get("userName"), str):
                self._user_name = body["userName"][:256]  # for a refusal's activity entry
            return body
        except UnicodeEncodeError:
            raise InvalidValue("The request body holds a lone UTF-16 surrogate escape (such as \\ud800): "
                               "JSON text must encode Unicode characters (RFC 8259 §8.2).") from None
        except UnicodeDecodeError:
            raise InvalidSyntax("The request body is not UTF-8 text.") from None
        except ProtocolError:
            raise
        except (ValueError, RecursionError) as exc:
            raise InvalidSyntax(f"The request body is not valid JSON: {str(exc)[:120]}") from None

    def query_params(self) -> dict[str, str]:
        """The query string as single values (the last one wins), UTF-8 decoded and surrounding
        whitespace stripped; unknown parameters are ignored (RFC 7644 §3.4.2; Note: Entra ID may
        append flags such as ``aadOptscim062020``). A control character (NUL, ``%01``...) is a 400:
        blanked, as Tornado's ``get_argument`` does, it silently changed a filter's value
        (``"a%00"`` searched for ``"a "``), where ``.search`` refuses the same text."""
        params: dict[str, str] = {}
        for name, values in self.request.query_arguments.items():
            try:
                text = values[-1].decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidValue(f"The query parameter {name[:40]!r} is not UTF-8 text.") from None
            if _CONTROL_CHARS.search(text) is not None:
                raise InvalidValue(f"The query parameter {name[:40]!r} holds a control character (such as NUL).")
            params[name] = text.strip()
        return params

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    # -- the answer ---------------------------------------------------------------------------
    def answer(self, result: Answer) -> None:
        """Write a service answer: status, headers, and the body as compact JSON (none for 204/304)."""
        self.set_status(result.status)
        for name, value in result.headers.items():
            self.set_header(name, value)
        if result.body is None or result.status in (204, 304):
            self.clear_header("Content-Type")
            self.finish()
        else:
            self.finish(encode_json(result.body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one place where a failure becomes an RFC 7644 §3.12 error body."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error = self._error_for(exc)
        self.scim_type = error.scim_type
        self.set_status(error.status)
        for name, value in error.headers.items():
            self.set_header(name, value)
        if not self._prepared:
            self.set_header("Connection", "close")  # answered before the body was read
        self.finish(json.dumps(error.body(), separators=(",", ":")).encode("utf-8"))

    def _error_for(self, exc: BaseException | None) -> ProtocolError:
        """:func:`_error_for`, with Tornado's own ``405`` (a method it does not route) answered as
        this endpoint answers a method it lacks (it listed every verb) when the method is one of
        HTTP's (TRACE, CONNECT), and ``501`` when it is none (RFC 9110 §9.1: PROPFIND, FOO)."""
        if isinstance(exc, tornado.web.HTTPError) and exc.status_code == 405:
            if self.request.method not in HTTP_METHODS:
                return NotImplementedHere(f"{shown_method(self.request.method)} is not a method this server "
                                          "implements.")
            return self.method_refusal()
        return _error_for(exc, self.request_id)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        """4xx and 501 at DEBUG (the access line gives their status and scimType), a 503 as one
        warning, a bug with its trace; never the request itself (its headers carry the Secret
        Token, its query personal data)."""
        error = self._error_for(value)
        if error.status < 500 or error.status == 501:  # 501: an endpoint not offered, by design
            log.debug("request %s: %s %s", self.request_id, error.status, error.scim_type or "-")
        elif value is not None and scim_error_for(value) is not None:
            log.warning("request %s: %s (%s)", self.request_id, error.status, cause(value))
        else:
            log.error("request %s failed", self.request_id, exc_info=(typ, value, tb))

    def on_finish(self) -> None:
        status = self.get_status()
        if status >= 400 and self.tenant_scoped and self.location:
            method = self.request.method or ""
            self.service.record_refusal(
                self.location, method, self.operations.get(method, OPERATIONS.get(method, "get")), status,
                self.scim_type, self.request_id, resource_id=self.path_kwargs.get("id"), user_name=self._user_name,
                resource_is_user=self.user_in_path,
                authenticated=self.tenant is not UNAUTHENTICATED)
        self._inflight.leave()

    def on_connection_close(self) -> None:
        """The client left before the answer, or Tornado dropped the connection over a body it
        could not read (bad chunked framing, a chunked body past its limit): nothing more to write,
        nothing in flight. Tornado's own method ends the body's wait, so that the request coroutine
        returns and lets go of the handler and the body buffered so far (without it both stayed
        in memory until the process stopped, even for a path that asks for no token)."""
        self._inflight.leave()
        super().on_connection_close()

    # -- verbs a handler lacks ------------------------------------------------------------------
    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The methods this endpoint answers, for ``Allow`` (RFC 9110 §10.2.1); HEAD wherever GET."""
        allowed = [name.upper() for name in VERBS if getattr(cls, name) is not getattr(ScimHandler, name)]
        if "GET" in allowed:
            allowed.insert(1, "HEAD")
        return allowed

    def method_refusal(self) -> ProtocolError:
        """The answer to a method HTTP defines that this endpoint lacks (OPTIONS, TRACE, CONNECT, a
        verb it does not serve): ``405`` with this endpoint's ``Allow`` (RFC 9110 §15.5.6)."""
        return MethodNotAllowed(f"{shown_method(self.request.method)} is not supported on {self.request.path[:200]}.",
                                headers={"Allow": ", ".join(self.allowed_methods())})

    def _not_allowed(self, *args: Any, **kwargs: Any) -> None:
        raise self.method_refusal()

    get = post = put = patch = delete = options = _not_allowed  # type: ignore[assignment]

    async def head(self, *args: str, **kwargs: str) -> None:
        """RFC 9110 §9.3.2: HEAD wherever GET is served, with GET's status and headers (Tornado's
        ``flush`` leaves the body out); 405 where GET is not."""
        if type(self).get is ScimHandler.get:
            self._not_allowed()
        answered = self.get(*args, **kwargs)  # type: ignore[func-returns-value]
        if inspect.isawaitable(answered):
            await answered


class NotFoundHandler(ScimHandler):
    """Any other path under a Tenant URL: a SCIM 404 for every method (a ``405`` offering methods
    that all answer ``404`` was no answer: an HTTP review), after authentication for every method
    a handler may define (TRACE and the like are answered before it, the same for every location)."""

    def method_refusal(self) -> ProtocolError:
        return NotFound(f"No SCIM endpoint at {self.request.path[:200]}.")


class UnknownPathHandler(NotFoundHandler):
    """A path outside every Tenant URL: the same 404, with nothing to authenticate against."""

    tenant_scoped = False


def _error_for(exc: BaseException | None, request_id: str) -> ProtocolError:
    """The SCIM error for what was raised (Tornado's own 400 included), else a 500."""
    if exc is not None:
        error = scim_error_for(exc)
        if error is not None:
            return error
        if isinstance(exc, tornado.web.HTTPError) and exc.status_code == 400:
            # Tornado's own refusal: a path value that is not UTF-8 after percent-decoding
            return InvalidValue("A value in the URL is not UTF-8 text after percent-decoding.")
    return InternalError(f"Internal error (request id {request_id}).")
