"""Bulk actions on the prospects list in a real browser: tick rows and tag them; move every
prospect the filter matches to a stage with a reason (in the background), then Undo."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.prospects import bulk
from leadline.prospects import service as prospects
from tests.factories import make_prospect
from tests.web.conftest import shoot


def test_tick_three_rows_and_add_a_tag(admin_page, live):
    ids = [make_prospect(live.settings, name=f"Roofer {n}", trade="roofing").id for n in range(5)]
    tab = admin_page
    tab.goto("/prospects?sort=name")
    for name in ("Roofer 0", "Roofer 1", "Roofer 2"):
        tab.get_by_label(f"Select {name}").check()
    form = tab.get_by_role("form", name="Bulk action")
    form.get_by_label("Add tag").fill("Storm leads")
    form.get_by_role("button", name="Apply").click()
    tab.wait_for_url("**/prospects/bulk/*")
    assert tab.locator("#operation .status").inner_text() == "done"
    assert tab.locator("#operation .changed").inner_text() == "3"
    tab.goto("/prospects?sort=name")
    rows = {name: tab.locator("tr", has_text=name).inner_text() for name in ("Roofer 0", "Roofer 2", "Roofer 3")}
    assert "storm leads" in rows["Roofer 0"] and "storm leads" in rows["Roofer 2"]
    assert "storm leads" not in rows["Roofer 3"]
    shoot(tab, "prospects-bulk-tagged")
    with unit_of_work(live.settings, readonly=True) as session:
        assert prospects.tags_of(session, ids) == {i: ["storm leads"] for i in ids[:3]}


def test_all_matching_move_stage_with_a_reason_in_the_background_then_undo(admin_page, live, monkeypatch):
    monkeypatch.setattr(bulk, "BACKGROUND_OVER", 2)  # three prospects: the worker runs it
    roofers = [make_prospect(live.settings, name=f"Roofer {n}", trade="roofing").id for n in range(3)]
    plumber = make_prospect(live.settings, name="Plumber", trade="plumbing").id
    tab = admin_page
    tab.goto("/prospects?trade=roofing")
    form = tab.get_by_role("form", name="Bulk action")
    form.get_by_label("every prospect matching the filter").check()
    form.get_by_label("Stage").select_option("contacted")
    form.get_by_role("button", name="Apply").click()  # no reason: refused, nothing moved
    assert "needs a reason" in tab.locator("[data-error-line]").inner_text()
    form = tab.get_by_role("form", name="Bulk action")
    form.get_by_label("Reason").fill("called them all at the trade show")
    form.get_by_role("button", name="Preview").click()
    assert "3</strong> selected" in tab.locator("#preview").inner_html()
    tab.get_by_role("form", name="Bulk action").get_by_role("button", name="Apply").click()
    tab.wait_for_url("**/prospects/bulk/*")
    assert tab.locator("#operation").get_attribute("data-status") in ("queued", "running", "done")
    tab.locator('#operation[data-status="done"]').wait_for(timeout=30_000)  # the page follows the worker
    shoot(tab, "prospects-bulk-stage")
    with unit_of_work(live.settings, readonly=True) as session:
        assert [prospects.get(session, p).sales_status for p in roofers] == ["contacted"] * 3
        assert prospects.get(session, plumber).sales_status == "new"
    tab.get_by_role("button", name="Undo").click()
    tab.locator('#operation[data-status="undone"]').wait_for(timeout=30_000)
    with unit_of_work(live.settings, readonly=True) as session:
        assert [prospects.get(session, p).sales_status for p in roofers] == ["new"] * 3
