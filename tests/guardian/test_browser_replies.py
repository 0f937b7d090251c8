"""In Chromium: a person corrects a reply's label on /replies; the Settings page loads the domain
checklist after the page; both pass axe and fit a phone."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.guardian import service as guardian
from tests.conftest import configure, make_user
from tests.web.conftest import shoot, sign_in
from tests.web.test_browser_axe import check_pages
from tests.webhooks.conftest import send_to


def test_correct_a_label_on_the_replies_page(browser, page, live):
    (target,) = send_to(live.settings, 1)
    with unit_of_work(live.settings) as session:
        row = guardian.log_reply(session, target.id, "Can we set up a call Thursday?", actor="test").label
        reply_id = row.id
    admin = make_user(live.settings)
    sign_in(page, admin)
    page.goto("/replies")
    line = page.locator(f'[data-reply="{reply_id}"]')
    assert line.locator("[data-label]").inner_text() == "Meeting request"
    line.get_by_label("Label of this reply").select_option("interested")
    line.get_by_role("button", name="Correct").click()
    page.wait_for_url("**ok=label")
    assert page.get_by_role("status").inner_text() == "Label saved."
    line = page.locator(f'[data-reply="{reply_id}"]')
    assert line.locator("[data-label]").inner_text() == "Interested"
    assert "rules said meeting request" in line.inner_text()
    shoot(page, "replies-corrected")
    assert not check_pages(browser, live, ["/replies", "/today", "/emails"], admin)


def test_the_settings_page_loads_the_domain_checklist(browser, page, live, fake_dns, monkeypatch):
    configure(monkeypatch, live.settings, dns_nameservers=[fake_dns.nameserver], dns_timeout_seconds=0.5,
              sender_email="dana@brokenmail.test")  # fmt: skip
    admin = make_user(live.settings)
    sign_in(page, admin)
    page.goto("/settings")
    table = page.locator("#domain-checks")
    table.wait_for()
    assert table.locator('[data-check="dmarc"]').inner_text().count("fail") == 1
    assert "p=bogus" in table.inner_text()
    shoot(page, "settings-domain-checklist")
    assert not check_pages(browser, live, ["/settings"], admin)
