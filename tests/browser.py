"""Opening our HTML pages in headless Chromium, for the browser tests.

Use it from a test module::

    import browser as browser_kit

    browser = browser_kit.browser  # the fixture
    pytestmark = pytest.mark.browser

- ``browser``: a module-scoped fixture yielding a Playwright ``Browser`` on the machine's
  Chromium (``/usr/bin/chromium``); it skips, with the reason, when playwright or Chromium is
  missing or does not start.
- ``page_errors(page)``: a list that fills with the page's console errors and uncaught errors.
- ``no_network(page)``: a list that fills with every request that is not ``file:``, ``data:``
  or ``about:`` -- each one aborted, so a page that reaches for the network fails the test
  without waiting for it.
- ``screenshot(page, name)``: a full-page PNG in ``$PERFBASELINE_ARTIFACTS`` (default
  ``tests/artifacts/``, ignored by git), named after what it shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "browser", "no_network", "page_errors", "screenshot"]

CHROMIUM = "/usr/bin/chromium"
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
_LOCAL = ("file:", "data:", "about:", "blob:")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``); skipped, with the reason, without one."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=_ARGS
            )
        except Error as exc:
            pytest.skip(f"Chromium at {CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


def page_errors(page: Any) -> list[str]:
    """The page's console errors and uncaught exceptions, as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: _console(errors, message))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def _console(errors: list[str], message: Any) -> None:
    if message.type == "error":
        errors.append(message.text)


def no_network(page: Any) -> list[str]:
    """Abort, and record, every request the page makes beyond local files and data URLs."""
    blocked: list[str] = []

    def route(route: Any) -> None:
        if route.request.url.startswith(_LOCAL):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    # recorded from the request event: it also sees what routing does not (a websocket's start)
    page.on("request", lambda request: _record(blocked, request.url))
    return blocked


def _record(blocked: list[str], url: str) -> None:
    if not url.startswith(_LOCAL):
        blocked.append(url)


def artifacts() -> Path:
    """Where screenshots go: ``$PERFBASELINE_ARTIFACTS``, or ``tests/artifacts/``."""
    folder = Path(os.environ.get("PERFBASELINE_ARTIFACTS") or Path(__file__).parent / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot ``<name>.png`` in :func:`artifacts`."""
    path = artifacts() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
