"""The Integrations page's list of locations over real HTTP against a real ``vizmo-scim serve``
with 1,234 locations (written into the SQLite directory as the portal would, while the gateway
runs): search by id and by name, 100 a page with links that keep the search, the count and the
range shown, a location-scoped operator's view (only theirs, in results and counts), and page
numbers and search texts that must not be a 500."""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.admin_support import AdminClient, AdminGateway, add_operator, admin_gateway  # noqa: F401

LOCATIONS = 1234
#: Names that a search by name finds (any case); every other location is "Office" + three letters.
NAMED = {7: "Mumbai Central", 300: "NAVI MUMBAI", 500: "Gate 12 Annex", 1190: "mumbai airport",
         1201: "Pune <b>&amp; \"East\"</b>"}
#: The scoped operator: location 2, Mumbai Central, and 1000-1147 (150 in all).
CAROL = ["2", "7", *(str(n) for n in range(1000, 1148))]


def office(n: int) -> str:
    """A name without digits, so that a number finds locations by id only."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"Office {letters[n // 676 % 26]}{letters[n // 26 % 26]}{letters[n % 26]}"


def add_locations(data_dir: Path, first: int, last: int, named: dict[int, str]) -> None:
    """Locations ``first``..``last`` in the running gateway's directory, in one transaction."""
    conn = sqlite3.connect(data_dir / "directory.db", timeout=10)
    try:
        with conn:
            conn.executemany("INSERT INTO locations (id, company_id, name) VALUES (?, 1, ?)",
                             [(n, named.get(n, office(n))) for n in range(first, last + 1)])
    finally:
        conn.close()


@pytest.fixture
def gateway(admin_gateway: AdminGateway) -> AdminGateway:  # noqa: F811
    """Locations 1 (Delhi), 2 (Pune) and 3-1234; operators alice (all), bob (2), carol (:data:`CAROL`)."""
    add_locations(admin_gateway.data_dir, 3, LOCATIONS, NAMED)
    add_operator(admin_gateway.data_dir, "carol", *CAROL)
    return admin_gateway


def signed_in(gateway: AdminGateway, name: str) -> AdminClient:
    client = gateway.client()
    assert client.sign_in(name).status == 303
    return client


def shown(body: str) -> list[int]:
    """The location ids of the list's rows, in order."""
    return [int(n) for n in re.findall(r'<tr id="location-(\d+)">', body)]


def status_line(body: str) -> str:
    match = re.search(r'<p id="locations-shown" role="status">([^<]*)</p>', body)
    assert match is not None, body[-3000:]
    return html.unescape(match.group(1))


def link(body: str, id_: str) -> str | None:
    """The href of the element with ``id_``, unescaped, or None."""
    match = re.search(rf'<a href="([^"]*)" id="{id_}"', body)
    return html.unescape(match.group(1)) if match else None


def search_box(body: str) -> str:
    match = re.search(r'<input id="search-locations" name="q" type="search" value="([^"]*)"', body)
    assert match is not None
    return html.unescape(match.group(1))


def get(client: AdminClient, path: str) -> str:
    answer = client.get(path)
    assert answer.status == 200, (path, answer.status, answer.body[-2000:])
    assert "Traceback" not in answer.body
    return answer.body


def test_search_by_id_is_exact_and_by_name_is_a_case_insensitive_substring(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "alice")
    body = get(client, "/admin/locations?q=1100")
    assert shown(body) == [1100] and status_line(body) == "Locations 1–1 of 1 matching “1100”"
    assert shown(get(client, "/admin/locations?q=+++42%09")) == [42]  # trimmed
    assert shown(get(client, "/admin/locations?q=012")) == []  # an id matches exactly, not as a number
    # "12": location 12 by id and "Gate 12 Annex" by name, never 112 or 1200 (ids that merely contain it).
    assert shown(get(client, "/admin/locations?q=12")) == [12, 500]
    body = get(client, "/admin/locations?q=mUmBaI")
    assert shown(body) == [7, 300, 1190] and status_line(body) == "Locations 1–3 of 3 matching “mUmBaI”"
    assert search_box(body) == "mUmBaI"
    assert shown(get(client, "/admin/locations?q=bai+air")) == [1190]  # any part of the name
    assert shown(get(client, "/admin/locations?q=DELHI")) == [1]
    nothing = get(client, "/admin/locations?q=Chennai")
    assert shown(nothing) == [] and "No location you may manage" in status_line(nothing)
    # Names and the search text are escaped wherever the page shows them.
    body = get(client, "/admin/locations?q=%3Cb%3E%26amp")
    assert shown(body) == [1201] and "<b>&amp;" not in body and "&lt;b&gt;&amp;amp;" in body
    assert search_box(body) == "<b>&amp"
    # The "open by id" form still leads to the location's page.
    opened = client.get("/admin/open-location?id=1100")
    assert opened.status == 302 and opened.headers["Location"] == "/admin/locations/1100"


