"""The admin pages as a keyboard and screen-reader user meets them (WCAG 2.1 AA), in headless
Chromium against a real ``vizmo-scim serve``: keys are pressed with Selenium's action chains, and
what a screen reader is told (names, descriptions, invalid state) is read from Chromium's own
accessibility tree (CDP ``Accessibility.getPartialAXTree``), not from the HTML.
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin_support import PASSWORD, AdminGateway, admin_gateway  # noqa: F401
from tests.browser.browser_support import Page, driver, page  # noqa: F401
from tests.serving import CORE

_COLOUR = re.compile(r"rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)")


# -- keyboard and accessibility tree ---------------------------------------------------------------
def press(page: Page, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(page.driver).send_keys(*keys).perform()


def focused(page: Page) -> str:
    """The focused element as ``TAG#id.class``."""
    return str(page.driver.execute_script(
        "const e = document.activeElement; return e.tagName + '#' + e.id + '.' + e.className;"))


def tab_to(page: Page, css: str, limit: int = 40) -> list[str]:
    """Press Tab from where the focus is until ``css`` has it; every element passed on the way."""
    from selenium.webdriver.common.keys import Keys
    passed = []
    for _ in range(limit):
        press(page, Keys.TAB)
        passed.append(focused(page))
        if page.driver.execute_script("return document.activeElement.matches(arguments[0])", css):
            return passed
    raise AssertionError(f"Tab never reached {css}: {passed}")


def type_and_submit(page: Page, css: str, keys: str = "") -> None:
    """Type ``keys`` into the focused ``css`` (if any) and press Enter: wait for the page that answers."""
    from selenium.webdriver.common.keys import Keys
    assert page.driver.execute_script("return document.activeElement.matches(arguments[0])", css)
    page.driver.execute_script("window.__vizmoLeaving = true")
    press(page, *(keys, Keys.ENTER) if keys else (Keys.ENTER,))
    page.wait_for(lambda: page.driver.execute_script(
        "return !window.__vizmoLeaving && document.readyState === 'complete'"))


def ax(page: Page, css: str) -> dict[str, Any]:
    """What Chromium tells a screen reader of ``css``: role, name, description, invalid."""
    root = page.driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    node_id = page.driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": css})["nodeId"]
    assert node_id, f"no {css}"
    node = page.driver.execute_cdp_cmd("Accessibility.getPartialAXTree",
                                       {"nodeId": node_id, "fetchRelatives": False})["nodes"][0]
    properties = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
    return {"role": node["role"]["value"], "name": node.get("name", {}).get("value", ""),
            "description": node.get("description", {}).get("value", ""), "invalid": properties.get("invalid")}


def sign_in_by_keyboard(page: Page, password: str = PASSWORD) -> None:
    page.go("/admin/sign-in")
    tab_to(page, "#user")
    press(page, "alice")
    tab_to(page, "#password")
    type_and_submit(page, "#password", password)


# -- colours ---------------------------------------------------------------------------------------
def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def opaque_colours(text: str) -> list[tuple[float, float, float]]:
    return [(float(r), float(g), float(b)) for r, g, b, a in _COLOUR.findall(text) if a in ("", "1")]


