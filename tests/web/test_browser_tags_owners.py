"""In Chromium (issue 18): a file's tags column imported through the import page and shown after it,
on the board's cards and the list's rows; the board filtered by tag; an owner's Today page; then axe
(no serious or critical violation) and the 390 px phone width on every page these touch, as an admin,
a member who owns prospects, and a viewer."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import make_user
from tests.factories import make_prospect
from tests.web.conftest import settle, shoot, sign_in
from tests.web.helpers import book_call_later_today, make_customer
from tests.web.test_browser_axe import check_pages

CSV = """Company,Trade,Email,Tags
Brightline Plumbing,plumbing,owner@brightline-plumbing.com,"Spring Push; VIP"
Cedar Roofing,roofing,hello@cedar-roofing.com,"spring push, a-very-long-tag-name-for-phones-1234567"
Delta HVAC,hvac,hello@delta-hvac.com,
"""


def test_import_tags_then_see_them_on_the_board_and_the_list(admin_page, live, tmp_path: Path):
    page = admin_page
    upload = tmp_path / "tagged.csv"
    upload.write_text(CSV)
    page.goto("/prospects/import")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/prospects/import")
    page.get_by_role("button", name="Import").click()
    added = page.locator("ul.tags-added")
    expect(added).to_contain_text("spring push on 2 prospects")
    expect(added).to_contain_text("vip on 1 prospect")
    shoot(page, "import-tags")

    page.goto("/board")
    card = page.locator("#card-brightline_plumbing")
    expect(card.locator(".badge.tag")).to_have_text(["spring push", "vip"])
    page.get_by_label("Tag").select_option("vip")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/board?*tag=vip*")
    expect(page.locator(".board-card")).to_have_count(1)
    shoot(page, "board-tags")
    page.goto("/prospects")
    expect(page.locator('tr[data-id="cedar_roofing"] .badge.tag')).to_have_count(2)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/board", "/prospects", "/board?tag=spring+push"):
        page.goto(path)
        settle(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, path
    shoot(page, "board-tags-phone")


def test_an_owner_sees_their_day_and_every_touched_page_passes_axe(browser, live):
    settings = live.settings
    admin = make_user(settings)
    ann = make_user(settings, "ann@example.com", "member")
    viewer = make_user(settings, "viewer@example.com", "viewer")
    mine = make_prospect(settings, name="Royal Plumbing Co", owner=ann, deal_value=2400, sales_status="proposal")
    theirs = make_prospect(settings, name="Harbor Electric", owner=admin)
    call = book_call_later_today(settings, mine.id)
    book_call_later_today(settings, theirs.id)
    make_customer(settings, make_prospect(settings, name="Summit Electric").id, fee=2400)

    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    try:
        sign_in(tab, ann)
        tab.goto("/today")
        expect(tab.get_by_role("link", name="Mine")).to_have_attribute("aria-current", "page")
        expect(tab.locator("[data-call]")).to_have_count(1)
        expect(tab.locator("[data-call]")).to_contain_text("Royal Plumbing Co")
        tab.get_by_role("link", name="Everyone's").click()
        expect(tab.locator("[data-call]")).to_have_count(2)
        shoot(tab, "today-everyone")
    finally:
        context.close()

    paths = ["/today", "/today?who=all", "/board", "/board?tag=none", "/prospects", "/reports",
             "/reports?view=forecast", f"/calls/{call}", "/calls", f"/prospects/{mine.id}"]  # fmt: skip
    problems = check_pages(browser, live, paths, ann)
    problems += check_pages(browser, live, paths, admin)
    problems += check_pages(browser, live, ["/today", "/board", "/reports"], viewer)
    assert not problems, "\n".join(problems)
