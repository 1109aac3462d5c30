"""Real-browser fixtures: Debian's headless Chromium driven by Selenium.

Software WebGL (SwiftShader) is opt-in in current Chromium: without
--enable-unsafe-swiftshader the map canvas stays blank. Without Chromium and chromedriver the
browser tests skip with one line saying so (CI installs them: .ci/run)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver")


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if os.path.isabs(name) and os.path.exists(name) else None)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    binary, driver = _find(CHROMIUM), _find(DRIVERS)
    if not binary or not driver:
        pytest.skip("browser tests skipped: no Chromium/chromedriver found "
                    "(apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                "--window-size=1400,900", "--disable-dev-shm-usage", "--disable-gpu-sandbox"):
        options.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll until truthy. An element the page replaced while it was read (the views rebuild
    their panels on each answer) counts as "not yet", not as a failure."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def wait():
    """`wait(predicate, timeout, what)`: poll until truthy, else fail naming `what`."""
    return wait_for