# -- set-up over real HTTP -------------------------------------------------------------------------
def enable_and_provision(admin_gateway: AdminGateway, user_names: list[str]) -> None:  # noqa: F811
    """Enable location 1 from its page's form (as alice) and create ``user_names`` over SCIM."""
    client = admin_gateway.client()
    assert client.sign_in("alice").status == 303
    answer = client.post("/admin/locations/1/enable", {}, form_page="/admin/locations/1")
    found = re.search(r'<textarea id="secret-token"[^>]*>([^<]+)</textarea>', answer.body)
    assert answer.status == 200 and found is not None
    token = html.unescape(found.group(1)).strip()
    for name in user_names:
        request = urllib.request.Request(
            f"http://127.0.0.1:{admin_gateway.port}/scim/v2/locations/1/Users", method="POST",
            data=json.dumps({"schemas": [CORE], "userName": name}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201


# -- the tests -------------------------------------------------------------------------------------
def test_a_failed_sign_in_puts_the_cursor_back_in_the_marked_field(page: Page) -> None:
    """WCAG 2.1 SC 3.3.1 Error Identification, 2.4.3 Focus Order, 2.4.2 Page Titled: after a wrong
    password the cursor is back in the password field, which is marked invalid and described by
    the error; the title says there was an error."""
    sign_in_by_keyboard(page, "not the password")
    assert page.path == "/admin/sign-in" and page.driver.title.startswith("Error: Sign in")
    assert focused(page).startswith("INPUT#password")
    password, user = ax(page, "#password"), ax(page, "#user")
    for field in (password, user):
        assert field["invalid"] == "true" and field["description"].startswith("Sign-in failed.")
    assert (password["name"], user["name"]) == ("Password", "User name")
    assert page.find("#user").get_property("value") == "alice"  # kept: only the password is typed again
    assert page.find("#sign-in-error").get_attribute("role") == "alert"


def test_a_refused_change_moves_the_focus_to_its_error(page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """WCAG 2.1 SC 3.3.1, 2.4.3, 3.3.2 Labels or Instructions and 3.3.4 Error Prevention: the
    rotate link's description says the old token stops working, and it leads to a question first;
    a rotation refused (that page was out of date) lands the focus on the error, and the title
    says so."""
    enable_and_provision(admin_gateway, [])
    sign_in_by_keyboard(page)
    page.go("/admin/locations/1")
    assert "the old one stops working at once" in ax(page, "#rotate")["description"]
    tab_to(page, "#rotate")
    type_and_submit(page, "#rotate")
    assert page.path == "/admin/locations/1/rotate" and page.heading == "Rotate the Secret Token of Delhi?"
    other = admin_gateway.client()  # a colleague rotates meanwhile: this page's form is now stale
    assert other.sign_in("alice").status == 303
    assert other.post("/admin/locations/1/rotate", {}, form_page="/admin/locations/1/rotate").status == 200
    tab_to(page, "#confirm-rotate")
    type_and_submit(page, "#confirm-rotate")
    assert page.driver.title.startswith("Error: Delhi"), (page.driver.title, page.path, page.text())
    assert focused(page).startswith("P#page-error") and "Nothing was changed" in page.find("#page-error").text
    assert page.find("#page-error").get_attribute("role") == "alert"


def test_pages_reflow_at_320_css_pixels_and_wide_tables_scroll_in_their_own_box(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """WCAG 2.1 SC 1.4.10 Reflow (and 2.1.1 Keyboard for the scrolling box): at 320 CSS px no page
    scrolls sideways; the locations and activity tables scroll in a focusable, named region that
    the arrow keys move; a long unbroken search text wraps."""
    from selenium.webdriver.common.keys import Keys
    enable_and_provision(admin_gateway, [f"someone.with.a.long.name{n}@example-company.com" for n in range(3)])
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 320, "height": 700, "deviceScaleFactor": 1, "mobile": False})
    sign_in_by_keyboard(page)
    assert page.path == "/admin/locations"
    captions = {"/admin/locations": "Locations you manage and their SCIM state",
                "/admin/locations/1/activity": "Requests that changed something or were refused, newest first"}
    for path, caption in captions.items():
        page.go(path)
        page.reload_until(lambda: len(page.rows()) >= 2)  # activity reaches the log a moment later
        sideways = page.driver.execute_script(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
        assert sideways[0] <= sideways[1], (path, sideways)
        box = ".table-scroll"
        widths = page.driver.execute_script(
            "const b = document.querySelector(arguments[0]); return b && [b.scrollWidth, b.clientWidth];", box)
        assert widths and widths[0] > widths[1], (path, widths)  # the table is wider: it scrolls inside
        region = ax(page, box)
        assert (region["role"], region["name"]) == ("region", caption)
        page.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        tab_to(page, box)
        press(page, Keys.ARROW_RIGHT)
        page.wait_for(lambda: page.driver.execute_script(
            "return document.querySelector(arguments[0]).scrollLeft > 0", box))
    page.go("/admin/locations?q=" + "x" * 300)
    sideways = page.driver.execute_script("const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
    assert sideways[0] <= sideways[1], sideways


def test_a_table_box_is_a_tab_stop_only_while_its_table_overflows(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """The box a wide table scrolls in is focusable so that the keyboard can scroll it (WCAG
    2.1.1), but only while the table overflows it: at 1280 CSS px the locations table fits and
    Tab never stops on its box (a stop that led nowhere); narrowed to 320 px, it does again."""
    enable_and_provision(admin_gateway, ["ada@example.com"])
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    sign_in_by_keyboard(page)
    page.go("/admin/locations")
    box = ".table-scroll"
    overflow = "const b = document.querySelector(arguments[0]); return b.scrollWidth > b.clientWidth;"
    tab_stop = "return document.querySelector(arguments[0]).hasAttribute('tabindex');"
    assert page.driver.execute_script(overflow, box) is False
    page.wait_for(lambda: page.driver.execute_script(tab_stop, box) is False)
    page.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    passed: list[str] = []
    while len(passed) < 40 and not (passed and (passed[-1].startswith("BODY") or passed[-1] in passed[:-1])):
        tab_to(page, "*")
        passed.append(focused(page))
    assert not [element for element in passed if "table-scroll" in element], passed
    assert any(element.startswith("A#") for element in passed), passed  # the walk did reach the page's links
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 320, "height": 700, "deviceScaleFactor": 1, "mobile": False})
    page.wait_for(lambda: page.driver.execute_script(overflow, box) and page.driver.execute_script(tab_stop, box))
    page.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    tab_to(page, box)


def test_every_focus_indicator_has_3_to_1_contrast(page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """WCAG 2.1 SC 1.4.11 Non-text Contrast and 2.4.7 Focus Visible: each element that Tab reaches
    draws a focus ring with a colour of at least 3:1 against the background around it."""
    enable_and_provision(admin_gateway, ["ada@example.com"])
    sign_in_by_keyboard(page)
    for path in ("/admin/locations", "/admin/locations/1", "/admin/locations/1/activity"):
        page.go(path)
        page.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        seen: set[str] = set()
        while True:
            tab_to(page, "*")
            element = focused(page) + str(page.driver.execute_script(
                "return [...document.querySelectorAll('*')].indexOf(document.activeElement)"))
            if element.startswith("BODY") or element in seen:
                break
            seen.add(element)
            style = page.driver.execute_script(
                "const e = document.activeElement, s = getComputedStyle(e); let p = e.parentElement;"
                "while (p && ['transparent', 'rgba(0, 0, 0, 0)'].includes(getComputedStyle(p).backgroundColor))"
                "  { p = p.parentElement; }"
                "return [s.outlineStyle === 'none' ? '' : s.outlineColor, s.boxShadow,"
                "        p ? getComputedStyle(p).backgroundColor : 'rgb(255, 255, 255)'];")
            ring = opaque_colours(style[0] + " " + style[1])
            around = opaque_colours(style[2])[0]
            best = max((contrast(colour, around) for colour in ring), default=0.0)
            assert best >= 3, f"{path}: the focus ring of {element} is {best:.2f}:1 ({style})"
        assert len(seen) >= 4, (path, seen)


def test_without_javascript_no_dead_copy_button_and_the_token_copies_by_keyboard(page: Page) -> None:
    """WCAG 2.1 SC 4.1.2 Name, Role, Value and 2.1.1 Keyboard: with JavaScript off the copy
    buttons (which need it) are neither shown nor in the tab order, and the Secret Token, a
    labelled read-only field, is reached with Tab and selected whole with Ctrl+A."""
    from selenium.webdriver.common.keys import Keys
    page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    sign_in_by_keyboard(page)
    page.go("/admin/locations/1")
    tab_to(page, "#enable")
    type_and_submit(page, "#enable")
    assert page.heading == "SCIM enabled for Delhi"
    passed = tab_to(page, "#secret-token") + tab_to(page, "a[href='/admin/locations/1']")
    assert not [element for element in passed if "copy" in element], passed
    assert not [button for button in page.all("button.copy") if button.is_displayed()]
    token = ax(page, "#secret-token")
    assert token["role"] == "textbox" and token["name"] == "Secret Token"
    page.find("#secret-token").send_keys(Keys.CONTROL, "a")
    selected = page.driver.execute_script(
        "const t = document.getElementById('secret-token');"
        "return t.value.substring(t.selectionStart, t.selectionEnd);")
    assert selected == page.find("#secret-token").get_property("value") and selected.count(".") == 2


def test_the_activity_has_a_breadcrumb_and_no_empty_page_navigation(
        page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """WCAG 2.1 SC 1.3.1 Info and Relationships: a screen reader's list of landmarks offers the
    trail of pages as a "Breadcrumb" navigation with the current page marked, and no "Pages of
    the activity" navigation when there is no other page to go to."""
    enable_and_provision(admin_gateway, ["ada@example.com"])
    sign_in_by_keyboard(page)
    page.go("/admin/locations/1/activity")
    page.reload_until(lambda: len(page.rows("table.activity")) == 1)
    empty = [nav.get_attribute("aria-label") for nav in page.all("nav") if not nav.find_elements("css selector", "a")]
    assert empty == []
    assert (ax(page, "nav.breadcrumb")["role"], ax(page, "nav.breadcrumb")["name"]) == ("navigation", "Breadcrumb")
    assert page.find("nav.breadcrumb [aria-current=page]").text == "Activity"


def test_every_button_edge_has_3_to_1_contrast(page: Page, admin_gateway: AdminGateway) -> None:  # noqa: F811
    """WCAG 2.1 SC 1.4.11 Non-text Contrast: a button's (or a link drawn as one) border, its
    visual edge, has at least 3:1 against the background around it (the borders were #d0d7de on
    white, 1.45:1; the sign-out button sits on the header's grey)."""
    enable_and_provision(admin_gateway, ["ada@example.com"])
    measured = []
    for path in ("/admin/sign-in", "/admin/locations", "/admin/locations/1", "/admin/locations/1/activity",
                 "/admin/locations/1/rotate", "/admin/locations/2"):
        if path == "/admin/locations":
            sign_in_by_keyboard(page)
        page.go(path)
        edges = page.driver.execute_script(
            "return [...document.querySelectorAll('button, .button')].filter(e => e.offsetParent).map(e => {"
            "  let p = e.parentElement;"
            "  while (p && ['transparent', 'rgba(0, 0, 0, 0)'].includes(getComputedStyle(p).backgroundColor))"
            "    { p = p.parentElement; }"
            "  return [e.textContent.trim(), getComputedStyle(e).borderTopColor,"
            "          p ? getComputedStyle(p).backgroundColor : 'rgb(255, 255, 255)'];});")
        for name, border, around in edges:
            ratio = contrast(opaque_colours(border)[0], opaque_colours(around)[0])
            assert ratio >= 3, f"{path}: the edge of the button {name!r} is {ratio:.2f}:1 ({border} on {around})"
            measured.append((path, name))
    assert len(measured) >= 10 and ("/admin/sign-in", "Sign in") in measured, measured
