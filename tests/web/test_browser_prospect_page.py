"""The prospect page reads first (issue 17.6): who, stage, value, next step, tap-to-call and mailto
at the top, then the actions, then the rest; editing behind "Edit details"; on a phone the actions
come within the first screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import make_prospect
from tests.web.conftest import shoot
from tests.web.helpers import book_call, make_customer

PHONE = {"width": 390, "height": 844}


def test_the_page_opens_on_who_and_what_next_with_editing_behind_a_button(admin_page, live):
    royal = make_prospect(live.settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", phone="(312) 555-0142",
                          email="daniel@royal.example", deal_value=2400)  # fmt: skip
    book_call(live.settings, royal.id, days=2)
    page = admin_page
    page.set_viewport_size(PHONE)
    page.goto(f"/prospects/{royal.id}")
    head = page.get_by_role("banner", name="Summary").or_(page.locator("header.prospect-head"))
    expect(head.get_by_role("link", name="Call (312) 555-0142")).to_have_attribute("href", "tel:(312)555-0142")
    expect(head.get_by_role("link", name="Email daniel@royal.example")).to_have_attribute(
        "href", "mailto:daniel@royal.example"
    )
    expect(page.locator("[data-next-step]")).to_contain_text("Call ")
    actions = page.get_by_role("region", name="Actions")
    top = actions.bounding_box()
    assert top is not None and top["y"] < PHONE["height"] * 1.5, top  # the actions start on the first screens
    details = page.get_by_role("region", name="Details").bounding_box()
    assert details is not None and details["y"] > top["y"]  # actions before the details
    edit_name = page.locator("#edit-form").get_by_label("Name", exact=True)
    expect(edit_name).to_be_hidden()  # the form waits behind its button
    shoot(page, "prospect-phone")
    page.get_by_text("Edit details").click()
    expect(edit_name).to_be_visible()
    edit_name.fill("Royal Plumbing & Drain")
    page.locator("#edit-form").get_by_role("button", name="Save").click()
    page.wait_for_url("**?done=saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Royal Plumbing & Drain")


def test_a_customer_badge_links_to_the_customer(admin_page, live):
    won = make_prospect(live.settings, name="Baker Electric")
    customer = make_customer(live.settings, won.id)
    page = admin_page
    page.goto(f"/prospects/{won.id}")
    badge = page.get_by_role("link", name="Customer since")
    expect(badge).to_have_attribute("href", f"/customers/{customer}")
    badge.click()
    page.wait_for_url(f"**/customers/{customer}")


def test_a_name_of_100_letters_without_a_space_fits_a_phone(admin_page, live):
    """An import's 100-letter name stretched the page to 1,453 px at phone width: the heading did not
    wrap and the action forms' fields grew with it."""
    long = make_prospect(live.settings, name="L" * 100, contact_name="C" * 100, email=f"{'e' * 60}@example.com")
    page = admin_page
    page.set_viewport_size(PHONE)
    page.goto(f"/prospects/{long.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("L" * 100)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_text("Edit details").click()  # the form behind the button too
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
