"""Debian's Chromium, headless, driven through Selenium and its system driver (nothing is downloaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from gm_common.errors import MissingDependencyError

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def find_chromium() -> tuple[str, str]:
    """The paths of ``chromium`` and ``chromedriver``, or a clear error."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise MissingDependencyError("Chromium and its driver are needed: apt-get install chromium chromium-driver")
    return browser, driver


def headless_chromium(profile: str | Path, width: int = 1280, height: int = 900) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile folder ``profile`` and a ``width`` x ``height`` window."""
    browser, driver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))
