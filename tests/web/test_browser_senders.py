"""Senders in a real browser (issue 19): the Senders section of Settings (add, list, pause, resume, a bad
address refused beside its field with nothing changed) and the dashboard's deliverability panel (each
figure equal to the sends and bounces behind it), each audited by axe-core at desktop and phone sizes."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadline.app import create_app
from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.emails import flows as email_flows
from leadline.emails.models import EmailActivity
from leadline.senders.models import Sender
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import configure, make_user
from tests.factories import make_prospect, snapshot
from tests.senders.conftest import bounce
from tests.senders.conftest import emails as emails_of
from tests.web.conftest import settle, shoot, sign_in
from tests.web.test_browser_axe import SIZES, audit


def audited(browser: Any, live: Any, email: str, path: str, ready: str) -> list[str]:
    """axe's serious and critical findings on ``path`` (once ``ready`` shows), at each size; and a page
    wider than the phone."""
    problems: list[str] = []
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live.url, viewport=viewport)
        context.set_default_timeout(10_000)
        tab = context.new_page()
        try:
            sign_in(tab, email)
            tab.goto(path)
            tab.locator(ready).first.wait_for()
            settle(tab)
            problems += [f"{size} {path}: {line}" for line in audit(tab)]
            width = tab.evaluate("() => document.documentElement.scrollWidth")
            if width > viewport["width"]:
                problems.append(f"{size} {path}: the page is {width} px wide")
        finally:
            context.close()
    return problems


def senders_of(settings: Any) -> dict[str, str]:
    with unit_of_work(settings, readonly=True) as session:
        return {s.email: s.status for s in session.scalars(select(Sender))}


def test_the_senders_section_adds_lists_pauses_and_resumes(browser, page, live):
    admin = make_user(live.settings)
    sign_in(page, admin)
    page.goto("/settings#senders")
    section = page.locator("#senders")
    section.get_by_text("Add a sender", exact=True).click()
    adding = section.locator("#add-sender form")
    adding.get_by_label("From address").fill("ann@alpha-mail.com")
    adding.get_by_label("From name").fill("Ann Alpha")
    adding.get_by_label("Daily cap").fill("25")
    adding.get_by_role("button", name="Add sender").click()
    row = page.locator('tr[data-sender="ann@alpha-mail.com"]')
    row.wait_for()
    assert "Ann Alpha <ann@alpha-mail.com>" in row.inner_text() and "0 of 25" in row.inner_text()
    assert senders_of(live.settings)["ann@alpha-mail.com"] == "active"

    # an address the browser lets through (no dot in its domain) but Leadline refuses: named, nothing changed
    before = snapshot(live.settings)
    page.goto("/settings#senders")
    page.locator("#senders").get_by_text("Add a sender", exact=True).click()
    adding = page.locator("#add-sender form")
    adding.get_by_label("From address").fill("bob@localhost")
    adding.get_by_role("button", name="Add sender").click()
    field = page.locator("#add-sender").get_by_label("From address")
    field.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    said = page.locator("#add-sender").inner_text()
    assert "not a valid email address" in said and "bob@localhost" in said
    assert snapshot(live.settings) == before

    page.goto("/settings#senders")
    page.once("dialog", lambda dialog: dialog.accept())  # "Pause ann@alpha-mail.com?"
    page.locator('tr[data-sender="ann@alpha-mail.com"]').get_by_role("button", name="Pause").click()
    paused = page.locator('tr[data-sender="ann@alpha-mail.com"]')
    paused.get_by_role("button", name="Resume").wait_for()
    assert "paused" in paused.inner_text()
    assert senders_of(live.settings)["ann@alpha-mail.com"] == "paused"
    shoot(page, "settings-senders-paused")
    problems = audited(browser, live, admin, "/settings#senders", 'tr[data-sender="ann@alpha-mail.com"]')

    page.goto("/settings#senders")
    resuming = page.locator('tr[data-sender="ann@alpha-mail.com"]')
    resuming.get_by_label("Why it is safe to send again").fill("the list was cleaned")
    resuming.get_by_role("button", name="Resume").click()
    page.locator('tr[data-sender="ann@alpha-mail.com"]').get_by_role("button", name="Pause").wait_for()
    assert senders_of(live.settings)["ann@alpha-mail.com"] == "active"
    problems += audited(browser, live, admin, "/settings#senders", 'tr[data-sender="ann@alpha-mail.com"]')
    assert not problems, "\n".join(problems)


def test_the_deliverability_panel_shows_the_sends_and_bounces_behind_it(browser, page, live, monkeypatch):
    settings = live.settings
    with unit_of_work(settings) as session:
        now = utc_now()
        for email, name in (("ann@alpha-mail.com", "Ann Alpha"), ("bob@beta-mail.com", "Bob Beta")):
            session.add(Sender(id=f"snd_{name.split()[0].lower()}", email=email, name=name, daily_cap=40,
                               warmup_step=0, min_gap_seconds=0, status="active", created_at=now, updated_at=now))  # fmt: skip
    ids = [make_prospect(settings, name=f"Shop {i}", email=f"o{i}@shop{i}.com", tier=1).id for i in range(5)]
    assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids).count("sent") == 5
    with unit_of_work(settings, readonly=True) as session:
        anns = list(session.scalars(select(EmailActivity).where(EmailActivity.sender_id == "snd_ann")
                                    .order_by(EmailActivity.id)))  # fmt: skip
    # two of Ann's bounce hard, through the signed Event Webhook (a key of the test's own)
    key = ec.generate_private_key(ec.SECP256R1())
    configure(monkeypatch, settings, sendgrid_webhook_public_key=public_key_text(key))
    with TestClient(create_app(settings), raise_server_exceptions=False) as hook:
        body = frame([bounce(anns[0]), bounce(anns[1])])
        assert hook.post("/webhooks/sendgrid", content=body, headers=signed_headers(key, body)).status_code < 300
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(emails_of(settings, status="bounced")) < 2:
        time.sleep(0.2)
    expected = {}
    with unit_of_work(settings, readonly=True) as session:
        for sender_id, email in (("snd_ann", "ann@alpha-mail.com"), ("snd_bob", "bob@beta-mail.com")):
            rows = list(session.scalars(select(EmailActivity).where(EmailActivity.sender_id == sender_id,
                                                                     EmailActivity.sent_at.is_not(None))))  # fmt: skip
            hard = sum(1 for r in rows if r.bounced_at is not None and r.bounce_type != "blocked")
            expected[email] = (len(rows), hard)
    assert expected == {"ann@alpha-mail.com": (3, 2), "bob@beta-mail.com": (2, 0)}
    admin = make_user(settings)
    sign_in(page, admin)
    page.goto("/")
    panel = page.get_by_role("region", name="Deliverability")
    panel.locator("table[data-deliverability]").wait_for()
    for email, (sends, bounces) in expected.items():
        cells = panel.locator("tr", has=page.get_by_text(email, exact=True)).locator("td")
        assert cells.nth(2).inner_text().strip() == str(sends)
        rate = f"{bounces / sends * 100:.1f}".rstrip("0").rstrip(".") + "%"
        assert cells.nth(3).inner_text().strip() == f"{bounces} · {rate}"
    # each figure links to the emails it counts (read on demand, by the same definition)
    row = panel.locator("tr", has=page.get_by_text("ann@alpha-mail.com", exact=True))
    link = row.locator('a[data-health-list="bounces"]')
    href = link.get_attribute("href") or ""
    assert href.startswith("/senders/health/emails?")  # a page (it was the API's JSON)
    listed = page.request.get("/api" + href).json()
    assert listed["count"] == 2 and sorted(listed["emailIds"]) == sorted(e.id for e in anns[:2])
    link.click()
    page.wait_for_url("**/senders/health/emails?**")
    assert "Hard bounces of ann@alpha-mail.com in the 7d to" in page.locator("[data-health-figure]").inner_text()
    assert page.locator("table.emails tbody tr").count() == 2
    page.go_back()
    panel.locator("table[data-deliverability]").wait_for()
    shoot(page, "dashboard-deliverability")
    problems = audited(browser, live, admin, "/", "table[data-deliverability]")
    problems += audited(browser, live, admin, href, "[data-health-figure]")
    assert not problems, "\n".join(problems)
