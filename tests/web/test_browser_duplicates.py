"""Merging a duplicate from the prospect page in a real browser: the confirm dialog first."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from tests.factories import make_prospect, snapshot
from tests.web.conftest import shoot


def test_merge_a_duplicate_from_the_prospect_page(admin_page, live):
    keep = make_prospect(live.settings, name="Royal Plumbing", phone="(512) 555-0101", contact_name=None)
    other = make_prospect(
        live.settings, name="Royal Plumbing LLC", phone="+1 512 555 0101", contact_name="Daniel Reyes"
    )
    tab = admin_page
    tab.goto(f"/prospects/{keep.id}")
    section = tab.get_by_role("region", name="Possible duplicates")
    assert "Royal Plumbing LLC" in section.inner_text() and "same phone" in section.inner_text()
    shoot(tab, "prospect-duplicates")

    # Cancelling the confirm dialog sends nothing.
    before = snapshot(live.settings)
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    tab.once("dialog", dismiss)
    section.get_by_role("button", name="Merge into this one").click()
    assert asked and asked[0].startswith(f"Merge Royal Plumbing LLC ({other.id}) into Royal Plumbing")
    assert snapshot(live.settings) == before

    tab.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Merge into this one").click()
    tab.wait_for_url(f"**/prospects/{keep.id}?done=merged")
    assert "Merged:" in tab.get_by_role("status").inner_text()
    assert "Royal Plumbing LLC" in tab.get_by_role("region", name="Timeline").inner_text()
    assert tab.get_by_role("region", name="Possible duplicates").count() == 0
    shoot(tab, "prospect-merged")
    with unit_of_work(live.settings, readonly=True) as session:
        assert session.get(Prospect, other.id) is None
        assert prospects.get(session, keep.id).contact_name == "Daniel Reyes"
    tab.goto("/prospects/duplicates")
    assert "No likely duplicates" in tab.locator("main").inner_text()
