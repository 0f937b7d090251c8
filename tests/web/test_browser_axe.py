"""Accessibility and phone layout of every page, in a real browser: axe-core (vendored under
tests/vendor/axe, never loaded from a CDN) finds no serious or critical violation at desktop and
phone sizes, as an admin and as a viewer, and no page is wider than a 390 px phone."""

from __future__ import annotations

from typing import Any

import pytest

from leadline.config import Settings
from tests.conftest import ROOT, make_user
from tests.factories import make_prospect
from tests.web.conftest import settle, sign_in
from tests.web.helpers import book_call, make_customer

AXE = (ROOT / "tests" / "vendor" / "axe" / "axe.min.js").read_text()
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def app_pages(settings: Settings) -> list[str]:
    """Every page of the app, with one record of each kind to open."""
    prospect = make_prospect(settings, name="Summit Electric Cooperative of the Hill Country Incorporated",
                             email="owner@summit-electric.com")  # fmt: skip
    call = book_call(settings, prospect.id, notes="Talk about the grid health report")
    other = make_prospect(settings, name="Royal Plumbing", email="office@royal-plumbing.com")
    customer = make_customer(settings, other.id)
    return ["/", "/today", "/prospects", f"/prospects/{prospect.id}", "/prospects/import", "/board", "/tasks",
            "/calls", f"/calls/{call}", "/emails", "/customers", f"/customers/{customer}", "/reports",
            "/settings", "/search?q=Summit", f"/prospects/{prospect.id}/compose"]  # fmt: skip


def audit(tab: Any) -> list[str]:
    """axe's serious and critical violations on the page, one line each; evaluated through the
    DevTools protocol, so the app's CSP (scripts from self only) needs no exception."""
    if not tab.evaluate("() => typeof window.axe !== 'undefined'"):
        tab.evaluate(f"() => {{ {AXE}\n }}")
    found = tab.evaluate("""async () => {
        const result = await window.axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
    }""")
    return list(found)


def check_pages(browser: Any, live: Any, paths: list[str], email: str | None) -> list[str]:
    problems: list[str] = []
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live.url, viewport=viewport)
        # The walks are the longest browser tests (dozens of pages), run beside the other test worker's
        # servers and processes on two cores: one load of /login there once took over 10 s.
        context.set_default_timeout(30_000)
        tab = context.new_page()
        try:
            if email:
                sign_in(tab, email)
            for path in paths:
                tab.goto(path)
                settle(tab)
                for line in audit(tab):
                    problems.append(f"{email or 'anonymous'} {size} {path}: {line}")
                if size == "phone":
                    width = tab.evaluate("() => document.documentElement.scrollWidth")
                    if width > viewport["width"]:
                        problems.append(f"{email or 'anonymous'} phone {path}: page is {width} px wide")
        finally:
            context.close()
    return problems


@pytest.mark.slow
def test_every_page_passes_axe_and_fits_a_phone(browser, live):
    paths = app_pages(live.settings)
    admin = make_user(live.settings)
    viewer = make_user(live.settings, "viewer@example.com", "viewer")
    problems = check_pages(browser, live, ["/login"], None)
    problems += check_pages(browser, live, paths, admin)
    problems += check_pages(browser, live, paths, viewer)
    assert not problems, "\n".join(problems)


def test_axe_finds_a_violation_when_there_is_one(browser, live):
    """The audit can fail: an unlabelled input and a low-contrast text are reported."""
    context = browser.new_context(base_url=live.url)
    tab = context.new_page()
    try:
        tab.goto("/login")
        tab.evaluate("""() => {
            const input = document.createElement("input");
            document.querySelector("main").append(input);
            const faint = document.createElement("p");
            faint.textContent = "hard to read"; faint.style.color = "#eee"; faint.style.background = "#fff";
            document.querySelector("main").append(faint);
        }""")
        found = " ".join(audit(tab))
        assert "label" in found and "color-contrast" in found
    finally:
        context.close()


def test_keyboard_reaches_the_skip_link_and_the_phone_menu(admin_page, live):
    page = admin_page
    page.set_viewport_size(SIZES["phone"])
    page.goto("/prospects")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("link => link === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()
    menu = page.get_by_role("button", name="Menu")
    menu.focus()
    assert menu.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true" and nav.is_visible()
    page.keyboard.press("Tab")  # the first link of the menu is next
    assert page.evaluate("() => document.activeElement.textContent") == "Dashboard"
    menu.press("Space")
    assert menu.get_attribute("aria-expanded") == "false" and not nav.is_visible()
    page.set_viewport_size(SIZES["desktop"])  # on a wide screen the menu is always there, no button
    assert nav.is_visible() and not menu.is_visible()


def test_the_phone_menu_opens_without_javascript(browser, live):
    context = browser.new_context(base_url=live.url, viewport=SIZES["phone"], java_script_enabled=False)
    tab = context.new_page()
    try:
        sign_in(tab, make_user(live.settings))  # a plain form post
        nav = tab.get_by_role("navigation", name="Main")
        assert not nav.is_visible() and not tab.get_by_role("button", name="Menu").is_visible()
        tab.get_by_role("checkbox", name="Menu").press("Space")
        assert nav.is_visible()
    finally:
        context.close()


def test_the_favicon_is_served(page, live):
    icon = page.request.get("/favicon.ico")
    assert (
        icon.ok
        and icon.headers["content-type"].startswith("image/svg+xml")
        and icon.url.endswith("/static/favicon.svg")
    )
    page.goto("/login")
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/static/favicon.svg"


def test_an_htmx_request_in_flight_shows_the_loading_bar(admin_page):
    page = admin_page
    page.goto("/prospects")
    bar = "() => getComputedStyle(document.body, '::before').content"
    assert page.evaluate(bar) == "none"
    page.evaluate("() => document.querySelector('#site-search').classList.add('htmx-request')")  # as htmx marks it
    assert page.evaluate(bar) != "none"
    page.goto("/")  # the dashboard's background polling shows no bar
    page.evaluate("() => document.querySelector('[hx-trigger^=\"every\"]').classList.add('htmx-request')")
    assert page.evaluate(bar) == "none"
