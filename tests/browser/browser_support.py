"""Headless Chromium from Debian (``chromium`` + ``chromium-driver``) driven by Selenium, and a
small page helper: navigate, fill, click and wait for the next page, read tables, screenshots.

Nothing is downloaded: Selenium is pointed at ``/usr/bin/chromium`` and ``/usr/bin/chromedriver``
(Selenium Manager stays offline). Without them the fixture fails, naming the command that
installs them; the README's test command runs it first.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
INSTALL = "scripts/install-test-servers (it runs: apt-get install chromium chromium-driver)"
WAIT = 15.0


def _binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if found is None:
        pytest.fail(f"the browser tests need Debian's {name}; install it with {INSTALL}", pytrace=False)
    return found


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chromium, chromedriver = _binary("chromium"), _binary("chromedriver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield browser
    finally:
        browser.quit()


@dataclass
class Page:
    """The browser on one gateway's ``/admin``."""

    driver: Any
    base: str

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)
        self._loaded()

    def _loaded(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, WAIT).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def fill(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def click_through(self, css: str) -> None:
        """Click what leads to another page and wait until that page has loaded. The old page is
        marked in its window object, which the next document does not inherit: waiting for an old
        element to go stale raced Chromium's navigation ("Node with given id does not belong to the
        document" from a check made while the document was being replaced)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver.execute_script("window.__vizmoLeaving = true")
        self.find(css).click()
        WebDriverWait(self.driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return !window.__vizmoLeaving && document.readyState === 'complete'"))

    def wait_for(self, condition: Any) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, WAIT).until(lambda d: condition())

    def reload_until(self, condition: Any) -> None:
        """Reload until ``condition()`` holds (refusals reach the activity log from a background
        batch, a fraction of a second after their answer)."""
        def holds() -> bool:
            if condition():
                return True
            self.driver.refresh()
            self._loaded()
            return False
        self.wait_for(holds)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url[len(self.base):] if url.startswith(self.base) else url

    @property
    def heading(self) -> str:
        return str(self.find("h1").text)

    def text(self) -> str:
        return str(self.find("main").text)

    def rows(self, table: str = "table") -> list[list[str]]:
        """The body rows of a table as lists of cell texts (white space runs as one space)."""
        return [[" ".join(cell.text.split()) for cell in row.find_elements("css selector", "th, td")]
                for row in self.all(f"{table} tbody tr")]

    def script(self, source: str, *args: Any) -> Any:
        """Run ``source`` as an async script: it calls ``done(value)``."""
        return self.driver.execute_async_script("const done = arguments[arguments.length - 1];\n" + source, *args)

    def fetch(self, method: str, path: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        """A same-origin ``fetch`` from the page (the browser's cookies go with it)."""
        return dict(self.script(
            "const [method, path, form] = arguments;"
            "const init = {method, credentials: 'same-origin', redirect: 'manual'};"
            "if (form) { init.body = new URLSearchParams(form); }"
            "fetch(path, init).then(async r => done({status: r.status, body: await r.text()}),"
            "                      e => done({status: -1, body: String(e)}));", method, path, form))

    def screenshot(self, name: str) -> Path:
        """The whole page (beyond the window) as ``test-output/screenshots/<name>.png``."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.stat().st_size > 1000
        return path


@pytest.fixture
def page(driver: Any, admin_gateway: Any) -> Iterator["Page"]:
    """A signed-out browser at the gateway (``admin_gateway``: tests.admin_support); the window's
    size and JavaScript are restored after."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    try:
        yield Page(driver, f"http://127.0.0.1:{admin_gateway.port}")
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
