"""The admin page over real HTTP against a real ``vizmo-scim serve`` (issue 15 §2): cookie flags,
XSRF on every form, the lock-out, sessions that end, the separation of Secret Tokens and
admin sessions, and a location-scoped operator's 404s."""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

from gateway.admin.context import SIGN_IN_BURST
from tests.admin_support import (PASSWORD, AdminClient, AdminGateway, Answer, add_operator, admin_gateway,  # noqa: F401
                                 integrations)
from tests.serving import CORE, Server, cli

SESSION = "vizmo_admin_session"
FAILED = "Sign-in failed."


def scim(port: int, method: str, path: str, token: str | None = None, body: object = None,
         headers: dict[str, str] | None = None) -> int:
    sent = {"Content-Type": "application/scim+json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/scim/v2/locations/1{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(), headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def enable(client: AdminClient, location: str) -> str:
    """Enable SCIM through the page; the Secret Token it shows."""
    answer = client.post(f"/admin/locations/{location}/enable", {}, form_page=f"/admin/locations/{location}")
    assert answer.status == 200, answer.body
    match = re.search(r'<textarea id="secret-token"[^>]*>([^<]+)</textarea>', answer.body)
    assert match is not None
    return match.group(1).strip()


def test_cookies_are_httponly_samesite_strict_secure_and_only_for_admin(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    page = client.get("/admin/sign-in")
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset, kind in (("admin.css", "text/css"), ("admin.js", "javascript")):  # the page's files too
        served = client.get(f"/admin/static/{asset}")
        assert served.status == 200 and kind in served.headers["Content-Type"], asset
        assert served.headers["X-Content-Type-Options"] == "nosniff", asset
    signed_in = client.sign_in("alice")
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/admin/locations"
    cookies = {**page.cookies(), **signed_in.cookies()}
    assert set(cookies) == {"_xsrf", SESSION}
    for header in cookies.values():
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
        assert {"httponly", "secure", "samesite", "path"} <= attributes.keys(), header
        assert attributes["samesite"] == "SameSite=Strict" and attributes["path"] == "Path=/admin", header
        assert "expires" not in attributes and "max-age" not in attributes or header.startswith("_xsrf"), header
    assert PASSWORD not in signed_in.cookies()[SESSION]
    assert client.get("/admin/locations").status == 200


def test_a_post_without_the_xsrf_token_is_refused_and_changes_nothing(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    client.get("/admin/sign-in")  # the XSRF cookie, but no form field
    refused = client.request("POST", "/admin/sign-in", {"user": "alice", "password": PASSWORD})
    assert refused.status == 403 and SESSION not in refused.cookies()
    assert client.sign_in("alice").status == 303
    for fields in ({}, {"_xsrf": "2|00000000|00000000000000000000000000000000|1"}):
        answer = client.request("POST", "/admin/locations/1/enable", fields)
        assert answer.status == 403, answer.body
        assert "Traceback" not in answer.body
    assert integrations(admin_gateway.data_dir) == []
    # A token from another browser (its own XSRF cookie) does not match this one's cookie.
    other = admin_gateway.client()
    foreign = other.xsrf()
    assert client.request("POST", "/admin/locations/1/enable", {"_xsrf": foreign}).status == 403
    assert integrations(admin_gateway.data_dir) == []
    assert enable(client, "1")  # with its own token the same form works


def test_five_failures_lock_the_account_with_the_same_answer_as_an_unknown_user(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    unknown = client.sign_in("mallory")
    assert unknown.status == 200 and FAILED in unknown.body and SESSION not in unknown.cookies()
    for _ in range(5):
        wrong = client.sign_in("alice", "not the password at all")
        assert wrong.status == 200 and FAILED in wrong.body
    locked = client.sign_in("alice")  # the right password, now refused
    assert locked.status == 200 and SESSION not in locked.cookies()
    strip = lambda body: re.sub(r'name="_xsrf" value="[^"]+"|value="[^"]*"', "", body)  # noqa: E731
    assert strip(locked.body) == strip(unknown.body)  # the same page: it tells nothing
    listed = cli("admin", "list", "--data-dir", str(admin_gateway.data_dir))
    assert re.search(r"^alice\tall locations\tlocked until \d{4}-", listed.stdout, flags=re.M), listed.stdout
    assert admin_gateway.client().sign_in("bob").status == 303  # other accounts are not locked
    add_operator(admin_gateway.data_dir, "alice")  # a new password clears the lock-out
    assert admin_gateway.client().sign_in("alice").status == 303


def test_guesses_sent_at_once_are_checked_only_as_far_as_the_lock_allows(admin_gateway: AdminGateway) -> None:
    """59 wrong passwords and the right one sent together (from addresses enough to stay under
    the per-address limit) signed in: each was judged against the account as read before any
    had failed (a security review). An attempt is now counted before its password is checked,
    so while five are under way a sixth is refused, the right password too."""
    import threading
    answers: list[int] = []

    def guess(password: str, source: str) -> None:
        answers.append(AdminClient(admin_gateway.port, source=source).sign_in("alice", password).status)

    wrong = [threading.Thread(target=guess, args=(f"wrong guess number {n}", f"127.0.0.{2 + n}")) for n in range(5)]
    for thread in wrong:
        thread.start()

    def counted() -> int:  # attempts counted for alice: the five, while their hashes are checked
        conn = sqlite3.connect(admin_gateway.data_dir / "directory.db")
        try:
            return int(conn.execute("SELECT failed_attempts FROM scim_operators WHERE name = 'alice'").fetchone()[0])
        finally:
            conn.close()
    deadline = time.monotonic() + 30
    while counted() < 5 and len(answers) < 5 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert counted() == 5, "the five attempts were not counted while under way"  # (each takes a scrypt hash)
    right = AdminClient(admin_gateway.port, source="127.0.0.9").sign_in("alice")
    for thread in wrong:
        thread.join(timeout=60)
    assert right.status == 200 and SESSION not in right.cookies(), right.status
    assert answers == [200] * 5
    listed = cli("admin", "list", "--data-dir", str(admin_gateway.data_dir))
    assert re.search(r"^alice\tall locations\tlocked until \d{4}-", listed.stdout, flags=re.M), listed.stdout


def test_an_account_added_again_does_not_accept_the_old_accounts_sessions(admin_gateway: AdminGateway) -> None:
    """Session versions started at 1 for every new account: a cookie of a removed account opened
    the account added again under its name, with the new account's locations (a security review)."""
    old = admin_gateway.client()
    assert old.sign_in("bob").status == 303 and old.get("/admin/locations").status == 200
    assert cli("admin", "remove", "bob", "--data-dir", str(admin_gateway.data_dir)).returncode == 0
    add_operator(admin_gateway.data_dir, "bob")  # the name given again, with every location
    again = old.get("/admin/locations")
    assert again.status == 302 and again.headers["Location"].startswith("/admin/sign-in?next="), again.status
    assert admin_gateway.client().sign_in("bob").status == 303


def test_a_next_page_with_line_breaks_or_non_ascii_is_encoded_not_a_500(admin_gateway: AdminGateway) -> None:
    """``next`` is echoed into the redirect's Location: a CR/LF there was a 500 after the sign-in had
    set its cookie, and a non-ASCII page came back as mojibake (found by fuzzing)."""
    client = admin_gateway.client()
    signed_in = client.post("/admin/sign-in", {"user": "alice", "password": PASSWORD,
                                               "next": "/admin/\r\nSet-Cookie: x=1"})
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/admin/%0D%0ASet-Cookie:%20x=1"
    assert "x" not in client.cookies
    again = client.get("/admin/sign-in?next=/admin/%0D%0ASet-Cookie:x")  # signed in: straight to next
    assert again.status == 302 and again.headers["Location"] == "/admin/%0D%0ASet-Cookie:x"
    accented = client.get("/admin/sign-in?next=/admin/%C3%A9")
    assert accented.status == 302 and accented.headers["Location"] == "/admin/%C3%A9"


def test_sign_out_remove_and_a_new_password_end_sessions(admin_gateway: AdminGateway) -> None:
    first, second = admin_gateway.client(), admin_gateway.client()
    assert first.sign_in("alice").status == 303 and second.sign_in("alice").status == 303
    stolen = dict(first.cookies)
    out = first.post("/admin/sign-out", {}, form_page="/admin/locations")
    assert out.status == 303 and out.headers["Location"] == "/admin/sign-in?signed_out=1"
    assert SESSION not in first.cookies
    for cookies in (stolen, second.cookies):  # sign-out ends every session of the account
        again = AdminClient(admin_gateway.port, dict(cookies)).get("/admin/locations")
        assert again.status == 302 and again.headers["Location"].startswith("/admin/sign-in?next=")
    third = admin_gateway.client()
    assert third.sign_in("bob").status == 303 and third.get("/admin/locations").status == 200
    add_operator(admin_gateway.data_dir, "bob", "2", password="another long password")
    assert third.get("/admin/locations").status == 302
    assert third.sign_in("bob", "another long password").status == 303
    assert cli("admin", "remove", "bob", "--data-dir", str(admin_gateway.data_dir)).returncode == 0
    assert third.get("/admin/locations").status == 302
    assert FAILED in third.sign_in("bob", "another long password").body


def test_a_secret_token_never_opens_admin_and_a_session_never_authorises_scim(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    token = enable(client, "1")
    assert scim(admin_gateway.port, "GET", "/Users", token) == 200
    bearer = AdminClient(admin_gateway.port)
    for path in ("/admin/locations", "/admin/locations/1", "/admin/locations/1/activity.csv"):
        answer = bearer.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 302 and answer.headers["Location"].startswith("/admin/sign-in"), path
    xsrf = bearer.xsrf()
    rotate = bearer.request("POST", "/admin/locations/1/rotate", {"_xsrf": xsrf},
                            headers={"Authorization": f"Bearer {token}"})
    assert rotate.status == 403
    assert scim(admin_gateway.port, "GET", "/Users", token) == 200  # not rotated
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    user = {"schemas": [CORE], "userName": "cookie@example.com"}
    assert scim(admin_gateway.port, "GET", "/Users", headers={"Cookie": cookie}) == 401
    assert scim(admin_gateway.port, "POST", "/Users", body=user, headers={"Cookie": cookie}) == 401
    assert scim(admin_gateway.port, "POST", "/Users", "not-a-token", user, headers={"Cookie": cookie}) == 401
    # SCIM writes need no XSRF token (bearer-token API): unchanged by the admin page.
    assert scim(admin_gateway.port, "POST", "/Users", token, user) == 201


def test_a_rotate_form_sent_again_is_refused_and_the_newest_token_keeps_working(admin_gateway: AdminGateway) -> None:
    """Reloading the page that shows a new Secret Token sends its rotate form again (so would a
    second tab, or another operator's older page): that must not silently void the token the
    operator just pasted into Entra ID."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    not_enabled = client.get("/admin/locations/1/rotate")  # nothing to rotate: back to the location's page
    assert not_enabled.status == 302 and not_enabled.headers["Location"] == "/admin/locations/1"
    first = enable(client, "1")
    assert 'action="/admin/locations/1/rotate"' not in client.get("/admin/locations/1").body  # one press rotated
    form = client.hidden_fields("/admin/locations/1/rotate", "/admin/locations/1/rotate")  # the confirmation page
    assert set(form) == {"_xsrf", "current", "confirm"} and first not in form["current"]
    unconfirmed = client.request("POST", "/admin/locations/1/rotate", {**form, "confirm": ""})
    assert unconfirmed.status == 303 and unconfirmed.headers["Location"] == "/admin/locations/1/rotate"
    assert scim(admin_gateway.port, "GET", "/Users", first) == 200  # not rotated
    rotated = client.request("POST", "/admin/locations/1/rotate", form)
    assert rotated.status == 200 and "SCIM Secret Token rotated" in rotated.body
    second = re.search(r'<textarea id="secret-token"[^>]*>([^<]+)</textarea>', rotated.body)
    assert second is not None
    assert scim(admin_gateway.port, "GET", "/Users", first) == 401
    assert scim(admin_gateway.port, "GET", "/Users", second.group(1).strip()) == 200

    again = client.request("POST", "/admin/locations/1/rotate", form)  # the reload
    assert again.status == 409
    assert "Nothing was changed" in again.body and 'id="secret-token"' not in again.body
    assert scim(admin_gateway.port, "GET", "/Users", second.group(1).strip()) == 200  # not voided
    no_mark = {"_xsrf": form["_xsrf"], "confirm": "rotate"}  # a form naming no token
    assert client.request("POST", "/admin/locations/1/rotate", no_mark).status == 409

    third = client.post("/admin/locations/1/rotate", {}, form_page="/admin/locations/1/rotate")  # the page as it is now
    assert third.status == 200 and 'id="secret-token"' in third.body
    assert scim(admin_gateway.port, "GET", "/Users", second.group(1).strip()) == 401


def test_a_location_scoped_operator_gets_404_for_other_locations(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    assert client.sign_in("bob").status == 303
    listing = client.get("/admin/locations")
    assert 'id="location-2"' in listing.body and 'id="location-1"' not in listing.body and "Delhi" not in listing.body
    xsrf = client.xsrf("/admin/locations/2")
    for path in ("/admin/locations/1", "/admin/locations/1/activity", "/admin/locations/1/activity.csv",
                 "/admin/locations/1/remove", "/admin/locations/99"):
        answer = client.get(path)
        assert answer.status == 404 and "Delhi" not in answer.body, path
    for action in ("enable", "rotate", "remove"):
        answer = client.request("POST", f"/admin/locations/1/{action}", {"_xsrf": xsrf, "confirm": "remove"})
        assert answer.status == 404, action
    assert integrations(admin_gateway.data_dir) == []
    opened = client.get("/admin/open-location?id=1")  # the list's "open by id" form leads to the same 404
    assert opened.status == 302 and opened.headers["Location"] == "/admin/locations/1"
    assert client.get("/admin/open-location?id=..%2Fsign-out").status == 404
    assert enable(client, "2")
    assert integrations(admin_gateway.data_dir) == ["2"]


def test_the_csv_export_is_real_csv_with_formulas_defused(admin_gateway: AdminGateway) -> None:
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    token = enable(client, "1")
    names = ["=HYPERLINK(\"http://x\")@example.com", "+sum@example.com", "-minus@example.com", "plain,\"quoted\"@x.com"]
    for name in names:
        assert scim(admin_gateway.port, "POST", "/Users", token, {"schemas": [CORE], "userName": name}) == 201
    answer = client.get("/admin/locations/1/activity.csv")
    assert answer.status == 200 and answer.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="location-1-activity.csv"'
    rows = list(csv.reader(io.StringIO(answer.body)))
    assert rows[0] == ["time", "location_id", "method", "operation", "resource_id", "user_name", "attributes",
                       "status", "scim_type", "request_id"]
    users = [row[5] for row in rows[1:]]
    assert users == ["plain,\"quoted\"@x.com", "'-minus@example.com", "'+sum@example.com",
                     "'=HYPERLINK(\"http://x\")@example.com"]  # newest first
    assert all(row[1] == "1" and row[2] == "POST" and row[7] == "201" for row in rows[1:])
    only = list(csv.reader(io.StringIO(client.get("/admin/locations/1/activity.csv?user=%2Bsum%40example.com").body)))
    assert [row[5] for row in only[1:]] == ["'+sum@example.com"]


def test_behind_a_trusted_proxy_the_page_shows_the_tenant_url_of_the_forwarded_origin(
        admin_gateway: AdminGateway, tmp_path: Path) -> None:
    """The page builds the Tenant URL as the SCIM endpoints build ``meta.location``: from a
    trusted proxy's ``X-Forwarded-Proto``/``-Host``, and from neither when the peer is not one."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.corp.example"}
    config = tmp_path / "proxied.toml"
    config.write_text('[server]\ntrusted_proxies = ["127.0.0.1/32"]\n')
    proxied = Server(admin_gateway.data_dir, "--config", str(config))
    proxied.start()
    try:
        client = AdminClient(proxied.port, host="gateway.internal:8080", headers=forwarded)
        assert client.sign_in("alice").status == 303  # HTTPS as the proxy says, so sign-in is allowed
        credentials = client.post("/admin/locations/1/enable", {}, form_page="/admin/locations/1")
        tenant_url = re.search(r'id="tenant-url"[^>]*value="([^"]+)"', credentials.body)
        assert tenant_url is not None and tenant_url.group(1) == "https://scim.corp.example/scim/v2/locations/1"
        assert "https://scim.corp.example/scim/v2/locations/1" in client.get("/admin/locations/1").body
    finally:
        proxied.stop()
    untrusted = AdminClient(admin_gateway.port, host="gateway.internal:8080", headers=forwarded)
    assert "must be opened over HTTPS" in untrusted.get("/admin/sign-in").body  # the headers are not believed
    local = admin_gateway.client()
    fields = {"_xsrf": local.xsrf(), "user": "alice", "password": PASSWORD}  # by hand: that page has no form
    assert AdminClient(admin_gateway.port, dict(local.cookies), untrusted.host, forwarded).request(
        "POST", "/admin/sign-in", fields).status == 400
    assert local.sign_in("alice").status == 303
    shown = local.get("/admin/locations/1")
    assert "scim.corp.example" not in shown.body and f"127.0.0.1:{admin_gateway.port}/scim/v2/locations/1" in shown.body


def test_sign_in_attempts_are_limited_per_client_address(admin_gateway: AdminGateway, tmp_path: Path) -> None:
    """Each attempt costs a scrypt verification, so past SIGN_IN_BURST attempts from one address,
    whatever names they try, the page answers 429 with Retry-After without checking a password.
    The address is the one a trusted proxy saw (the last X-Forwarded-For entry); from any other
    peer the header changes nothing."""
    config = tmp_path / "proxied.toml"
    config.write_text('[server]\ntrusted_proxies = ["127.0.0.1/32"]\n')
    proxied = Server(admin_gateway.data_dir, "--config", str(config))
    proxied.start()
    try:
        def client(forwarded_for: str) -> AdminClient:
            return AdminClient(proxied.port, headers={"X-Forwarded-For": forwarded_for})

        for _ in range(SIGN_IN_BURST):  # successful sign-ins give their attempt back (colleagues behind one NAT)
            assert client("192.0.2.50, 203.0.113.7").sign_in("alice").status == 303
        for n in range(SIGN_IN_BURST):  # names guessed from one address: each one verified
            assert FAILED in client(f"192.0.2.{n}, 203.0.113.7").sign_in(f"guess{n}", "wrong").body
        throttled = client("192.0.2.99, 203.0.113.7").sign_in("alice")  # even the right password
        assert throttled.status == 429 and SESSION not in throttled.cookies()
        assert int(throttled.headers["Retry-After"]) >= 1 and "Too many sign-in attempts" in throttled.body
        assert client("203.0.113.8").sign_in("alice").status == 303  # another address keeps its own
        # but one account's successes give back only so many: a valid password cannot buy endless hashing
        statuses = [client("203.0.113.9").sign_in("alice").status for _ in range(3 * SIGN_IN_BURST)]
        assert set(statuses[:2 * SIGN_IN_BURST - 2]) == {303} and 429 in statuses, statuses
    finally:
        proxied.stop()
    direct = [AdminClient(admin_gateway.port, headers={"X-Forwarded-For": f"198.51.100.{n}"})
              for n in range(SIGN_IN_BURST + 1)]
    assert all(FAILED in c.sign_in("nobody", "wrong").body for c in direct[:-1])
    assert direct[-1].sign_in("alice").status == 429  # not believed from an untrusted peer
    listed = cli("admin", "list", "--data-dir", str(admin_gateway.data_dir))
    assert "locked" not in listed.stdout  # the throttled attempts counted against no account


def test_every_gateway_process_accepts_the_session_cookie(admin_gateway: AdminGateway, tmp_path: Path) -> None:
    """The cookie secret is derived from the deployment's signing key: another ``serve`` on the same
    data (another worker or host) accepts a session the first one signed."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    other = Server(admin_gateway.data_dir)
    other.start()
    try:
        there = AdminClient(other.port, dict(client.cookies))
        assert there.get("/admin/locations").status == 200
        forged = AdminClient(other.port, {**client.cookies, SESSION: client.cookies[SESSION][:-4] + "0000"})
        assert forged.get("/admin/locations").status == 302
    finally:
        other.stop()


def test_the_removed_notice_names_only_a_location_id(admin_gateway: AdminGateway) -> None:
    """The notice after a removal is held to the one location-id rule: a 19-digit number past the
    64-bit range matched the page's own pattern and was called a location (a maintainability review)."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    assert "SCIM is disabled for location 9223372036854775807" in client.get(
        "/admin/locations?removed=9223372036854775807").body
    for value in ("9223372036854775808", "01", "x"):
        assert "SCIM is disabled for location" not in client.get(f"/admin/locations?removed={value}").body, value


def test_a_request_the_page_cannot_understand_is_not_called_our_fault(admin_gateway: AdminGateway) -> None:
    """A 400 page said "Something went wrong on our side" (a security review)."""
    client = admin_gateway.client()
    token = client.xsrf()
    conn = http.client.HTTPConnection("127.0.0.1", admin_gateway.port, timeout=30)
    try:  # a form value that is not UTF-8
        conn.request("POST", "/admin/sign-in", body=f"_xsrf={token}&user=%FF&password=x".encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())})
        response = conn.getresponse()
        answer = Answer(response.status, response.headers, response.read().decode("utf-8"))
    finally:
        conn.close()
    assert answer.status == 400, answer.status
    assert "could not be understood" in answer.body and "on our side" not in answer.body


def test_head_is_answered_wherever_get_is(admin_gateway: AdminGateway) -> None:
    """RFC 9110 §9.3.2 (a security review found 405 for HEAD beside a working GET)."""
    client = admin_gateway.client()
    head = client.request("HEAD", "/admin/sign-in")
    assert head.status == 200 and head.body == "" and head.headers["Content-Type"].startswith("text/html")
    assert client.sign_in("alice").status == 303
    assert client.request("HEAD", "/admin/locations").status == 200
    assert client.request("HEAD", "/admin/sign-out").status == 405  # POST only, as before
