"""The findings of the Integrations page's usability review, against a real ``vizmo-scim serve``:
in headless Chromium where a browser is what shows them, over plain HTTP where the answer is.

- A double-click on a form's submit button sends one POST (the token shown is the one made).
- *Back* shows no page of a session after it ended (here, or in another browser).
- On a plain-HTTP origin that is not loopback the sign-in page has no password field.
- A refused form (403) says what works, with a link, never "reload".
- A long unbroken value does not widen the tables past the window.
- The summary says what is recorded: changes and refusals, not every request.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.admin_support import PASSWORD, AdminClient, AdminGateway, admin_gateway  # noqa: F401
from tests.browser.browser_support import Page, _binary, driver, page  # noqa: F401
from tests.serving import CORE, Server

HELD = 1.0  # seconds the directory's write lock is held while a form is clicked twice


@pytest.fixture(scope="module")
def unwaiting_driver() -> Iterator[Any]:
    """Chromium as the ``driver`` fixture starts it, but with WebDriver's page-load strategy
    ``none``: otherwise ChromeDriver waits for the navigation a click starts before it sends the
    next input (a CDP ``Input.dispatchMouseEvent`` too), so a second click could never land while
    the first POST is under way, as a person's double-click does."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.page_load_strategy = "none"
    browser = webdriver.Chrome(options=options, service=Service(executable_path=_binary("chromedriver")))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def quick_page(unwaiting_driver: Any, admin_gateway: AdminGateway) -> Page:  # noqa: F811
    unwaiting_driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return Page(unwaiting_driver, f"http://127.0.0.1:{admin_gateway.port}")


def go(page: Page, path: str) -> None:
    """Open ``path`` and wait for its page (``Page.go`` relies on WebDriver's own wait)."""
    page.driver.execute_script("window.__vizmoLeaving = true")
    page.driver.get(page.base + path)
    page.wait_for(lambda: page.driver.execute_script(
        "return !window.__vizmoLeaving && document.readyState === 'complete'"))


def sign_in(page: Page, user: str = "alice", password: str = PASSWORD) -> None:
    go(page, "/admin/sign-in")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click_through("form.stacked button[type=submit]")


def enable(gateway: AdminGateway, location: str = "1") -> str:  # noqa: F811
    """Enable ``location`` through the page (another operator's browser); its Secret Token."""
    client = gateway.client()
    assert client.sign_in("alice").status == 303
    answer = client.post(f"/admin/locations/{location}/enable", {}, form_page=f"/admin/locations/{location}")
    found = re.search(r'<textarea id="secret-token"[^>]*>([^<]+)</textarea>', answer.body)
    assert answer.status == 200 and found is not None, answer.body
    return html.unescape(found.group(1)).strip()


def scim(gateway: AdminGateway, token: str, method: str, path: str, body: Any = None) -> int:  # noqa: F811
    return gateway.server.request(method, path, token, body)[0]


def log_lines(gateway: AdminGateway, text: str) -> list[str]:  # noqa: F811
    return [line for line in gateway.server.log_path.read_text().splitlines() if text in line]


