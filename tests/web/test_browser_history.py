"""Back and Forward always give whole pages: a URL that htmx filled with a fragment is never
shown as that bare fragment when the browser comes back to it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import make_prospect


def _filtered_list_then_a_record(page, path: str, field: str, text: str, row: str, link: str) -> None:
    page.goto(path)
    page.get_by_label(field, exact=True).fill(text)  # htmx swaps the table in and pushes the filtered URL
    page.wait_for_url(f"**{path}?*{text}*")
    expect(page.locator(row)).to_have_count(1)
    page.get_by_role("link", name=link).first.click()
    page.wait_for_load_state()


def _whole_page(page) -> None:
    """Styled, with the menu: not the results table alone."""
    expect(page.get_by_role("navigation").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") != "8px"  # the app's stylesheet applied
    assert page.locator("link[rel=stylesheet]").count() >= 1


def test_back_and_forward_after_filtering_prospects_give_the_styled_filtered_page(admin_page, live):
    page = admin_page
    make_prospect(live.settings, name="Delta HVAC", email="hello@delta-hvac.com")
    make_prospect(live.settings, name="Cedar Roofing", email="owner@cedar-roofing.com")
    _filtered_list_then_a_record(page, "/prospects", "Search", "delta", "table.prospects tbody tr", "Delta HVAC")
    page.wait_for_url("**/prospects/delta_hvac")
    for _ in range(2):  # twice: the second time the browser has the fragment's URL in its cache
        page.go_back()
        page.wait_for_url("**/prospects?*search=delta*")
        _whole_page(page)
        expect(page.locator("table.prospects tbody tr")).to_have_count(1)
        expect(page.get_by_label("Search", exact=True)).to_have_value("delta")
        page.go_forward()
        page.wait_for_url("**/prospects/delta_hvac")
        _whole_page(page)
        expect(page.get_by_role("heading", name="Delta HVAC").first).to_be_visible()


def test_a_result_clicked_after_typing_a_search_is_opened_without_another_filter_request(admin_page, live):
    """The search box filters as it is typed; leaving it for a result's link must not filter again
    (that request's answer, pushing the list's address, could cancel the link's page: CI saw it)."""
    page = admin_page
    make_prospect(live.settings, name="Delta HVAC", email="hello@delta-hvac.com")
    make_prospect(live.settings, name="Cedar Roofing", email="owner@cedar-roofing.com")
    page.goto("/prospects")
    page.get_by_label("Search", exact=True).fill("delta")
    page.wait_for_url("**/prospects?*search=delta*")
    expect(page.locator("table.prospects tbody tr")).to_have_count(1)
    filters: list[str] = []
    page.on("request", lambda request: filters.append(request.url) if request.headers.get("hx-request") else None)
    page.get_by_role("link", name="Delta HVAC").first.click()
    page.wait_for_url("**/prospects/delta_hvac")
    expect(page.get_by_role("heading", name="Delta HVAC").first).to_be_visible()
    assert filters == []
    page.go_back()  # clearing the box still filters, as it is typed
    page.wait_for_url("**/prospects?*search=delta*")
    page.get_by_label("Search", exact=True).fill("")
    page.wait_for_url(lambda url: "search=delta" not in url)
    expect(page.locator("table.prospects tbody tr")).to_have_count(2)


def _emailed_prospect(settings: Any) -> str:
    """Delta HVAC, sent one email: a row with a prospect's link on the emails list."""
    from leadline.emails.flows import send

    prospect = make_prospect(settings, name="Delta HVAC", email="hello@delta-hvac.com")
    assert send(settings, "pain_point", actor="test", prospect_ids=[prospect.id]).count("sent") == 1
    return prospect.id


def _press_a_result_after_typing(page: Any, prospect_id: str, press: str) -> list[str]:
    """On the emails list, type in the Template field, then press (``click`` or ``tap``) the
    prospect's link straight away: the prospect's page opens. The htmx requests made meanwhile."""
    page.goto("/emails")
    page.get_by_label("Template", exact=True).fill("no such template")
    filters: list[str] = []
    page.on("request", lambda request: filters.append(request.url) if request.headers.get("hx-request") else None)
    getattr(page.get_by_role("link", name="Delta HVAC").first, press)()
    page.wait_for_url(f"**/prospects/{prospect_id}")
    expect(page.get_by_role("heading", name="Delta HVAC").first).to_be_visible()
    return filters


def test_a_link_clicked_straight_from_a_typed_email_filter_is_followed(admin_page, live):
    """The emails list filters when a field changes; a field left by pressing a link in the results
    does not filter first (its answer would swap the table under the pointer): the link is followed."""
    page = admin_page
    filters = _press_a_result_after_typing(page, _emailed_prospect(live.settings), "click")
    assert filters == []
    page.go_back()  # leaving the field otherwise still filters
    page.wait_for_url("**/emails")
    page.get_by_label("Template", exact=True).fill("nothing")
    page.get_by_label("Template", exact=True).press("Tab")
    page.wait_for_url("**/emails?*template=nothing&*")
    expect(page.get_by_role("link", name="Delta HVAC")).to_have_count(0)


def test_on_a_phone_a_link_tapped_straight_from_a_typed_filter_is_followed(browser, live):
    """The same with a finger at phone width: a tap's press on the link keeps the filter back."""
    from tests.conftest import make_user
    from tests.web.conftest import sign_in

    prospect_id = _emailed_prospect(live.settings)
    context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True)  # fmt: skip
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, make_user(live.settings))
        filters = _press_a_result_after_typing(page, prospect_id, "tap")
        assert filters == [] and errors == []
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/prospects?search=x", "/emails?search=x"])
def test_a_fragment_is_never_cached_and_pages_vary_on_htmx(page_client, path):
    whole = page_client.get(path)
    fragment = page_client.get(path, headers={"HX-Request": "true", "HX-Target": "results"})
    assert whole.status_code == fragment.status_code == 200
    assert "<html" in whole.text and "<html" not in fragment.text
    for answer in (whole, fragment):
        assert {"hx-request", "hx-target"} <= {v.strip().lower() for v in answer.headers["vary"].split(",")}
    assert fragment.headers["cache-control"] == "no-store"
    assert "no-store" not in whole.headers.get("cache-control", "")


