"""The base of every SCIM handler: tenant authentication, bounded JSON bodies, SCIM errors.

Lifecycle (Tornado ``web.py``): ``prepare`` authenticates before any body byte is buffered
(the class streams the body), ``data_received`` buffers at most ``max_body_bytes``, the verb
method parses with :meth:`json_body`, and ``write_error`` renders every failure as an
RFC 7644 §3.12 error with ``Content-Type: application/scim+json``.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Any

import tornado.web

from adapters.base import ResourceAdapter
from adapters.errors import AdapterError
from gateway.context import GatewayContext
from gateway.errors import ERROR_URN, BadRequest, ScimError, Unauthorized, from_adapter_error
from gateway.tokens import InvalidToken

log = logging.getLogger("vizmo_scim.app")

SCIM_CONTENT_TYPE = "application/scim+json"
_ACCEPTED_BODY_TYPES = ("application/scim+json", "application/json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@tornado.web.stream_request_body
class ScimHandler(tornado.web.RequestHandler):
    """Common behaviour; subclasses set ``tenant_scoped = False`` for unauthenticated endpoints."""

    tenant_scoped = True

    def initialize(self, ctx: GatewayContext) -> None:
        self.ctx = ctx
        self.request_id = secrets.token_hex(8)
        self.location_id = ""
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._counted = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", SCIM_CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")

    async def prepare(self) -> None:
        self.ctx.inflight += 1  # a graceful stop waits for these (gateway.cli)
        self._counted = True
        self.set_header("X-Request-Id", self.request_id)
        limit = self.ctx.config.max_body_bytes
        self.request.connection.set_max_body_size(limit * 4)  # type: ignore[union-attr]
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

    def on_finish(self) -> None:
        if self._counted:
            self.ctx.inflight -= 1
            self._counted = False

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
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise BadRequest("The request body is not UTF-8 text.", "invalidSyntax") from None
        except (ValueError, RecursionError) as exc:
            raise BadRequest(f"The request body is not valid JSON: {str(exc)[:120]}", "invalidSyntax") from None

    def query_params(self) -> dict[str, str]:
        """The query string as single values (the last one wins); unknown parameters are ignored
        (RFC 7644 §3.4.2; Note: Entra ID may append flags such as ``aadOptscim062020``)."""
        return {name: self.get_query_argument(name) for name in self.request.query_arguments}

    @property
    def tenant_base_url(self) -> str:
        """The Tenant URL as the client used it (``meta.location`` is built from it)."""
        base = self.ctx.config.base_url or f"{self.request.protocol}://{self.request.host}"
        return f"{base}/scim/v2/locations/{self.location_id}"

    def resource_adapter(self, resource_type: str) -> ResourceAdapter:
        try:
            return self.ctx.adapter.resource_adapter(resource_type, self.location_id)
        except AdapterError as exc:
            raise from_adapter_error(exc) from None

    def write_scim(self, status: int, body: dict[str, Any] | None) -> None:
        self.set_status(status)
        if body is None:
            self.clear_header("Content-Type")
            self.finish()
            return
        version = (body.get("meta") or {}).get("version") if "Resources" not in body else None
        if version:
            self.set_header("ETag", version)
            if status == 200 and self.request.method == "GET" and self.check_etag_header():
                self.set_status(304)  # RFC 7644 §3.14: If-None-Match with the current version
                self.finish()
                return
        self.finish(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    def compute_etag(self) -> None:
        """No body-hash ETag from Tornado: resources carry ``meta.version`` as their ETag, and
        hashing every list response would cost CPU on the hot path for nothing."""
        return None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ScimError):
            error = exc
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            error = ScimError(status_code, self._reason or "The request was not accepted.")
        else:
            log.error("request %s failed with %s", self.request_id, status_code, exc_info=kwargs.get("exc_info"))
            error = ScimError(500, f"Internal error (request id {self.request_id}).")
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", SCIM_CONTENT_TYPE)
        self.finish(json.dumps(error.body(), separators=(",", ":")))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """4xx: one line without a stack; 5xx: the trace with the request id (ARCHITECTURE.md)."""
        if isinstance(value, tornado.web.HTTPError) and value.status_code < 500:
            log.info("request %s: %s %s", self.request_id, value.status_code,
                     getattr(value, "scim_type", None) or "")
        elif isinstance(value, ScimError):
            log.warning("request %s: %s", self.request_id, value.status_code)
        else:
            log.error("request %s failed", self.request_id, exc_info=(typ, value, tb))


class NotFoundHandler(ScimHandler):
    """Any other path: a SCIM 404 (after authentication when the path names a tenant)."""

    def initialize(self, ctx: GatewayContext, tenant_scoped: bool = True) -> None:  # type: ignore[override]
        super().initialize(ctx)
        self.tenant_scoped = tenant_scoped

    def _not_found(self, *args: Any, **kwargs: Any) -> None:
        raise ScimError(404, f"No SCIM endpoint at {self.request.path[:200]}.")

    get = post = put = patch = delete = _not_found


__all__ = ["ScimHandler", "NotFoundHandler", "SCIM_CONTENT_TYPE", "ERROR_URN"]
