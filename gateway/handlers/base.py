"""The base of every SCIM handler: tenant authentication, bounded JSON bodies, SCIM answers.

A handler is a plain object made for one request by :class:`gateway.exchange.Exchange`, which
drives it: :meth:`ScimHandler.prepare` authenticates before any body byte is buffered,
:meth:`ScimHandler.data_received` buffers at most ``max_body_bytes``, the verb method (``get``,
``post``, ...) parses with :meth:`json_body` and records its answer with :meth:`write_scim` or
:meth:`finish`, and :meth:`render_error` turns any failure into an RFC 7644 §3.12 error.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import tornado.httputil

from adapters.base import ResourceAdapter
from adapters.errors import AdapterError
from gateway.context import GatewayContext
from gateway.errors import ERROR_URN, BadRequest, ScimError, Unauthorized, from_adapter_error
from gateway.tokens import InvalidToken

log = logging.getLogger("vizmo_scim.app")

SCIM_CONTENT_TYPE = "application/scim+json"
_ACCEPTED_BODY_TYPES = ("application/scim+json", "application/json")
#: The verbs a handler may define; any other method, or one the handler lacks, answers 405.
VERBS = ("get", "post", "put", "patch", "delete")
#: A ``\uD800``-``\uDFFF`` escape: only then can the parsed body hold a lone surrogate, which no
#: storage can encode (the body is checked in full only when one is present).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Control characters a query value must not carry (replaced by a space, as Tornado does).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one too large for a double (``1e400``) is refused rather than
    read as infinity, which no JSON answer could carry (RFC 8259 §6)."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


class ScimHandler:
    """Common behaviour; subclasses set ``tenant_scoped = False`` for unauthenticated endpoints."""

    tenant_scoped: ClassVar[bool] = True

    def __init__(self, ctx: GatewayContext, request: tornado.httputil.HTTPServerRequest,
                 path_kwargs: dict[str, str]) -> None:
        self.ctx = ctx
        self.request = request
        self.path_kwargs = path_kwargs
        self.request_id = secrets.token_hex(8)
        self.location_id = ""
        self.status = 200
        self.headers: dict[str, str] = {}
        self.body: bytes | None = None
        self.finished = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._reset_headers()

    def _reset_headers(self) -> None:
        self.headers = {"Content-Type": SCIM_CONTENT_TYPE, "Cache-Control": "no-store",
                        "X-Request-Id": self.request_id}

    # -- the request ---------------------------------------------------------------------
    async def prepare(self) -> None:
        """Before the body is read: authenticate, and refuse a declared body over the limit."""
        limit = self.ctx.config.max_body_bytes
        if self.tenant_scoped:
            self.location_id = self.path_kwargs.get("location", "")
            await self._authenticate()
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ScimError(413, f"The request body is larger than {limit} bytes.")

    async def _authenticate(self) -> None:
        """Accept only a valid, unrevoked Secret Token of the location in the URL.

        Every failure gets the same 401, so the answer reveals neither which locations exist
        nor why the token failed (RFC 6750 §3.1). Token ids are compared in constant time.
        """
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        try:
            claims = self.ctx.tokens.verify(token.strip())
        except InvalidToken:
            raise Unauthorized() from None
        if not hmac.compare_digest(claims.location_id.encode(), self.location_id.encode()):
            raise Unauthorized()
        if len(self.location_id) > 64:
            raise Unauthorized()
        try:
            active = await self.ctx.state.active_token_id(self.location_id)
        except AdapterError as exc:
            raise from_adapter_error(exc) from None
        if active is None or not hmac.compare_digest(active.encode(), claims.token_id.encode()):
            raise Unauthorized()

    def verb(self, method: str) -> Callable[..., Awaitable[None]] | None:
        """The coroutine method answering ``method``, or None (405)."""
        name = method.lower()
        return getattr(self, name, None) if name in VERBS else None

    def allowed_methods(self) -> list[str]:
        """The ``Allow`` header of a 405 (RFC 9110 §15.5.6)."""
        return [name.upper() for name in VERBS if hasattr(self, name)]

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.ctx.config.max_body_bytes:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    def json_body(self) -> Any:
        """The request body as JSON; a 400/413/415 SCIM error for anything else."""
        if self._too_large:
            raise ScimError(413, f"The request body is larger than {self.ctx.config.max_body_bytes} bytes.")
        content_type = self.request.headers.get("Content-Type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type and media_type not in _ACCEPTED_BODY_TYPES:
            raise ScimError(415, f"Send the body as application/scim+json, not {media_type[:60]}.")
        raw = b"".join(self._chunks)
        if not raw.strip():
            raise BadRequest("The request body is empty; a JSON object is required.", "invalidSyntax")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
            if _ESCAPED_SURROGATE.search(raw) is not None:
                json.dumps(body, ensure_ascii=False).encode("utf-8")  # raises for a lone surrogate
            return body
        except UnicodeEncodeError:
            raise BadRequest("The request body holds a lone UTF-16 surrogate escape (such as \\ud800): "
                             "JSON text must encode Unicode characters (RFC 8259 §8.2).", "invalidValue") from None
        except UnicodeDecodeError:
            raise BadRequest("The request body is not UTF-8 text.", "invalidSyntax") from None
        except (ValueError, RecursionError) as exc:
            raise BadRequest(f"The request body is not valid JSON: {str(exc)[:120]}", "invalidSyntax") from None

    def query_params(self) -> dict[str, str]:
        """The query string as single values (the last one wins), UTF-8 decoded, control
        characters blanked and surrounding whitespace stripped; unknown parameters are ignored
        (RFC 7644 §3.4.2; Note: Entra ID may append flags such as ``aadOptscim062020``)."""
        params: dict[str, str] = {}
        for name, values in self.request.query_arguments.items():
            try:
                text = values[-1].decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"The query parameter {name[:40]!r} is not UTF-8 text.", "invalidValue") from None
            params[name] = _CONTROL_CHARS.sub(" ", text).strip()
        return params

    @property
    def tenant_base_url(self) -> str:
        """This location's Tenant URL (``meta.location`` is built from it), from the configured
        origin, never from the request (``GatewayConfig.public_base_url``)."""
        return f"{self.ctx.base_url}/scim/v2/locations/{self.location_id}"

    def resource_adapter(self, resource_type: str) -> ResourceAdapter:
        try:
            return self.ctx.adapter.resource_adapter(resource_type, self.location_id)
        except AdapterError as exc:
            raise from_adapter_error(exc) from None

    # -- the answer (recorded here, sent by the exchange) ----------------------------------
    def set_status(self, status: int) -> None:
        self.status = status

    def set_header(self, name: str, value: str) -> None:
        self.headers[name] = value

    def clear_header(self, name: str) -> None:
        self.headers.pop(name, None)

    def finish(self, body: bytes | dict[str, Any] | None = None) -> None:
        """Record the body (a dict is sent as compact JSON); the answer is complete."""
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.body = body
        self.finished = True

    def write_scim(self, status: int, body: dict[str, Any] | None) -> None:
        self.set_status(status)
        if body is None:
            self.clear_header("Content-Type")
            self.finish()
            return
        version = (body.get("meta") or {}).get("version") if "Resources" not in body else None
        if version:
            self.set_header("ETag", version)
            if status == 200 and self.request.method == "GET" and _none_match(
                    self.request.headers.get("If-None-Match", ""), version):
                self.set_status(304)  # RFC 7644 §3.14: If-None-Match with the current version
                self.finish()
                return
        self.finish(body)

    def render_error(self, exc: BaseException) -> None:
        """Replace whatever was recorded with the RFC 7644 §3.12 error for ``exc`` and log it:
        4xx as one line without a stack, 5xx with the trace and the request id."""
        if isinstance(exc, ScimError):
            error = exc
        else:
            log.error("request %s failed", self.request_id, exc_info=exc)
            error = ScimError(500, f"Internal error (request id {self.request_id}).")
        if error.status_code < 500:
            log.info("request %s: %s %s", self.request_id, error.status_code, error.scim_type or "")
        elif error is exc:
            log.warning("request %s: %s", self.request_id, error.status_code)
        self._reset_headers()
        self.headers.update(error.headers)
        self.set_status(error.status_code)
        self.finish(error.body())


def _none_match(header: str, version: str) -> bool:
    """Whether an ``If-None-Match`` header names ``version`` (weak comparison, RFC 9110 §13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = version.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class NotFoundHandler(ScimHandler):
    """Any other path under a Tenant URL: a SCIM 404 after authentication."""

    async def _not_found(self, **path: str) -> None:
        raise ScimError(404, f"No SCIM endpoint at {self.request.path[:200]}.")

    get = post = put = patch = delete = _not_found


class UnknownPathHandler(NotFoundHandler):
    """A path outside every Tenant URL: the same 404, with nothing to authenticate against."""

    tenant_scoped = False


__all__ = ["ScimHandler", "NotFoundHandler", "UnknownPathHandler", "SCIM_CONTENT_TYPE", "ERROR_URN"]
