"""Sign-in and sign-out of the admin page (operator accounts: ``vizmo-scim admin add``).

On an origin where the browser would drop the page's ``Secure`` cookies (plain HTTP, not
loopback: :meth:`~gateway.admin.base.AdminHandler.secure_origin`) the sign-in page has no form
at all, so that no password is ever typed into it and sent in clear. Sign-out answers with
``Clear-Site-Data: "cache"``: the browser drops what it kept of the admin pages (its back-forward
cache included), so *Back* does not show them again.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from gateway.admin.accounts import LOCK_AFTER, LOCK_MINUTES
from gateway.admin.base import PREFIX, AdminHandler
from gateway.admin.context import SIGN_IN_BURST, SIGN_IN_EVERY
from gateway.rate_limit import retry_after

log = logging.getLogger("vizmo_scim.admin")

#: The one answer to every failed sign-in: it does not tell an unknown name from a wrong
#: password or a locked account.
FAILED = (f"Sign-in failed. Check the user name and password. After {LOCK_AFTER} failed attempts in a row an "
          f"account is locked for {LOCK_MINUTES} minutes.")
THROTTLED = (f"Too many sign-in attempts from your address: at most {SIGN_IN_BURST} at once, then one every "
             f"{SIGN_IN_EVERY:g} seconds. Try again in {{}} seconds.")
INSECURE = ("This page must be opened over HTTPS (or on this machine's loopback address): browsers keep its "
            "sign-in cookie only there, and the password must not travel in clear. Put TLS in front of the "
            "gateway (a proxy listed in trusted_proxies that sends X-Forwarded-Proto: https, or a base_url "
            "starting with https://), or serve it with --certfile and --keyfile.")


def _next_page(target: str) -> str:
    """Where to go after signing in: a page of ``/admin`` only (never another site), percent-
    encoded where a ``Location`` header could not carry it (a CR/LF was a 500, found by fuzzing;
    non-ASCII came back as mojibake)."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return quote(target, safe="/?&=%:@-._~!$'()*+,;")
    return PREFIX + "/locations"


class SignInHandler(AdminHandler):
    def get(self) -> None:
        if self.operator is not None:
            self.redirect(_next_page(self.get_query_argument("next", "")))
            return
        signed_out = self.get_query_argument("signed_out", "") == "1"
        secure = self.secure_origin()
        self.render("sign_in.html", error=None if secure else INSECURE, signed_out=signed_out, secure=secure,
                    next=self.get_query_argument("next", ""), user="", failed=False)

    async def post(self) -> None:
        name = self.get_body_argument("user", "")[:200]
        password = self.get_body_argument("password", "")
        target = self.get_body_argument("next", "")
        if not self.secure_origin():
            self.set_status(400)
            self.render("sign_in.html", error=INSECURE, signed_out=False, secure=False, next=target, user=name,
                        failed=False)
            return
        client = self.application.public_origin.client(  # type: ignore[attr-defined]
            self.request.remote_ip, self.request.headers)
        wait = self.admin.sign_ins.take(client)
        if wait > 0:  # before any password is verified: each costs about 0.1 s of CPU
            log.info("admin sign-in throttled (request %s)", self.request_id)
            self.set_status(429)
            self.set_header("Retry-After", retry_after(wait))
            self.render("sign_in.html", error=THROTTLED.format(retry_after(wait)), signed_out=False, secure=True,
                        next=target, user=name, failed=False)
            return
        operator = await self.admin.accounts.sign_in(name, password)
        if operator is None:
            log.info("admin sign-in refused (request %s)", self.request_id)
            # failed: the fields are marked invalid and the cursor goes back to them (WCAG 2.1 SC 3.3.1)
            self.render("sign_in.html", error=FAILED, signed_out=False, secure=True, next=target, user=name,
                        failed=True)
            return
        log.info("admin sign-in: %s", operator.name)
        # Only failures count: colleagues behind one address (an office's NAT) signing in are
        # not throttled (a review: the eleventh successful sign-in from one address was a 429).
        if self.admin.sign_in_successes.take(f"{client}\x00{operator.name}") == 0:
            self.admin.sign_ins.give_back(client)
        self.start_session(operator)
        self.redirect(_next_page(target), status=303)


class SignOutHandler(AdminHandler):
    async def post(self) -> None:
        operator = self.operator
        if operator is not None:
            await self.admin.accounts.sign_out(operator)  # every session of the account ends
            log.info("admin sign-out: %s", operator.name)
        self.end_session()
        self.set_header("Clear-Site-Data", '"cache"')  # Back must not show the pages of the session again
        self.redirect(self.url("/sign-in", {"signed_out": "1"}), status=303)


class HomeHandler(AdminHandler):
    def get(self) -> None:
        self.redirect(PREFIX + "/locations")
