"""The dashboard, prospects, import, prospect and emails pages in a real browser."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.webhooks.security import simulator_key
from leadline.webhooks.simulate import frame, signed_headers
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect
from tests.web.conftest import shoot

PHONE = {"width": 390, "height": 844}

CSV = """Company,Trade,Email,City,Tier,Grid Health
Brightline Plumbing,plumbing,owner@brightline-plumbing.com,Austin,1,41
Cedar Roofing,roofing,not-an-address,Dallas,2,55
Delta HVAC,hvac,hello@delta-hvac.com,Houston,3,67
"""


def test_import_a_csv_through_the_preview_then_browse_the_table(admin_page, live, tmp_path: Path):
    page = admin_page
    upload = tmp_path / "research.csv"
    upload.write_text(CSV)
    page.goto("/prospects/import")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/prospects/import")
    mapping = page.get_by_role("table", name="Column mapping").inner_text()
    assert re.search(r"Company\s+name", mapping) and re.search(r"Grid Health\s+grid_health", mapping)
    rejected = page.get_by_role("table", name="Rejected rows").inner_text()
    assert "3" in rejected and "not-an-address" in rejected  # line 3 of the file, and why
    assert page.locator('[data-count="created"]').inner_text() == "2"
    shoot(page, "import-preview")
    with unit_of_work(live.settings, readonly=True) as session:  # a preview writes nothing
        assert session.scalars(select(Prospect.id)).all() == []
    page.get_by_role("button", name="Import").click()
    assert "Imported: 2 new, 0 updated, 0 unchanged, 1 rejected, of 3 rows." in page.get_by_role("status").inner_text()
    with unit_of_work(live.settings, readonly=True) as session:
        assert sorted(session.scalars(select(Prospect.name)).all()) == ["Brightline Plumbing", "Delta HVAC"]

    page.get_by_role("link", name="See the prospects").click()
    assert page.locator("table.prospects tbody tr").count() == 2
    page.get_by_label("Search", exact=True).fill("delta")  # htmx swaps the table and keeps the URL bookmarkable
    page.wait_for_url("**/prospects?*search=delta*")
    expect(page.locator("table.prospects tbody tr")).to_have_count(1)
    assert "Delta HVAC" in page.locator("table.prospects").inner_text()
    page.get_by_label("Search", exact=True).fill("")
    expect(page.locator("table.prospects tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Name").click()
    page.wait_for_url("**sort=name*")
    expect(page.locator("table.prospects tbody tr").first).to_contain_text("Brightline")
    shoot(page, "prospects")
    page.set_viewport_size(PHONE)
    shoot(page, "prospects-phone")


def test_send_an_email_from_a_prospect_page(admin_page, live):
    page = admin_page
    prospect = make_prospect(live.settings, name="Summit Electric", email="owner@summit-electric.com")
    page.goto(f"/prospects/{prospect.id}")
    page.locator("#email-template").select_option("pain_point")
    preview = page.locator("#email-preview .preview")
    preview.wait_for()
    assert "owner@summit-electric.com" in preview.inner_text()
    assert "Summit Electric" in preview.inner_text()
    subject = page.locator(".preview-subject").inner_text()
    shoot(page, "prospect")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**?done=sent")
    assert page.get_by_role("status").inner_text() == "The email was sent."
    assert subject in page.get_by_role("region", name="Emails").inner_text()
    sent = outbox_messages(live.settings)
    assert [m["To"].addresses[0].addr_spec for m in sent] == ["owner@summit-electric.com"]
    assert sent[0]["Subject"] == subject
    with unit_of_work(live.settings, readonly=True) as session:
        email = session.scalars(select(EmailActivity)).one()
        assert email.status == "sent" and email.prospect_id == prospect.id

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Emails").click()
    page.wait_for_url("**/emails")
    assert subject in page.locator("table.emails").inner_text()
    assert "Summit Electric" in page.locator("table.emails").inner_text()
    shoot(page, "emails")


def _opened(page) -> str:
    return page.locator('[data-metric="opened"]').inner_text()


def test_the_dashboard_updates_itself_when_webhook_events_arrive(admin_page, live):
    from leadline.emails.flows import send

    page = admin_page
    prospect = make_prospect(live.settings, name="Harbor Heating", email="owner@harbor-heating.com")
    assert send(live.settings, "pain_point", actor="test", prospect_ids=[prospect.id]).count("sent") == 1
    with unit_of_work(live.settings, readonly=True) as session:
        email = session.scalars(select(EmailActivity)).one()
    page.goto("/")
    assert page.locator('[data-metric="sent"]').inner_text() == "1"
    assert _opened(page) == "0%"
    page.evaluate("window.notReloaded = true")
    stamp = int(time.time())
    events = [
        {"email": email.to_email, "event": kind, "timestamp": stamp, "sg_event_id": f"web-{kind}-1",
         "sg_message_id": f"{email.sendgrid_id or 'x'}.filter-1", "leadline_email_id": email.id}
        for kind in ("delivered", "open")
    ]  # fmt: skip
    body = frame(events)
    key = simulator_key(live.settings, create=True)
    assert key is not None
    answer = httpx.post(f"{live.url}/webhooks/sendgrid", content=body, headers=signed_headers(key, body))
    assert answer.status_code == 200, answer.text
    started = time.monotonic()
    expect(page.locator('[data-metric="opened"]')).to_have_text("100%", timeout=8000)
    assert time.monotonic() - started < 8
    assert page.locator('[data-metric="delivered"]').inner_text() == "100%"
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not a reload
    shoot(page, "dashboard")
    page.set_viewport_size(PHONE)
    shoot(page, "dashboard-phone")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")
