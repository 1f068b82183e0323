"""The Integrations page's changes when forms cross, over a real ``vizmo-scim serve``: forms sent at
once (a double-click, two tabs), a page older than the integration it acts on, a location the
directory no longer lists (a usability review of the page)."""

from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from tests.admin_support import AdminGateway, admin_gateway  # noqa: F401
from tests.http.test_admin_http import enable, scim

_TOKEN = re.compile(r'<textarea id="secret-token"[^>]*>([^<]+)</textarea>')


def test_rotate_forms_sent_at_once_rotate_once_and_every_token_shown_works(admin_gateway: AdminGateway) -> None:
    """Four POSTs of one confirmation page at once: two or three answered "rotated" with a token,
    and all but the last of those tokens were dead on arrival (the form's check and the update
    were two steps)."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    first = enable(client, "1")
    form = client.hidden_fields("/admin/locations/1/rotate", "/admin/locations/1/rotate")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.request("POST", "/admin/locations/1/rotate", form), range(6)))
    shown = [match.group(1).strip() for answer in answers if (match := _TOKEN.search(answer.body))]
    assert len(shown) == 1, [answer.status for answer in answers]
    assert sorted(answer.status for answer in answers) == [200] + [409] * 5
    assert scim(admin_gateway.port, "GET", "/Users", shown[0]) == 200
    assert scim(admin_gateway.port, "GET", "/Users", first) == 401


def test_a_remove_page_older_than_the_integration_removes_nothing(admin_gateway: AdminGateway) -> None:
    """Operator A opens Remove; operator B removes SCIM and enables it again, pasting the new token
    into Entra ID; A's Remove took the new integration down, unnoticed."""
    a, b = admin_gateway.client(), admin_gateway.client()
    assert a.sign_in("alice").status == 303 and b.sign_in("alice").status == 303
    enable(a, "1")
    stale = a.hidden_fields("/admin/locations/1/remove", "/admin/locations/1/remove")
    assert b.post("/admin/locations/1/remove", {}).status == 303
    fresh = enable(b, "1")
    refused = a.request("POST", "/admin/locations/1/remove", stale)
    assert refused.status == 409 and "Nothing was changed" in refused.body
    assert scim(admin_gateway.port, "GET", "/Users", fresh) == 200
    current = a.post("/admin/locations/1/remove", {})  # the page as it is now
    assert current.status == 303 and current.headers["Location"] == "/admin/locations/1?done=removed"
    assert scim(admin_gateway.port, "GET", "/Users", fresh) == 401


def test_a_location_the_directory_dropped_cannot_be_rotated_and_its_removal_lands_on_the_list(
        admin_gateway: AdminGateway) -> None:
    """The portal deleted location 2 while SCIM was on: Rotate issued a working token for a
    location that does not exist, and a Remove ended on a 404 page."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    enable(client, "2")
    conn = sqlite3.connect(admin_gateway.data_dir / "directory.db", isolation_level=None)
    try:
        conn.execute("DELETE FROM locations WHERE id = 2")
    finally:
        conn.close()
    rotated = client.post("/admin/locations/2/rotate", {}, form_page="/admin/locations/2/rotate")
    assert rotated.status == 409 and "no longer in the directory" in rotated.body
    assert _TOKEN.search(rotated.body) is None
    removed = client.post("/admin/locations/2/remove", {})
    assert removed.status == 303 and removed.headers["Location"] == "/admin/locations?removed=2"
    listing = client.get(removed.headers["Location"])
    assert listing.status == 200 and "SCIM is disabled for location 2" in listing.body
