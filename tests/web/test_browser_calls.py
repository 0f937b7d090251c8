"""Calls in a real browser: log a call through the form, see it in the completed list and the database."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import make_prospect
from tests.web.conftest import shoot, sign_in
from tests.web.helpers import book_call, stage_of


def test_log_a_call_through_the_form(admin_page, live, browser):
    royal = make_prospect(live.settings, name="Royal Plumbing Co", sales_status="replied")
    booked = book_call(live.settings, royal.id, days=-0.01, notes="Intro call")
    later = make_prospect(live.settings, name="Baker Roofing")
    book_call(live.settings, later.id, days=2)
    tab = admin_page
    tab.goto("/calls?tab=overdue")
    assert "Royal Plumbing Co" in tab.locator("#call-list").inner_text()
    tab.get_by_text("Log a call", exact=True).click()
    form = tab.locator("#log-form")
    # A mistake first: the field is named, nothing is written, what was typed stays.
    picker = form.get_by_role("combobox", name="Prospect")  # typed text fills its suggestions from the search
    picker.fill("Baker Roo")
    expect(tab.locator("#prospect-ids option")).to_have_count(1)
    assert tab.locator("#prospect-ids option").get_attribute("value") == later.id
    picker.fill(royal.id)  # picking a suggestion puts its id in the box
    form.get_by_label("Notes").fill("Daniel was very interested. Grid health 48% is the pain point.")
    form.get_by_role("button", name="Log call").click()
    assert tab.get_by_role("alert").first.inner_text() == "Outcome: is required"
    assert stage_of(live.settings, royal.id) == "scheduled"
    form = tab.locator("#log-form")
    assert form.get_by_label("Notes").input_value().startswith("Daniel was very interested")
    form.locator("select[name=outcome]").select_option("interested")
    form.get_by_label("Duration").fill("25m")
    form.get_by_label("Objections").fill("How much will this cost?\nDo you have case studies?\nWhat's the timeline?")
    form.get_by_label("Next steps", exact=True).fill("Send ROI proposal + case studies")
    shoot(tab, "calls-log-form")
    form.get_by_role("button", name="Log call").click()
    tab.wait_for_url("**/calls?tab=completed&done=logged")
    listed = tab.locator("#call-list").inner_text()
    assert "Royal Plumbing Co" in listed and "25 min" in listed
    assert "How much will this cost?; Do you have case studies?; What's the timeline?" in listed
    assert tab.get_by_role("status").inner_text() == "Call logged."
    shoot(tab, "calls")

    from leadline.calls import service
    from leadline.db import unit_of_work

    with unit_of_work(live.settings, readonly=True) as session:
        call = service.get(session, booked)
        assert (call.status, call.outcome, call.duration) == ("completed", "interested", 1500)
        assert call.objection_categories == ["price", "proof", "timeline"]
        assert call.next_steps == "Send ROI proposal + case studies"
    assert stage_of(live.settings, royal.id) == "interested"

    phone = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        sign_in(small, "admin@example.com")
        small.goto("/calls?tab=upcoming")
        assert "Baker Roofing" in small.locator("#call-list").inner_text()
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
        shoot(small, "calls-phone")
    finally:
        phone.close()
