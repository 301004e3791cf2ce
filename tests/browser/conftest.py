"""Browser fixtures: the app served by uvicorn in a background thread, and headless Chromium.

Chromium is the system one (/usr/bin/chromium); Playwright never downloads a browser here. A missing
Chromium is a failure, not a skip: these tests are the only check of the pages with HTMX and CSS.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from assessment.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 and a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    # the already bound socket is handed over, so no other process can take the port in between
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            pytest.fail(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app of tests/conftest.py (English by default, clean database) served over HTTP."""
    with serve(app) as url:
        yield url


@pytest.fixture
def vi_app(database_url, engine) -> FastAPI:
    from web.app import create_app

    return create_app(Settings(database_url=database_url, default_language="vi"), engine=engine)


@pytest.fixture
def live_server_vi(vi_app) -> Iterator[str]:
    """The same database served by an app whose new visitors get Vietnamese."""
    with serve(vi_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install the 'chromium' package (never 'playwright install')")
    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield chromium
        chromium.close()


class Pages:
    """Opens pages, each in a new browser context (a new device), and collects every console error
    and uncaught script error of them all."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts = []
        self.errors: list[str] = []
        self.expected: list[tuple[str, int]] = []

    def expect_error_status(self, path: str, status: int) -> None:
        """A response the test provokes on purpose (a form with errors answers 422): Chromium logs
        every 4xx as a console error, so that one is not counted."""
        self.expected.append((path, status))

    def open(self, base_url: str, **context_options) -> Page:
        options = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN", **context_options}
        context = self.browser.new_context(base_url=base_url, accept_downloads=True, **options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if url.endswith("/favicon.ico") and "404" in message.text:
            return
        if any(url.split("?")[0].endswith(path) and f"status of {status} " in message.text
               for path, status in self.expected):
            return
        self.errors.append(f"console: {message.text} ({url})")

    def assert_no_errors(self) -> None:
        assert self.errors == [], "errors in the browser console:\n" + "\n".join(self.errors)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()


def looks_the_same(old: Path, new: bytes) -> bool:
    """Whether a fresh screenshot shows what the stored one shows: font rendering differs in a few
    pixels from run to run (and a focus ring may blink), and rewriting the PNG for that would change
    the repository every run. (Pillow comes with Matplotlib.)"""
    from PIL import Image, ImageChops

    if not old.exists():
        return False
    with Image.open(old) as before, Image.open(io.BytesIO(new)) as after:
        if before.size != after.size:
            return False
        changed = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).convert("L")
        histogram = changed.histogram()
        return sum(histogram[16:]) <= 0.005 * before.size[0] * before.size[1]  # under 0.5 % of the pixels


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky progress bar is drawn mid-page
        picture = page.screenshot(full_page=True)
        if not looks_the_same(path, picture):
            path.write_bytes(picture)
        return path

    return take
