"""The Integrations page in headless Chromium against a real ``vizmo-scim serve`` (issue 15 §2).

An operator made with the real CLI signs in, enables SCIM for a location, copies the Secret
Token with the page's copy button (read back from the clipboard), uses it for real SCIM
requests over HTTP, finds them in the activity view (filters, the next page, the CSV export),
rotates the token (the old one refused, the new one accepted), removes SCIM after the
confirmation page, and signs out. A location-scoped operator cannot see or change another
location, not even by typing its URLs or posting its forms; repeated failed sign-ins lock an
account. With hundreds of locations the list is searched from its search box and paged with
*Next page*. Every page is saved under ``test-output/screenshots/``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin_support import PASSWORD, AdminGateway, admin_gateway, integrations  # noqa: F401
from tests.browser.browser_support import Page, driver  # noqa: F401
from tests.serving import CORE

FAILED = "Sign-in failed."


@pytest.fixture
def page(driver: Any, admin_gateway: AdminGateway) -> Iterator[Page]:  # noqa: F811
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    base = f"http://127.0.0.1:{admin_gateway.port}"
    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    yield Page(driver, base)


def scim(tenant_url: str, method: str, path: str, token: str, body: Any = None) -> int:
    request = urllib.request.Request(tenant_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/scim+json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def sign_in(page: Page, user: str, password: str = PASSWORD) -> None:
    page.fill("#user", user)
    page.fill("#password", password)
    page.click_through("form.stacked button[type=submit]")


def copied(page: Page, field: str) -> str:
    """Click the copy button of ``field`` and read the clipboard back."""
    page.find(f"button[data-copy='{field}']").click()
    page.wait_for(lambda: "copied" in page.find("#copy-status").text)
    return str(page.script("navigator.clipboard.readText().then(done, e => done('failed: ' + e));"))


def test_sign_in_enable_copy_use_watch_rotate_remove_sign_out(page: Page, admin_gateway: AdminGateway) -> None:
    page.go("/admin/")
    assert page.path.startswith("/admin/sign-in?next=") and page.heading == "Sign in"
    assert page.find("label[for=user]").text == "User name" and page.find("label[for=password]").text == "Password"
    page.screenshot("01-sign-in")
    sign_in(page, "alice")
    assert page.path == "/admin/locations"
    assert [row[:2] for row in page.rows()] == [["Delhi (location 1)", "Not enabled"],
                                                ["Pune (location 2)", "Not enabled"]]
    assert page.find("header .sign-out").text.startswith("Signed in as alice")
    page.screenshot("02-locations")

    # Enable SCIM for Delhi: the Tenant URL and the Secret Token, shown once, with copy buttons.
    page.click_through("#location-1 th a")
    assert page.heading == "SCIM for Delhi (location 1)"
    assert "mail" in page.find(".entra-steps").text and "userPrincipalName → userName" in page.find(".entra-steps").text
    page.screenshot("03-location-not-enabled")
    page.click_through("#enable")
    assert page.heading == "SCIM enabled for Delhi"
    assert "shown only this once" in page.text()
    tenant_url = copied(page, "tenant-url")
    assert tenant_url == f"{page.base}/scim/v2/locations/1"
    token = copied(page, "secret-token")
    assert token == page.find("#secret-token").get_property("value").strip() and token.count(".") == 2
    page.screenshot("04-credentials-shown-once")
    assert integrations(admin_gateway.data_dir) == ["1"]

    # Entra's requests, for real, with the copied token: a create, then a refused duplicate.
    ada = {"schemas": [CORE], "userName": "ada@example.com", "name": {"givenName": "Ada", "familyName": "L"}}
    assert scim(tenant_url, "POST", "/Users", token, ada) == 201
    assert scim(tenant_url, "POST", "/Users", token, ada) == 409
    page.click_through("a[href='/admin/locations/1']")
    assert "no longer" not in page.text() and token not in page.driver.page_source  # never shown again
    page.click_through("a[href='/admin/locations/1/activity']")
    assert page.heading == "Provisioning activity of Delhi (location 1)"
    page.reload_until(lambda: len(page.rows("table.activity")) == 2)
    summary = page.find("#summary").text
    assert summary.startswith("Last recorded change or refusal 20") and "1 write, 1 refusal" in summary
    rows = page.rows("table.activity")
    assert [(r[1], r[2], r[5]) for r in rows] == [("POST create", "ada@example.com", "409 uniqueness (refused)"),
                                                  ("POST create", "ada@example.com", "201 (changed)")]
    assert "name.givenName" in rows[1][4] and "userName" in rows[1][4]
    page.screenshot("05-activity")

    # More of Entra's traffic: two pages of entries; filters by userName and by outcome.
    for n in range(55):
        assert scim(tenant_url, "POST", "/Users", token, {"schemas": [CORE], "userName": f"user{n}@example.com"}) == 201
    page.fill("#filter-user", "ADA@example.com")  # userName compares case-insensitively
    page.click_through("#apply-filters")
    assert [r[2] for r in page.rows("table.activity")] == ["ada@example.com", "ada@example.com"]
    page.find("#filter-outcome option[value=refused]").click()
    page.click_through("#apply-filters")
    assert [r[5] for r in page.rows("table.activity")] == ["409 uniqueness (refused)"]
    page.screenshot("06-activity-filtered")
    page.fill("#filter-user", "")
    page.find("#filter-outcome option[value=changed]").click()
    page.click_through("#apply-filters")
    first = page.rows("table.activity")
    assert len(first) == 50 and first[0][2] == "user54@example.com"
    assert all(r[5] == "201 (changed)" for r in first)
    page.click_through("#next-page")
    assert "before=" in page.path and "outcome=changed" in page.path
    assert page.driver.title.startswith("Activity of Delhi (older entries)")  # told apart from the first page
    second = page.rows("table.activity")
    assert [r[2] for r in second] == [f"user{n}@example.com" for n in range(4, -1, -1)] + ["ada@example.com"]
    assert not page.all("#next-page") and page.all("#newest-page")
    page.screenshot("07-activity-older-entries")

    # The CSV export of what the filters select, fetched by the browser with its session.
    export = page.find("#export-csv").get_attribute("href")
    assert export.endswith("/admin/locations/1/activity.csv?outcome=changed")
    answer = page.fetch("GET", export)
    table = list(csv.reader(io.StringIO(answer["body"])))
    assert answer["status"] == 200 and table[0][:3] == ["time", "location_id", "method"]
    assert [row[5] for row in table[1:]] == [f"user{n}@example.com" for n in range(54, -1, -1)] + ["ada@example.com"]

    # Rotate, after a confirmation page: a new token, shown once; the old one refused from now on.
    page.go("/admin/locations/1")
    page.click_through("#rotate")
    assert page.heading == "Rotate the Secret Token of Delhi?" and page.path == "/admin/locations/1/rotate"
    assert scim(tenant_url, "GET", "/Users?count=1", token) == 200  # nothing rotated by showing the question
    page.click_through("#confirm-rotate")
    assert page.heading == "SCIM Secret Token rotated for Delhi" and "previous token no longer works" in page.text()
    new_token = copied(page, "secret-token")
    assert new_token != token
    page.screenshot("08-token-rotated")
    assert scim(tenant_url, "GET", "/Users", token) == 401
    assert scim(tenant_url, "GET", "/Users?count=1", new_token) == 200

    # Remove, after a confirmation page.
    page.click_through("a[href='/admin/locations/1']")
    page.click_through("#remove")
    assert page.heading == "Remove SCIM from Delhi?" and page.path == "/admin/locations/1/remove"
    assert integrations(admin_gateway.data_dir) == ["1"]  # nothing removed by showing the question
    page.screenshot("09-confirm-remove")
    page.click_through("#confirm-remove")
    assert "SCIM is disabled for this location" in page.find("p.notice").text
    assert page.all("#enable")
    page.screenshot("10-removed")
    assert scim(tenant_url, "GET", "/Users", new_token) == 401
    assert integrations(admin_gateway.data_dir) == []

    # Sign out: the page is closed again.
    page.click_through("header .sign-out button")
    assert page.path == "/admin/sign-in?signed_out=1" and "You are signed out." in page.text()
    page.screenshot("11-signed-out")
    page.go("/admin/locations")
    assert page.path.startswith("/admin/sign-in?next=")


def test_a_location_scoped_operator_sees_and_changes_only_their_locations(page: Page,
                                                                         admin_gateway: AdminGateway) -> None:
    page.go("/admin/sign-in")
    sign_in(page, "bob")
    assert [row[0] for row in page.rows()] == ["Pune (location 2)"]
    page.screenshot("12-scoped-operator-locations")
    for path in ("/admin/locations/1", "/admin/locations/1/activity", "/admin/locations/1/remove",
                 "/admin/locations/1/rotate"):
        page.go(path)
        assert page.heading == "404 Not Found" and "Delhi" not in page.driver.page_source, path
    page.screenshot("13-not-found")
    assert page.fetch("GET", "/admin/locations/1/activity.csv")["status"] == 404
    page.go("/admin/locations/2")
    xsrf = page.find("input[name=_xsrf]").get_property("value")
    for action in ("enable", "rotate", "remove"):  # the forms of location 1, posted by hand
        confirm = "rotate" if action == "rotate" else "remove"
        assert page.fetch("POST", f"/admin/locations/1/{action}", {"_xsrf": xsrf, "confirm": confirm})["status"] == 404
    assert page.fetch("POST", "/admin/locations/2/enable", {})["status"] == 403  # no XSRF token
    assert integrations(admin_gateway.data_dir) == []
    page.click_through("#enable")
    assert page.heading == "SCIM enabled for Pune"
    assert integrations(admin_gateway.data_dir) == ["2"]


def test_repeated_failed_sign_ins_lock_the_account(page: Page) -> None:
    page.go("/admin/sign-in")
    for _ in range(5):
        sign_in(page, "alice", "a wrong password!")
        assert FAILED in page.find("[role=alert]").text
    sign_in(page, "alice")  # the right password, too late
    assert page.path == "/admin/sign-in" and FAILED in page.find("[role=alert]").text
    page.screenshot("14-sign-in-failed-locked")
    page.go("/admin/locations")
    assert page.path.startswith("/admin/sign-in")


def test_search_the_locations_and_follow_next_page(page: Page, admin_gateway: AdminGateway) -> None:
    """280 more locations, written into the directory as the portal would while the gateway runs."""
    conn = sqlite3.connect(admin_gateway.data_dir / "directory.db", timeout=10)
    try:
        with conn:
            conn.executemany("INSERT INTO locations (id, company_id, name) VALUES (?, 1, ?)",
                             [(n, "Warehouse North" if n == 150 else f"Store {n}") for n in range(3, 283)])
    finally:
        conn.close()
    page.go("/admin/sign-in")
    sign_in(page, "alice")
    assert page.find("#locations-shown").text == "Locations 1–100 of 282" and len(page.rows()) == 100
    page.fill("#search-locations", "  sToRe 1")  # any case, any part of the name; trimmed
    page.click_through("#search")
    assert page.path == "/admin/locations?q=++sToRe+1"  # sent as typed, trimmed by the gateway
    assert page.find("#search-locations").get_property("value") == "sToRe 1"
    matching = [n for n in range(3, 283) if n != 150 and str(n).startswith("1")]  # "Store 10" … "Store 199"
    assert page.find("#locations-shown").text == f"Locations 1–100 of {len(matching)} matching “sToRe 1”"
    assert [row[0] for row in page.rows()] == [f"Store {n} (location {n})" for n in matching[:100]]
    assert not page.all("#previous-page")
    page.screenshot("15-locations-search")
    page.click_through("#next-page")
    assert page.path == "/admin/locations?q=sToRe+1&page=2"
    assert page.find("#search-locations").get_property("value") == "sToRe 1"  # the search is kept
    shown = page.find("#locations-shown").text
    assert shown == f"Locations 101–{len(matching)} of {len(matching)} matching “sToRe 1”"
    assert [row[0] for row in page.rows()] == [f"Store {n} (location {n})" for n in matching[100:]]
    assert not page.all("#next-page") and page.all("#previous-page")
    page.screenshot("16-locations-search-next-page")
    page.fill("#search-locations", "150")  # an id finds its location, whatever its name
    page.click_through("#search")
    assert [row[0] for row in page.rows()] == ["Warehouse North (location 150)"]
    page.click_through("#location-150 th a")
    assert page.heading == "SCIM for Warehouse North (location 150)"
