"""Headless Chromium for the console's browser tests: Debian's ``chromium`` and its matching
``chromium-driver``, driven by Selenium with the system binaries (Selenium Manager never runs,
so nothing is downloaded). Each step's screenshot lands in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
#: Waits for what the worker does asynchronously (a deferred reply, a relayed message).
PATIENCE_SECONDS = 30.0


def _binary(names: tuple[str, ...], package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        f"the browser tests need Debian's {package} package "
        f"(apt-get install chromium chromium-driver; .ci/run installs them)"
    )


@contextmanager
def chromium(width: int = 1500, height: int = 950) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM") or _binary(
        ("chromium", "chromium-browser"), "chromium"
    )
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=en-GB",
    ):
        options.add_argument(argument)
    service = Service(os.environ.get("CHROMEDRIVER") or _binary(("chromedriver",), "chromium-driver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The console in the browser, with waits phrased as what a person would look for."""

    def __init__(self, driver: WebDriver, url: str, test_name: str) -> None:
        self.driver = driver
        self.url = url
        self._shots = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)
        shutil.rmtree(self._shots, ignore_errors=True)
        self._shots.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def open(self, member: str = "alice") -> None:
        self.driver.get(self.url)
        self.driver.execute_script("localStorage.setItem('flexcord.member', arguments[0])", member)
        self.driver.get(self.url)
        self.until(
            lambda: self.driver.execute_script("return document.body.dataset.ready") == "true",
            "the console loaded",
        )

    def shot(self, step: str) -> Path:
        self._count += 1
        path = self._shots / f"{self._count:02d}-{step}.png"
        self.driver.save_screenshot(str(path))
        return path

    def until[T](self, condition: Callable[[], T], what: str, timeout: float = PATIENCE_SECONDS) -> T:
        def attempt(_: Any) -> T | bool:
            try:
                return condition()
            except StaleElementReferenceException:  # redrawn under us: look again
                return False

        try:
            result: T = WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(attempt)
        except TimeoutException:
            self.shot("timed-out")
            logs = [entry.get("message") for entry in self.driver.get_log("browser")]
            raise AssertionError(f"timed out waiting for: {what} (browser console: {logs})") from None
        return result

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text_of(self, css: str) -> str:
        return str(self.find(css).text)

    def shows(self, css: str, text: str, timeout: float = PATIENCE_SECONDS) -> None:
        self.until(lambda: text in self.text_of(css), f"{text!r} in {css}", timeout)

    def button(self, label: str, within: str = "#messages", last: bool = True) -> WebElement:
        """The (newest) enabled button with this label."""

        def enabled() -> WebElement | None:
            found = [
                b
                for b in self.driver.find_elements(By.CSS_SELECTOR, f"{within} button")
                if b.text.strip() == label and b.is_enabled()
            ]
            return (found[-1] if last else found[0]) if found else None

        return self.until(enabled, f"a {label!r} button in {within}")

    def press(self, label: str, within: str = "#messages") -> None:
        """Click the newest such button (again, if a redraw replaced it under the pointer)."""

        def clicked() -> bool:
            self.button(label, within).click()
            return True

        self.until(clicked, f"pressing {label!r}")

    def become(self, member: str) -> None:
        """Choose who you are in the member picker, and wait for the page to follow."""

        self.choose("#member", member)
        self.until(
            lambda: self.driver.execute_script("return document.body.dataset.member") == member,
            f"being {member}",
        )

    def choose(self, css: str, value: str) -> None:
        """Pick ``value`` in the (newest) select matching ``css`` (again, if a redraw replaced it)."""
        from selenium.webdriver.support.ui import Select

        def chosen() -> bool:
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            if not found:
                return False
            Select(found[-1]).select_by_value(value)
            return True

        self.until(chosen, f"choosing {value!r} in {css}")

    def click(self, css: str) -> None:
        """Click the first element matching ``css`` (again, if a redraw replaced it)."""

        def clicked() -> bool:
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            if not found:
                return False
            found[0].click()
            return True

        self.until(clicked, f"clicking {css}")

    def channel(self, name: str) -> None:
        def choose() -> bool:
            for button in self.driver.find_elements(By.CSS_SELECTOR, "#channels .channel"):
                if button.text.strip().endswith(name):
                    button.click()
                    return True
            return False

        self.until(choose, f"the channel {name}")

    def slash(self, command: str, **options: str) -> None:
        """Type ``/command``, pick it from the completion list, fill its options and send."""
        box = self.find("#input")
        box.clear()
        box.send_keys(f"/{command}")
        self.until(
            lambda: self.find(f'#suggestions li[data-command="{command}"]').is_displayed(),
            f"/{command} suggested",
        )
        self.find(f'#suggestions li[data-command="{command}"]').click()
        for name, value in options.items():
            self.find(f'#options [data-option="{name}"]').send_keys(value)
        self.find("#bar button[type=submit]").click()

    def fill_modal(self, values: dict[str, str], files: dict[str, Path] | None = None) -> None:
        self.until(lambda: self.find("#overlay form.modal").is_displayed(), "the form opened")
        for name, value in values.items():
            field = self.find(f'#overlay [name="{name}"]')
            field.clear()
            field.send_keys(value)
        for name, path in (files or {}).items():
            self.find(f'#overlay [name="{name}"]').send_keys(str(path))

    def submit_modal(self) -> None:
        self.find("#overlay button[type=submit]").click()
        self.until(lambda: not self.find("#overlay").is_displayed(), "the form closed")
