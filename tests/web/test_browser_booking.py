"""The prospect's booking pages in Chromium at phone size: booked, moved and cancelled with
JavaScript off; axe finds no serious or critical violation and nothing is wider than the phone on
the booking pages and the unsubscribe page. Screenshots: test-artifacts/screenshots/booking-*.png."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from leadline.emails.message import unsubscribe_token
from tests.booking.helpers import counts, prospect_with_link, set_up
from tests.factories import tampered
from tests.web.conftest import shoot
from tests.web.helpers import send_email
from tests.web.test_browser_axe import SIZES, audit

PHONE = SIZES["phone"]


def _fits(tab: Any) -> None:
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], tab.url


def test_a_prospect_books_moves_and_cancels_on_a_phone_without_javascript(browser, live):
    set_up(live.settings)
    prospect_id, token = prospect_with_link(live.settings, timezone="America/Los_Angeles")
    context = browser.new_context(base_url=live.url, viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        tab.goto(f"/book/{token}")
        expect(tab.get_by_role("heading", name="Book a call")).to_be_visible()
        expect(tab.get_by_text("America/Los_Angeles")).to_be_visible()
        shoot(tab, "booking-choose-phone")
        tab.get_by_role("group", name="Tuesday 08 December").get_by_text("08:00", exact=True).click()  # 10:00 Chicago
        tab.get_by_label("Anything we should know?").fill("Ask for Dan at the front desk")
        tab.get_by_role("button", name="Book this time").click()
        expect(tab.get_by_role("heading", name="Your call is booked")).to_be_visible()
        expect(tab.get_by_text("Tuesday 08 December 2026, 08:00 (America/Los_Angeles)")).to_be_visible()
        shoot(tab, "booking-confirmed-phone")
        assert dict(counts(live.settings)["stages"])[prospect_id] == "scheduled"

        tab.get_by_role("link", name="Reschedule").click()
        expect(tab.get_by_role("heading", name="Move your call")).to_be_visible()
        shoot(tab, "booking-reschedule-phone")
        tab.get_by_role("group", name="Wednesday 09 December").get_by_text("09:30", exact=True).click()
        tab.get_by_role("button", name="Move my call here").click()
        expect(tab.get_by_role("status").get_by_text("Your call has moved")).to_be_visible()
        expect(tab.get_by_text("Wednesday 09 December 2026, 09:30")).to_be_visible()

        tab.get_by_role("link", name="Cancel").click()
        expect(tab.get_by_role("heading", name="Cancel your call?")).to_be_visible()
        shoot(tab, "booking-cancel-phone")
        tab.get_by_role("button", name="Cancel the call").click()
        expect(tab.get_by_role("heading", name="Your call is cancelled")).to_be_visible()
        shoot(tab, "booking-cancelled-phone")

        tab.goto(f"/book/{tampered(token)}")
        expect(tab.get_by_role("heading", name="This link is not available")).to_be_visible()
        shoot(tab, "booking-invalid-phone")
    finally:
        context.close()


def test_the_public_pages_pass_axe_and_fit_a_phone(browser, live):
    set_up(live.settings)
    prospect_id, token = prospect_with_link(live.settings)
    _, other = prospect_with_link(live.settings)
    email_id = send_email(live.settings, prospect_id)
    context = browser.new_context(base_url=live.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    try:
        tab.goto(f"/book/{token}")
        tab.get_by_role("group").first.get_by_text("10:00", exact=True).click()
        tab.get_by_role("button", name="Book this time").click()
        manage = tab.url.split("?")[0].removeprefix(live.url)
        for path in (f"/book/{other}", manage, f"{manage}/reschedule", f"{manage}/cancel", "/book/nonsense",
                     f"/unsubscribe/{unsubscribe_token(live.settings, email_id)}", "/unsubscribe/nonsense"):  # fmt: skip
            tab.goto(path)
            problems += [f"{path}: {line}" for line in audit(tab)]
            _fits(tab)
        tab.goto(f"/unsubscribe/{unsubscribe_token(live.settings, email_id)}")
        shoot(tab, "booking-unsubscribe-phone")
        tab.get_by_role("button", name="Unsubscribe").click()
        expect(tab.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
        _fits(tab)
        problems += [f"unsubscribed: {line}" for line in audit(tab)]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