def held_directory(data_dir: Path, seconds: float) -> threading.Thread:
    """Hold the directory's write lock (as the portal writing would) for ``seconds``, from now:
    the gateway's next change waits for it, so a second click lands while the first POST is
    still being answered, as on a slow connection."""
    conn = sqlite3.connect(data_dir / "directory.db", timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()
    thread = threading.Thread(target=release)
    thread.start()
    return thread


def click_twice(page: Page, css: str, data_dir: Path) -> None:
    """The mouse clicks ``css`` twice, 0.2 s apart, while the first POST is being answered; then
    waits for the page that the browser ends on (``page`` must be a ``quick_page``)."""
    from selenium.webdriver.common.action_chains import ActionChains
    button = page.find(css)
    page.driver.execute_script("window.__vizmoLeaving = true")
    thread = held_directory(data_dir, HELD)
    try:
        ActionChains(page.driver).move_to_element(button).click().pause(0.2).click().perform()
    finally:
        thread.join()
    page.wait_for(lambda: page.driver.execute_script(
        "return !window.__vizmoLeaving && document.readyState === 'complete'"))
    time.sleep(0.3)  # a second POST, had one been sent, would be answered by now


# -- 1. one POST per form ------------------------------------------------------------------------
def test_a_double_click_on_rotate_sends_one_post_and_shows_the_token_it_made(
        quick_page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    page = quick_page
    enable(admin_gateway)
    sign_in(page)
    go(page, "/admin/locations/1/rotate")
    click_twice(page, "#confirm-rotate", admin_gateway.data_dir)
    assert page.heading == "SCIM Secret Token rotated for Delhi", page.text()  # not the 409 of a second POST
    token = page.find("#secret-token").get_property("value").strip()
    assert scim(admin_gateway, token, "GET", "/Users?count=1") == 200  # the token shown is the one in force
    assert len(log_lines(admin_gateway, "POST /admin/locations/1/rotate")) == 1
    assert len(log_lines(admin_gateway, "admin rotated: location 1")) == 1


@pytest.mark.parametrize(("form_page", "button", "action", "done"), [
    ("/admin/locations/1", "#enable", "POST /admin/locations/1/enable", "admin enabled: location 1"),
    ("/admin/locations/1/remove", "#confirm-remove", "POST /admin/locations/1/remove", "admin removed: location 1"),
    ("/admin/sign-in", "form.stacked button[type=submit]", "POST /admin/sign-in", "admin sign-in: alice"),
])
def test_a_double_click_on_enable_remove_or_sign_in_sends_one_post(
        quick_page: Page, admin_gateway: AdminGateway, form_page: str, button: str, action: str,  # noqa: F811
        done: str) -> None:
    page = quick_page
    if "remove" in form_page:
        enable(admin_gateway)
    if "sign-in" in form_page:
        go(page, form_page)
        page.fill("#user", "alice")
        page.fill("#password", PASSWORD)
    else:
        sign_in(page)
        go(page, form_page)
    posts, changes = len(log_lines(admin_gateway, action)), len(log_lines(admin_gateway, done))
    click_twice(page, button, admin_gateway.data_dir)
    assert "Nothing was changed" not in page.text() and not page.heading.startswith("4"), page.text()
    assert len(log_lines(admin_gateway, action)) == posts + 1
    assert len(log_lines(admin_gateway, done)) == changes + 1


def test_after_a_submission_that_failed_back_shows_a_form_that_works(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """The gateway is gone when *Enable SCIM* is pressed (the browser shows its own error page);
    once it is back, *Back* shows the location's page with a button that works (admin.js enables
    the buttons it disabled, and loads a page of a session anew)."""
    gone = Server(admin_gateway.data_dir)
    gone.start()
    here = Page(page.driver, f"http://127.0.0.1:{gone.port}")
    sign_in(here)
    go(here, "/admin/locations/1")
    gone.stop()
    here.click_through("#enable")
    assert here.driver.execute_script("return location.protocol") == "chrome-error:"  # the browser's error page
    again = Server(admin_gateway.data_dir)
    again.port = gone.port  # the gateway is back, at the same address
    again.start()
    try:
        here.driver.back()
        here.wait_for(lambda: here.driver.execute_script(
            "return location.pathname === '/admin/locations/1' && document.readyState === 'complete'"
            " && !document.body.hidden"))
        assert here.find("#enable").is_enabled()
        here.click_through("#enable")
        assert here.heading == "SCIM enabled for Delhi"
    finally:
        again.stop()


# -- 2. Back after the session ended -------------------------------------------------------------
def activity_then_location(page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    token = enable(admin_gateway)
    assert scim(admin_gateway, token, "POST", "/Users", {"schemas": [CORE], "userName": "ada@example.com"}) == 201
    sign_in(page)
    page.go("/admin/locations/1/activity")
    page.reload_until(lambda: "ada@example.com" in page.text())


def shows_no_session_data(page: Page) -> None:
    page.wait_for(lambda: page.path.startswith("/admin/sign-in"))
    page.wait_for(lambda: page.driver.execute_script("return document.readyState") == "complete")
    assert "ada@example.com" not in page.driver.page_source and page.heading == "Sign in"


def test_back_after_sign_out_does_not_show_the_page_of_the_session(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    activity_then_location(page, admin_gateway)
    page.click_through("header .sign-out button")
    assert page.path == "/admin/sign-in?signed_out=1"
    page.driver.back()
    shows_no_session_data(page)


def test_back_after_the_session_ended_in_another_browser_does_not_show_its_page(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """Chromium keeps the activity page in its back-forward cache (no cookie of this browser
    changed): restored, it would show the data of a session that has ended."""
    activity_then_location(page, admin_gateway)
    page.click_through("nav.breadcrumb a[href='/admin/locations/1']")
    other = admin_gateway.client()  # alice signs out elsewhere: every session of the account ends
    assert other.sign_in("alice").status == 303
    assert other.post("/admin/sign-out", {}, form_page="/admin/locations").status == 303
    page.driver.back()
    shows_no_session_data(page)
    assert page.path == "/admin/sign-in?next=%2Fadmin%2Flocations%2F1%2Factivity"


def test_sign_out_tells_the_browser_to_drop_its_cache(admin_gateway: AdminGateway) -> None:  # noqa: F811
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    answer = client.post("/admin/sign-out", {}, form_page="/admin/locations")
    assert answer.status == 303 and answer.headers["Clear-Site-Data"] == '"cache"'


# -- 3. no password field over plain HTTP ---------------------------------------------------------
def outward_address() -> str | None:
    """A non-loopback IPv4 address of this machine (``hostname -I``), or None."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except OSError:
        return None
    return next((a for a in found if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", a) and not a.startswith("127.")), None)


def test_on_a_plain_http_address_that_is_not_loopback_no_password_can_be_typed(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    everywhere = Server(admin_gateway.data_dir, "--host", "0.0.0.0")
    everywhere.start()
    try:
        outside = Page(page.driver, f"http://{address}:{everywhere.port}")
        outside.go("/admin/sign-in")
        assert "must be opened over HTTPS" in outside.find("[role=alert]").text
        assert outside.all("input[type=password]") == [] and outside.all("form") == []
        outside.screenshot("review-insecure-origin-sign-in")
    finally:
        everywhere.stop()


@pytest.mark.parametrize("host", ["scim.example.com", "127.0.0.1.example.com", "192.0.2.10:8080"])  # not loopback
def test_sign_in_is_refused_on_a_plain_http_origin_that_is_not_loopback(admin_gateway: AdminGateway,  # noqa: F811
                                                                         host: str) -> None:
    client = AdminClient(admin_gateway.port, host=host)
    body = client.get("/admin/sign-in").body
    assert "must be opened over HTTPS" in body
    assert 'type="password"' not in body and "<form" not in body and 'name="_xsrf"' not in body
    local = admin_gateway.client()  # posted by hand, with a loopback page's XSRF pair: the origin refuses it
    fields = {"_xsrf": local.xsrf(), "user": "alice", "password": PASSWORD}
    answer = AdminClient(admin_gateway.port, dict(local.cookies), host).request("POST", "/admin/sign-in", fields)
    assert answer.status == 400 and "vizmo_admin_session" not in answer.cookies()
    assert 'type="password"' not in answer.body


# -- 4. a refused form says what works ---------------------------------------------------------------
def test_a_form_refused_for_its_token_or_the_session_leads_to_what_works(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    enable(admin_gateway)
    sign_in(page)
    page.go("/admin/locations/1/rotate")
    page.driver.execute_cdp_cmd("Network.deleteCookies", {"name": "_xsrf", "url": page.base + "/admin/"})
    page.click_through("#confirm-rotate")  # the form's token no longer matches any cookie
    assert page.heading == "403 Forbidden" and "reload" not in page.text().lower()
    assert "nothing was changed" in page.find("#error-message").text
    assert page.find("#error-next").text == "Open the page again"
    page.screenshot("review-403-stale-form")
    page.click_through("#error-next")
    assert page.path == "/admin/locations/1/rotate" and page.heading == "Rotate the Secret Token of Delhi?"
    other = admin_gateway.client()  # signed out elsewhere: this browser's session ends
    assert other.sign_in("alice").status == 303
    assert other.post("/admin/sign-out", {}, form_page="/admin/locations").status == 303
    page.click_through("#confirm-rotate")
    assert page.heading == "403 Sign in first"
    assert page.find("#error-message").text == "Your session has ended: sign in again. Nothing was changed."
    assert page.find("#error-next").text == "Sign in again"
    page.click_through("#error-next")
    sign_in_here = page.path
    assert sign_in_here == "/admin/sign-in?next=%2Fadmin%2Flocations%2F1%2Frotate"
    page.fill("#user", "alice")
    page.fill("#password", PASSWORD)
    page.click_through("form.stacked button[type=submit]")
    assert page.path == "/admin/locations/1/rotate"  # back at the question, which now works
    page.click_through("#confirm-rotate")
    assert page.heading == "SCIM Secret Token rotated for Delhi"


@pytest.mark.parametrize(("action", "form_page", "link"), [
    ("/admin/locations/1/enable", "/admin/locations/1", "/admin/locations/1"),
    ("/admin/locations/1/remove", "/admin/locations/1", "/admin/locations/1/remove"),
    ("/admin/sign-out", "/admin/locations", "/admin"),
    ("/admin/sign-in", "/admin/sign-in?next=/admin/locations/2", "/admin/sign-in?next=%2Fadmin%2Flocations%2F2"),
])
def test_a_stale_form_links_to_its_page(admin_gateway: AdminGateway, action: str, form_page: str,  # noqa: F811
                                        link: str) -> None:
    client = admin_gateway.client()
    if action == "/admin/sign-in":
        fields = {"_xsrf": client.xsrf(form_page), "user": "alice", "password": PASSWORD, "next": "/admin/locations/2"}
    else:
        assert client.sign_in("alice").status == 303
        fields = client.hidden_fields(form_page, action)
    del client.cookies["_xsrf"]  # the browser's cookies cleared since the page was opened
    answer = client.request("POST", action, {**fields, "confirm": "remove"})
    assert answer.status == 403 and "Reload" not in answer.body
    assert f'id="error-next" href="{html.escape(link)}">Open the page again</a>' in answer.body


def test_a_form_sent_without_a_session_links_to_the_sign_in_page(admin_gateway: AdminGateway) -> None:  # noqa: F811
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    fields = client.hidden_fields("/admin/locations/1", "/admin/locations/1/enable")
    del client.cookies["vizmo_admin_session"]
    answer = client.request("POST", "/admin/locations/1/enable", fields)
    assert answer.status == 403 and "Your session has ended: sign in again." in answer.body
    target = "/admin/sign-in?" + urllib.parse.urlencode({"next": "/admin/locations/1"})
    assert f'id="error-next" href="{html.escape(target)}">Sign in again</a>' in answer.body


# -- 5. long values ---------------------------------------------------------------------------------
def test_long_unbroken_values_do_not_widen_the_tables_past_the_window(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    token = enable(admin_gateway)
    long_name = "u" * 5000 + "@example.com"
    assert scim(admin_gateway, token, "POST", "/Users", {"schemas": [CORE], "userName": long_name}) in (201, 400)
    conn = sqlite3.connect(admin_gateway.data_dir / "directory.db", timeout=10)
    try:
        with conn:
            conn.execute("UPDATE locations SET name = ? WHERE id = 2", ("P" * 300,))
    finally:
        conn.close()
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    sign_in(page)
    page.go("/admin/locations/1/activity")
    page.reload_until(lambda: len(page.rows("table.activity")) >= 1)
    edges = "return [...document.querySelectorAll(arguments[0])].map(e => e.getBoundingClientRect().right);"
    width = page.driver.execute_script("return document.documentElement.clientWidth")
    status = page.driver.execute_script(edges, "table.activity thead th:nth-child(6)")
    assert status and max(status) <= width, (status, width)
    page.screenshot("review-long-username-activity")
    page.go("/admin/locations")
    assert max(page.driver.execute_script(edges, "table.locations thead th")) <= width
    assert page.driver.execute_script("return document.documentElement.scrollWidth") <= width
    page.screenshot("review-long-location-name")


# -- 6. the summary says what is recorded ----------------------------------------------------------
def test_the_summary_names_changes_and_refusals_not_requests(admin_gateway: AdminGateway) -> None:  # noqa: F811
    token = enable(admin_gateway)
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    assert scim(admin_gateway, token, "GET", "/Users") == 200  # a read: never recorded
    for path in ("/admin/locations/1", "/admin/locations/1/activity"):
        body = client.get(path).body
        assert "No change or refusal recorded yet" in body and "request recorded" not in body, path
    assert scim(admin_gateway, token, "POST", "/Users", {"schemas": [CORE], "userName": "ada@example.com"}) == 201
    deadline = time.monotonic() + 10
    while "Last recorded change or refusal 20" not in (body := client.get("/admin/locations/1").body):
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert "Last request" not in body
