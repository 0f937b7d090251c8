"""Browser tests: a real ``leadline`` app served by uvicorn on a free port, driven by
Playwright through Debian's Chromium (/usr/bin/chromium, headless). Screenshots of each page
go to test-artifacts/screenshots/ (kept by CI as artifacts)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadline.config import Settings
from tests.conftest import PASSWORD, ROOT, make_user

CHROMIUM = os.environ.get("LEADLINE_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
# What this machine needs for a headless Chromium (no sandbox as root, no calls home).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live(sqlite_settings: Settings) -> Iterator[LiveServer]:
    """The app with its embedded job worker, as `leadline serve` runs it, on SQLite."""
    import uvicorn

    from leadline.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(sqlite_settings, worker=True), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", sqlite_settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh browser tab (own cookies) on the live server; relative URLs work in goto()."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(tab: Any, email: str, password: str = PASSWORD) -> None:
    # Often a new context's first page: its renderer starts with it, which beside the other test
    # worker on two cores once took over the 10 s a page is given.
    tab.goto("/login", timeout=30_000)
    tab.get_by_label("E-mail address").fill(email)
    tab.get_by_label("Password").fill(password)
    # Signing in hashes the password on purpose (slow by design), then loads the first page: beside
    # the other test worker on two cores that took over the 10 s a click is given.
    tab.get_by_role("button", name="Sign in").click(timeout=30_000)
    tab.wait_for_url(lambda url: "/login" not in url, timeout=30_000)


def settle(tab: Any) -> None:
    """The page has loaded and the htmx requests it started on loading have answered. Playwright's
    "networkidle" waits for half a second without a request on every page, which a walk over every
    page pays dozens of times."""
    from playwright.sync_api import expect

    tab.wait_for_load_state("load")
    expect(tab.locator(".htmx-request")).to_have_count(0)  # a locator: no eval, which the CSP forbids


@pytest.fixture
def admin_page(page: Any, live: LiveServer) -> Any:
    """A tab signed in as an admin (admin@example.com)."""
    sign_in(page, make_user(live.settings))
    return page


def shoot(tab: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
