"""The pipeline board in a real browser: drag and drop, the Move-to menu, a refused move."""

from __future__ import annotations

from typing import Any

from tests.factories import make_prospect
from tests.web.conftest import shoot, sign_in
from tests.web.helpers import make_customer, stage_of


def column(tab: Any, stage: str) -> Any:
    return tab.locator(f'.board-col[data-stage="{stage}"]')


def test_drag_a_card_to_another_column_and_a_refused_move_goes_back(admin_page, live, browser):
    royal = make_prospect(name="Royal Plumbing Co", trade="plumbing", deal_value=2400)
    baker = make_prospect(name="Baker Roofing", trade="roofing", tier=2, deal_value=1800, sales_status="proposal")
    hughes = make_prospect(name="Hughes HVAC", trade="hvac", tier=3, sales_status="contacted")
    make_prospect(name="Reyes Tree Service", trade="tree service", sales_status="interested", deal_value=900)
    won = make_prospect(name="Summit Electric", trade="electrical", deal_value=3000, sales_status="proposal")
    make_customer(won.id, fee=3000)
    tab = admin_page
    tab.goto("/board")
    shoot(tab, "board")

    # Drag Royal (new) onto the Replied column: the server moves it, the board comes back.
    tab.locator(f"#card-{royal.id}").drag_to(column(tab, "replied"))
    column(tab, "replied").locator(f"#card-{royal.id}").wait_for()
    assert tab.get_by_role("status").inner_text() == "Royal Plumbing Co moved to Replied."
    assert stage_of(royal.id) == "replied"

    # Closed won needs a customer record: refused with the service's line, and the card goes back.
    tab.locator(f"#card-{baker.id}").drag_to(column(tab, "closed_won"))
    alert = tab.locator("#errors")
    alert.wait_for(state="visible")
    assert alert.inner_text().startswith(f"stage: {baker.id} has no customer record")
    assert column(tab, "proposal").locator(f"#card-{baker.id}").count() == 1
    assert column(tab, "closed_won").locator(f"#card-{baker.id}").count() == 0
    assert stage_of(baker.id) == "proposal"

    # The keyboard / phone way: the card's Move-to menu.
    tab.get_by_label("Move Hughes HVAC to").select_option("scheduled")
    column(tab, "scheduled").locator(f"#card-{hughes.id}").wait_for()
    assert stage_of(hughes.id) == "scheduled"
    assert tab.locator("#errors").is_hidden()

    # The board on a phone.
    phone = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        sign_in(small, "admin@example.com")
        small.goto("/board")
        column(small, "proposal").scroll_into_view_if_needed()  # columns snap side by side on a phone
        assert small.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        shoot(small, "board-phone")
    finally:
        phone.close()
