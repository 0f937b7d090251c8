"""The header's search box in Chromium: results as you type, "/" to reach it, Enter for the page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import make_prospect


def test_the_header_box_finds_as_you_type_and_slash_goes_to_it(admin_page, live):
    royal = make_prospect(live.settings, name="Royal Plumbing Co", city="Chicago")
    make_prospect(live.settings, name="Cedar Roofing", city="Austin")
    page = admin_page
    page.goto("/calls")
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search everything")
    expect(box).to_be_focused()
    page.keyboard.type("chica")
    results = page.get_by_role("list", name="Search results")
    expect(results).to_contain_text("Royal Plumbing Co")
    expect(results.get_by_role("link")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(results).to_have_count(0)
    box.fill("roof")
    results.get_by_role("link", name="Cedar Roofing").click()
    page.wait_for_url("**/prospects/cedar_roofing")
    page.goto("/prospects")
    page.get_by_role("searchbox", name="Search everything").fill("royal")
    page.get_by_role("searchbox", name="Search everything").press("Enter")  # the form submits to the whole page
    page.wait_for_url("**/search?q=royal")
    expect(page.get_by_role("link", name="Prospect Royal Plumbing Co")).to_have_attribute(
        "href", f"/prospects/{royal.id}"
    )