def test_the_list_is_paged_by_100_and_next_keeps_the_search(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "alice")
    body = get(client, "/admin/locations")
    assert shown(body) == list(range(1, 101)) and status_line(body) == "Locations 1–100 of 1,234"
    assert link(body, "previous-page") is None and link(body, "next-page") == "/admin/locations?page=2"
    assert len(body) < 100_000  # one page, not the 521 KB of every location
    body = get(client, "/admin/locations?page=2")
    assert shown(body) == list(range(101, 201)) and status_line(body) == "Locations 101–200 of 1,234"
    assert link(body, "previous-page") == "/admin/locations?page=1"
    seen, path = [], "/admin/locations"  # following "next" to the end visits every location once
    for _ in range(20):
        body = get(client, path)
        seen += shown(body)
        following = link(body, "next-page")
        if following is None:
            break
        path = following
    assert seen == list(range(1, LOCATIONS + 1))
    assert status_line(body) == "Locations 1,201–1,234 of 1,234" and "(page 13 of 13)" in body
    assert "<title>Locations (page 13 of 13) · " in body  # pages told apart by their title (WCAG 2.1 SC 2.4.2)

    # A search's pages: "office" is every location but the seven named ones.
    offices = [n for n in range(3, LOCATIONS + 1) if n not in NAMED]
    body = get(client, "/admin/locations?q=Office")
    assert shown(body) == offices[:100]
    assert status_line(body) == f"Locations 1–100 of {len(offices):,} matching “Office”"
    assert f"<title>Locations matching “Office” (page 1 of {-(-len(offices) // 100)}) · " in body
    following = link(body, "next-page")
    assert following == "/admin/locations?q=Office&page=2"
    body = get(client, following)
    assert shown(body) == offices[100:200] and search_box(body) == "Office"
    assert link(body, "previous-page") == "/admin/locations?q=Office&page=1"
    spaced = get(client, "/admin/locations?q=mumbai+air&page=1")  # a space in q survives the links' encoding
    assert shown(spaced) == [1190] and link(spaced, "next-page") is None
    assert link(get(client, "/admin/locations?q=ffice+&page=2"), "next-page") == "/admin/locations?q=ffice&page=3"


#: Page values and the locations they show: not a positive number of ASCII digits is the first
#: page; past the end is the last page (13: 1201-1234). A ``+`` in a query string is a space.
PAGES = [("0", range(1, 101)), ("-1", range(1, 101)), ("abc", range(1, 101)), ("", range(1, 101)),
         ("2.5", range(1, 101)), ("1e3", range(1, 101)), ("%C2%B2", range(1, 101)), ("%2B2", range(1, 101)),
         ("0x2", range(1, 101)), ("13", range(1201, 1235)), ("14", range(1201, 1235)),
         ("99999", range(1201, 1235)), ("9" * 40, range(1201, 1235)), ("+3+", range(201, 301)),
         ("003", range(201, 301))]


def test_a_page_past_the_end_is_the_last_and_one_that_is_not_a_page_the_first(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "alice")
    for page, ids in PAGES:
        body = get(client, f"/admin/locations?page={page}")
        assert shown(body) == list(ids), page
        assert status_line(body) == f"Locations {ids[0]:,}–{ids[-1]:,} of 1,234", page
    last = get(client, "/admin/locations?page=99")
    assert link(last, "next-page") is None and link(last, "previous-page") == "/admin/locations?page=12"


