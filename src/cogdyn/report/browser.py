"""Render a report in headless Chromium (via Selenium and chromedriver): a full-page screenshot
and the browser console's errors. Used by the browser test; needs the ``selenium`` package and
Chromium with its driver (Debian: ``chromium``, ``chromium-driver``; ``.ci/browser-setup``)."""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVER_NAMES = ("chromedriver",)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) executables on PATH (also /usr/lib/chromium), or None."""
    browser = next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    driver = next((p for n in DRIVER_NAMES if (p := shutil.which(n))), None)
    if driver is None and Path("/usr/lib/chromium/chromedriver").is_file():
        driver = "/usr/lib/chromium/chromedriver"
    return (browser, driver) if browser and driver else None


@dataclass(frozen=True)
class Rendering:
    """What the browser saw: the full-page PNG, page size in CSS pixels, console entries at level
    SEVERE, and the page title."""

    png: bytes
    width: int
    height: int
    console_errors: list[dict[str, Any]]
    title: str


def render(html_path: str | Path, *, width: int = 1200, timeout_s: float = 60.0) -> Rendering:
    """Load ``html_path`` from disk (file://) in headless Chromium and capture the whole page.

    Raises RuntimeError when Chromium or its driver is not installed.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("Chromium and chromedriver not found; run .ci/browser-setup")
    browser, driver_path = found
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},900"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        driver.set_page_load_timeout(timeout_s)
        driver.get(Path(html_path).resolve().as_uri())
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        w, h = int(size["width"]), int(size["height"])
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
            },
        )
        logs = driver.get_log("browser")
        title = driver.title
    finally:
        driver.quit()
    errors = [e for e in logs if e.get("level") == "SEVERE"]
    return Rendering(base64.b64decode(shot["data"]), w, h, errors, title)