def test_each_filter_is_one_step_back_and_its_menus_come_back_with_it(admin_page, live):
    """A filter chosen and then its Filter button pressed made two history entries of one address, and
    Back showed the menus as first drawn ("any") over a filtered table."""
    page = admin_page
    make_prospect(live.settings, name="Tier One Plumbing", tier=1, sales_status="contacted")
    make_prospect(live.settings, name="Tier One Roofing", tier=1)
    make_prospect(live.settings, name="Tier Two Electric", tier=2)
    page.goto("/prospects")
    start = page.evaluate("history.length")
    rows = page.locator("table.prospects tbody tr")
    page.locator("form.filters select[name=tier]").select_option("1")
    page.wait_for_url("**/prospects?*tier=1*")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Filter").click()  # the same filters again: no second step
    page.wait_for_function("() => !document.querySelector('.htmx-request')")  # its answer is in
    expect(rows).to_have_count(2)
    page.locator("form.filters select[name=stage]").select_option("contacted")
    page.wait_for_url("**/prospects?*stage=contacted*")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    expect(rows).to_have_count(1)
    assert page.evaluate("history.length") == start + 2
    page.go_back()
    page.wait_for_url(lambda url: "tier=1" in url and "stage=contacted" not in url)
    expect(rows).to_have_count(2)
    expect(page.locator("form.filters select[name=tier]")).to_have_value("1")
    expect(page.locator("form.filters select[name=stage]")).to_have_value("")
    page.go_back()
    page.wait_for_url(lambda url: url.endswith("/prospects"))
    expect(rows).to_have_count(3)
    expect(page.locator("form.filters select[name=tier]")).to_have_value("")
    page.go_forward()
    page.wait_for_url("**/prospects?*tier=1*")
    expect(page.locator("form.filters select[name=tier]")).to_have_value("1")
    expect(rows).to_have_count(2)