def test_bad_page_values_of_a_search_and_of_an_empty_result(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "alice")
    body = get(client, "/admin/locations?q=mumbai&page=5")  # one page only: that page
    assert shown(body) == [7, 300, 1190] and link(body, "previous-page") is None
    assert "No location you may manage" in status_line(get(client, "/admin/locations?q=Chennai&page=7"))
    assert "No location you may manage" in status_line(get(client, "/admin/locations?q=Chennai&page=-7"))


def test_an_over_long_search_is_cut_to_its_first_100_characters(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "alice")
    body = get(client, "/admin/locations?q=" + "x" * 101)
    assert search_box(body) == "x" * 100 and 'id="search-cut"' in body and shown(body) == []
    body = get(client, "/admin/locations?q=" + "x" * 100)
    assert search_box(body) == "x" * 100 and 'id="search-cut"' not in body
    # Cut to 100 characters and trimmed again, what is left is "Mumbai".
    body = get(client, "/admin/locations?q=Mumbai" + "+" * 94 + "zzz")
    assert shown(body) == [7, 300, 1190] and search_box(body) == "Mumbai" and 'id="search-cut"' in body
    huge = get(client, "/admin/locations?q=" + "%E2%82%AC" * 5000 + "&page=" + "7" * 5000)
    assert search_box(huge) == "€" * 100 and shown(huge) == []
    assert 'maxlength="100"' in get(client, "/admin/locations")
    # Text that is not UTF-8 is refused cleanly, by the page's own error page.
    invalid = client.get("/admin/locations?q=%FF")
    assert invalid.status == 400 and "Traceback" not in invalid.body and "Back to the locations" in invalid.body


def test_a_scoped_operator_finds_and_counts_only_their_locations(gateway: AdminGateway) -> None:
    client = signed_in(gateway, "carol")
    body = get(client, "/admin/locations")
    assert shown(body) == [2, 7, *range(1000, 1098)] and status_line(body) == "Locations 1–100 of 150"
    assert link(body, "next-page") == "/admin/locations?page=2"
    body = get(client, "/admin/locations?page=2")
    assert shown(body) == list(range(1098, 1148)) and status_line(body) == "Locations 101–150 of 150"
    assert link(body, "next-page") is None
    assert shown(get(client, "/admin/locations?page=40")) == list(range(1098, 1148))
    body = get(client, "/admin/locations?q=MUMBAI")  # NAVI MUMBAI (300) and mumbai airport (1190) are not hers
    assert shown(body) == [7] and status_line(body) == "Locations 1–1 of 1 matching “MUMBAI”"
    assert "NAVI" not in body and "airport" not in body
    for hidden in ("1", "Delhi", "300", "1148", "1234", "Gate"):  # others' ids and names: nothing, no count
        body = get(client, f"/admin/locations?q={hidden}")
        assert shown(body) == [] and "No location you may manage" in status_line(body), hidden
        assert "1,234" not in body and " of " not in status_line(body)
    assert shown(get(client, "/admin/locations?q=1147")) == [1147]
    body = get(client, "/admin/locations?q=Office&page=2")
    assert shown(body) == list(range(1100, 1148))
    assert status_line(body) == "Locations 101–148 of 148 matching “Office”"
    bob = signed_in(gateway, "bob")
    body = get(bob, "/admin/locations")
    assert shown(body) == [2] and status_line(body) == "Locations 1–1 of 1" and link(body, "next-page") is None
    assert shown(get(bob, "/admin/locations?q=pune")) == [2]  # not 1201 "Pune <b>…", which is not his


def test_a_name_matches_whatever_its_case_and_accents(gateway: AdminGateway) -> None:
    """``istanbul`` and ``ISTANBUL`` did not find *İstanbul* (its case-folded ``i`` keeps a
    combining dot: a usability review of the page); accents are ignored as case is."""
    add_locations(gateway.data_dir, 5000, 5001, {5000: "İstanbul Levent", 5001: "Zürich HB"})
    client = signed_in(gateway, "alice")
    for text in ("istanbul", "ISTANBUL", "İstanbul"):
        assert shown(get(client, f"/admin/locations?q={quote(text)}")) == [5000], text
    for text in ("zurich", "ZÜRICH", "Zurich HB"):
        assert shown(get(client, f"/admin/locations?q={quote(text)}")) == [5001], text
