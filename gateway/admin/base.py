"""The base of every admin-page handler (``/admin``): sessions, cookies, XSRF, headers, errors.

- **XSRF**: every method other than GET/HEAD must carry Tornado's ``_xsrf`` token (form field or
  ``X-XSRFToken``) matching its ``_xsrf`` cookie (``check_xsrf_cookie``), checked first in
  ``prepare``. It is checked here rather than with the application-wide ``xsrf_cookies``
  setting, which would also demand it of the SCIM API (bearer tokens, no cookies).
- **Cookies** (the session and the XSRF cookie) are always ``HttpOnly``, ``SameSite=Strict``,
  ``Secure`` and ``Path=/admin``. Browsers keep a ``Secure`` cookie only from a secure origin:
  HTTPS, or a loopback host (``http://127.0.0.1``, ``http://localhost``, ``[::1]``), which
  Chromium treats as a potentially trustworthy origin (the W3C Secure Contexts rule; the browser
  tests sign in over ``http://127.0.0.1`` with Debian's Chromium). So the page works over HTTPS (the
  gateway's own TLS or a TLS proxy in front) or on loopback, and sign-in is refused, with a
  message saying so, on any other plain-HTTP origin, where the password would travel in clear.
- **Sessions**: a Tornado signed cookie (HMAC under the application's ``cookie_secret``,
  derived from the deployment's token-signing key: the same in every worker and host) holding
  the operator's name and session version (:class:`~gateway.admin.accounts.Session`), checked
  against the operator store on every request and valid for at most :data:`SESSION_HOURS`.
- A SCIM ``Authorization: Bearer`` header means nothing here: only the session cookie signs in.
- Errors are an HTML page with the status, a short message and, for a refused form (403), a link
  to what works: the form's page opened again (a stale XSRF token), or the sign-in page (no
  session); never a traceback, and never "reload", which would send the same POST again.
- Every page of a session names, on its ``<body>``, the page to load in its place when the
  browser restores it from the back-forward cache (``admin.js``): the session may have ended
  meanwhile, in another browser too.
"""

from __future__ import annotations

import hashlib
import inspect
import ipaddress
import logging
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import tornado.web

from adapters.errors import storage_unavailable
from adapters.operators import Operator
from gateway.admin.accounts import Session
from gateway.admin.context import AdminContext
from gateway.admin.integrations import Location
from gateway.errors import RETRY_AFTER_SECONDS
from gateway.inflight import InFlight
from gateway.request_ids import new_request_id

log = logging.getLogger("vizmo_scim.admin")

PACKAGE = Path(str(resources.files("gateway.admin")))
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
PREFIX = "/admin"
SESSION_COOKIE = "vizmo_admin_session"
SESSION_HOURS = 12
#: Everything the pages load comes from the gateway itself; no inline script, no framing.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: The forms whose page is the one above their path (see :meth:`AdminHandler.form_page`).
_FORMS_ON_THE_PAGE_ABOVE = ("/enable", "/sign-out")


