"""The prospect page's text forms in Chromium at phone size (390 px): log a text (no JavaScript
needed: a plain form), see it on the timeline; a refused one shows its error beside the form; the
page stays within the screen and axe finds no serious violation."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.texts import service
from tests.conftest import make_user
from tests.factories import make_prospect, snapshot
from tests.texts.test_service import add_template
from tests.web.conftest import live, settle, shoot, sign_in  # noqa: F401  (live: the server fixture)
from tests.web.test_browser_axe import audit

PHONE_SIZE = {"width": 390, "height": 844}


def test_log_a_text_from_the_prospect_page_on_a_phone(browser, live):  # noqa: F811
    royal = make_prospect(live.settings, name="Royal Plumbing Co", phone="(512) 555-0142", timezone="America/Chicago")
    context = browser.new_context(base_url=live.url, viewport=PHONE_SIZE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        sign_in(tab, make_user(live.settings, "ann@example.com", "member"))
        tab.goto(f"/prospects/{royal.id}")
        tab.locator("#texts > summary").click()
        assert "Texts go to +15125550142" in tab.locator("[data-text-number]").inner_text()
        form = tab.locator("#text-log-form")
        form.get_by_label("The text was").select_option("in")
        form.get_by_label("What it said").fill("Owner here - text me after 5, I'm on a job")
        form.get_by_role("button", name="Log the text").click()
        tab.wait_for_url("**done=texted**")
        timeline = tab.get_by_role("region", name="Timeline").inner_text()
        assert "from +15125550142: Owner here - text me after 5, I'm on a job" in timeline
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
        shoot(tab, "prospect-text-phone")

        before = snapshot(live.settings)
        if not tab.locator("#text-log-form").is_visible():
            tab.locator("#texts > summary").click()
        form = tab.locator("#text-log-form")
        form.get_by_label("What it said").fill("x" * 700)
        form.get_by_role("button", name="Log the text").click()
        assert "SMS segments" in tab.locator("#text-log-form").inner_text()
        assert snapshot(live.settings) == before
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]

        add_template(live.settings)  # the Preview button shows the text and its segments, without JavaScript
        tab.goto(f"/prospects/{royal.id}")
        tab.locator("#texts > summary").click()
        before = snapshot(live.settings)
        send = tab.locator("#text-send-form")
        send.get_by_label("Text template").select_option("hello")
        send.get_by_role("button", name="Preview").click()
        shown = tab.locator("#text-preview [data-text-preview]").inner_text()
        assert "To: +15125550142" in shown and "1 segment (GSM-7; the limit is 3)" in shown, shown
        assert snapshot(live.settings) == before
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    finally:
        context.close()
    with unit_of_work(live.settings, readonly=True) as session:
        assert [(m.direction, m.status) for m in service.search(session, prospect_id=royal.id)] == [("in", "logged")]

    scripted = browser.new_context(base_url=live.url, viewport=PHONE_SIZE)
    try:
        tab = scripted.new_page()
        sign_in(tab, "ann@example.com")
        tab.goto(f"/prospects/{royal.id}")
        tab.locator("#texts > summary").click()
        tab.locator("#text-send-form").get_by_label("Text template").select_option("hello")  # htmx brings the preview
        assert "1 segment" in tab.locator("#text-preview [data-text-preview]").inner_text()
        settle(tab)
        assert audit(tab) == []
    finally:
        scripted.close()