@cache
def static_version(name: str) -> str:
    """A short hash of a static file, appended to its URL so a changed file is fetched anew."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def loopback_host(host_name: str) -> bool:
    """Whether browsers treat ``host_name`` as loopback (they keep ``Secure`` cookies over HTTP
    there): ``localhost`` and its subdomains, and loopback addresses (``127.0.0.1.example.com``
    is a name like any other)."""
    host = host_name.lower().rstrip(".")
    if host in _LOOPBACK or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SessionEnded(tornado.web.HTTPError):
    """A form sent without a session (signed out, in this browser or another, or expired): 403."""

    def __init__(self) -> None:
        super().__init__(403, reason="Sign in first")


class AdminHandler(tornado.web.RequestHandler):
    """Base of the admin handlers: ``self.operator`` is the signed-in operator or None."""

    def initialize(self, admin: AdminContext) -> None:
        self.admin = admin
        self.operator: Operator | None = None
        self.request_id = new_request_id()
        self.set_header("X-Request-Id", self.request_id)
        self._inflight = InFlight(self.application)  # a graceful stop waits for these too, a CSV export included

    def on_finish(self) -> None:
        self._inflight.leave()

    def on_connection_close(self) -> None:
        self._inflight.leave()
        super().on_connection_close()

    def compute_etag(self) -> None:
        """No ETag: the pages change with every request that changes the state, and are not cached."""
        return None

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")  # pages may show a Secret Token once
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        if hasattr(self, "request_id"):
            self.set_header("X-Request-Id", self.request_id)

    # -- templates ------------------------------------------------------------------------------
    async def head(self, *args: str, **kwargs: str) -> None:
        """RFC 9110 §9.3.2: HEAD wherever GET is served (Tornado leaves the body out); 405 where
        it is not, as before."""
        answered = self.get(*args, **kwargs)  # type: ignore[func-returns-value]
        if inspect.isawaitable(answered):
            await answered

    def get_template_path(self) -> str:
        return str(TEMPLATES)

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(static=lambda name: f"{PREFIX}/static/{name}?v={static_version(name)}",
                         url=self.url, operator=self.operator, fresh_page=self.fresh_page())
        return namespace

    def form_page(self) -> str:
        """The page of the form posted here: the page above for *Enable SCIM* (on the location's
        page) and *Sign out* (on every page: ``/admin``, the locations), else this path, where
        GET shows the form (the rotate and remove questions, the sign-in page)."""
        path = self.request.path
        if path.endswith(_FORMS_ON_THE_PAGE_ABOVE):
            return path.rsplit("/", 1)[0] or PREFIX
        return path

    def fresh_page(self) -> str:
        """The page ``admin.js`` loads instead of this one when the browser restores it from the
        back-forward cache: itself when it answered a GET; else (the answer to a form, such as a
        Secret Token shown once) the page above the form's path, never the form sent again."""
        if self.request.method in ("GET", "HEAD"):
            return self.request.uri or PREFIX
        return self.request.path.rsplit("/", 1)[0] or PREFIX

    @staticmethod
    def url(path: str, args: dict[str, str] | None = None) -> str:
        """``/admin`` + ``path``, with a query string from ``args``."""
        return PREFIX + path + (f"?{urlencode(args)}" if args else "")

    # -- cookies --------------------------------------------------------------------------------
    def set_cookie(self, name: str, value: str | bytes, domain: str | None = None, expires: Any = None,
                   path: str = "/", expires_days: float | None = None, **kwargs: Any) -> None:
        """Every cookie of the page: HttpOnly, SameSite=Strict, Secure, only for ``/admin``."""
        kwargs.update(httponly=True, samesite="Strict", secure=True)
        super().set_cookie(name, value, None, expires, PREFIX, expires_days, **kwargs)

    def secure_origin(self) -> bool:
        """Whether the browser keeps this page's ``Secure`` cookies: HTTPS (to the gateway, to the
        TLS proxy its ``base_url`` names, or to a trusted proxy that says ``X-Forwarded-Proto:
        https``, as :mod:`gateway.forwarded` reads it for the Tenant URL) or a loopback host."""
        origin = self.application.public_origin.for_request(  # type: ignore[attr-defined]
            self.request.remote_ip, self.request.headers)
        return (self.request.protocol == "https" or self.admin.base_url.startswith("https://")
                or origin.startswith("https://") or loopback_host(self.request.host_name))

    def start_session(self, operator: Operator) -> None:
        self.set_signed_cookie(SESSION_COOKIE, Session(operator.name, operator.session_version).encode(),
                               expires_days=None)  # a browser-session cookie; the signature expires it

    def end_session(self) -> None:
        self.clear_cookie(SESSION_COOKIE)

    # -- every request --------------------------------------------------------------------------
    async def prepare(self) -> None:
        if self.request.method not in ("GET", "HEAD"):
            self.check_xsrf_cookie()  # raises 403 without a matching _xsrf
        raw = self.get_signed_cookie(SESSION_COOKIE, max_age_days=SESSION_HOURS / 24)
        self.operator = await self.admin.accounts.resume(Session.decode(raw))
        self.current_user = self.operator

    def get_login_url(self) -> str:
        return PREFIX + "/sign-in"

    def require_operator(self) -> Operator:
        """The signed-in operator: GET goes to the sign-in page, anything else is 403."""
        if self.operator is None:
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.url("/sign-in", {"next": self.request.uri or PREFIX}))
                raise tornado.web.Finish()
            raise SessionEnded()
        return self.operator

    async def visible_location(self, location: str) -> Location:
        """The location if the operator may see it; the same 404 for one that does not exist."""
        found = await self.admin.integrations.location(self.require_operator(), location)
        if found is None:
            raise tornado.web.HTTPError(404)
        return found

    # -- errors ---------------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if _unavailable(kwargs.get("exc_info")):  # the storage down or too slow: a 503, as SCIM answers it
            status_code = 503
            self.set_status(503)
            self.set_header("Retry-After", RETRY_AFTER_SECONDS)
        messages = {404: "There is no such page, or you may not see it.",
                    405: "This page does not accept that kind of request.",
                    413: "What was sent is larger than this page accepts.",
                    503: "The directory is unavailable for a moment. Try again shortly."}
        otherwise = ("This request could not be understood. Go back, reload the page and try again."
                     if status_code < 500 else "Something went wrong on our side. Try again in a moment.")
        message = messages.get(status_code, otherwise)
        link = None
        if status_code == 403:  # "reload" would send the same form again: say what works instead
            message, link = self._refused_form(kwargs.get("exc_info"))
        self.clear_header("Location")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.render("error.html", status=status_code, reason=self._reason, message=message, link=link)

    def _refused_form(self, exc_info: Any) -> tuple[str, tuple[str, str]]:
        """A 403's message and its link (text, address): sign in again when there is no session;
        else the form's token did not match (a page opened before the token changed, or the
        XSRF cookie gone): open the form's page again, which brings a fresh token."""
        page = self.form_page()
        if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], SessionEnded):
            return ("Your session has ended: sign in again. Nothing was changed.",
                    ("Sign in again", self.url("/sign-in", {"next": page})))
        if page == PREFIX + "/sign-in":  # the sign-in form's page again, leading where it led
            try:
                target = self.get_body_argument("next", "")[:2000]
            except tornado.web.HTTPError:  # a value that is not UTF-8: no target
                target = ""
            page = self.url("/sign-in", {"next": target} if target else None)
        return ("This form was sent from a page that is out of date, so nothing was changed. Open the page again "
                "and send the form from there.", ("Open the page again", page))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError) and value.status_code < 500:
            log.info("admin request %s: %s", self.request_id, value.status_code)
        elif _unavailable((typ, value, tb)):
            log.warning("admin request %s: 503 (%s)", self.request_id, value)
        else:
            log.error("admin request %s failed", self.request_id, exc_info=(typ, value, tb))


class AdminNotFoundHandler(AdminHandler):
    """Any other path under ``/admin``: the page's own 404."""

    async def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def _unavailable(exc_info: Any) -> bool:
    """Whether a handler failed because the storage is down or too slow: the page answered 500
    and logged a trace where the SCIM endpoints answer 503 (a scale-out review); the same rule
    as theirs (:func:`adapters.errors.storage_unavailable`)."""
    return isinstance(exc_info, tuple) and len(exc_info) == 3 and storage_unavailable(exc_info[1])
