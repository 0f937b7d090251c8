"""Clicks mean interest: the unsubscribe link never counts, scanners are counted apart, and each
template's links report their own clicks (webhook events through the real HTTP path)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.message import unsubscribe_url
from leadline.emails.models import EmailActivity, EmailLinkClick
from leadline.webhooks.models import WebhookEvent
from tests.conftest import configure
from tests.factories import make_prospect
from tests.webhooks.conftest import email, emails_of, event, send_to

OFFER = "https://www.gridline.example/offer?plan=starter"
REPORT = "https://www.gridline.example/report"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"


def link_rows(settings, email_id: str) -> list[tuple[str, int, int]]:
    with unit_of_work(settings, readonly=True) as session:
        rows = session.scalars(select(EmailLinkClick).where(EmailLinkClick.email_activity_id == email_id))
        return sorted((r.url, r.human_clicks, r.machine_clicks) for r in rows)


def counts(row: EmailActivity) -> tuple[Any, ...]:
    return (row.status, row.click_count, row.machine_click_count, row.clicked_at is not None)


def send_offer(settings, monkeypatch, tmp_path: Path, n: int = 1) -> list[EmailActivity]:
    """n prospects sent a template of the user's own with two links in its plain-text body."""
    from leadline.emails.flows import send

    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / "offer.txt").write_text(
        f"Subject: An offer for {{{{ name }}}}\nType: solution\n\nHi {{{{ firstName }}}},\n\n"
        f"The starter plan: {OFFER}.\nYour report: {REPORT}\n"
    )
    configure(monkeypatch, settings, templates_dir=str(folder))
    ids = [make_prospect(settings, name=f"Offer Biz {i}", email=f"owner@offerbiz{i}.com").id for i in range(n)]
    report = send(settings, "offer", actor="test", prospect_ids=ids)
    assert report.count("sent") == n, report.as_dict()
    return emails_of(settings, ids)


class TestTheUnsubscribeLink:
    def test_a_click_on_it_is_kept_and_counts_for_nothing(self, hook, cli, client):
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        url = unsubscribe_url(hook.settings, target.id)
        assert url in target.body_text and f'<a clicktracking=off href="{url}">' in target.body_html
        response = hook.post([
            event(target, "delivered", t0 + timedelta(seconds=3)),
            event(target, "click", t0 + timedelta(hours=2), url=url, useragent=BROWSER),
        ])  # fmt: skip
        assert response.json()["applied"] == 2
        row = email(hook.settings, target.id)
        assert counts(row) == ("delivered", 0, 0, False)
        assert row.opened_at is None  # nor an open
        assert link_rows(hook.settings, target.id) == []
        with unit_of_work(hook.settings, readonly=True) as session:  # stored all the same
            kept = session.scalars(select(WebhookEvent).where(WebhookEvent.event_type == "click")).one()
        assert kept.status == "applied" and kept.email_activity_id == target.id and kept.payload["url"] == url
        shown = cli("emails", "show", target.id, "--json").json
        assert (shown["clickCount"], shown["machineClickCount"], shown["clickedAt"]) == (0, 0, None)
        (entry,) = [e for e in shown["timeline"] if (e["details"] or {}).get("event") == "click"]
        assert entry["details"]["counted"] is False
        (templates,) = client.get("/api/analytics/templates").json()["rows"]
        assert templates["clicked"]["count"] == 0 and templates["links"] == []
        assert client.get("/api/dashboard").json()["engagement"]["clicked"]["count"] == 0

    def test_a_link_to_the_settings_page_or_signed_by_an_earlier_address_is_leadlines_own(self, settings):
        from leadline.emails.message import is_leadline_link
        from tests.conftest import changed

        base = settings.base_url
        moved = changed(settings, base_url="https://crm.new.example")
        old_link = unsubscribe_url(settings, "email_123")
        assert is_leadline_link(settings, old_link) and is_leadline_link(moved, old_link)
        assert is_leadline_link(settings, f"{base}/settings") and is_leadline_link(settings, f"{base}/settings?x=1")
        assert not is_leadline_link(settings, f"{base}/settingsx")
        assert not is_leadline_link(settings, "https://www.gridline.example/unsubscribe/made-up-token")
        assert not is_leadline_link(settings, REPORT) and not is_leadline_link(settings, f"{base}/book/abc")


class TestMachineClicks:
    def test_a_scanners_click_is_counted_apart(self, hook):
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        hook.post([
            event(target, "delivered", t0 + timedelta(seconds=3)),
            event(target, "click", t0 + timedelta(hours=1), url=REPORT, useragent=SCANNER),
        ])  # fmt: skip
        row = email(hook.settings, target.id)
        assert counts(row) == ("opened", 0, 1, False)  # a machine's click is a machine's open, as a prefetch is
        assert link_rows(hook.settings, target.id) == [(REPORT, 0, 1)]

    def test_a_click_as_the_message_arrives_before_any_open_is_a_machines(self, hook):
        (fast, opened_first) = send_to(hook.settings, 2)
        hook.post([
            event(fast, "delivered", fast.sent_at + timedelta(seconds=3)),
            event(fast, "click", fast.sent_at + timedelta(seconds=8), url=REPORT, useragent=BROWSER),
            event(opened_first, "delivered", opened_first.sent_at + timedelta(seconds=3)),
            event(opened_first, "open", opened_first.sent_at + timedelta(seconds=20), sg_machine_open=False),
            event(opened_first, "click", opened_first.sent_at + timedelta(seconds=30), url=REPORT, useragent=BROWSER),
        ])  # fmt: skip
        assert counts(email(hook.settings, fast.id)) == ("opened", 0, 1, False)
        assert counts(email(hook.settings, opened_first.id)) == ("clicked", 1, 0, True)

    def test_every_link_at_once_is_a_machine_even_after_an_open(self, hook):
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        hook.post([
            event(target, "delivered", t0 + timedelta(seconds=3)),
            event(target, "open", t0 + timedelta(seconds=4), sg_machine_open=False),
            event(target, "click", t0 + timedelta(seconds=6), url=REPORT, useragent=BROWSER),
            event(target, "click", t0 + timedelta(seconds=6), url=OFFER, useragent=BROWSER),
        ])  # fmt: skip
        assert counts(email(hook.settings, target.id)) == ("opened", 0, 2, False)
        assert link_rows(hook.settings, target.id) == [(OFFER, 0, 1), (REPORT, 0, 1)]

    def test_a_late_delivered_event_turns_a_click_into_a_machines(self, hook):
        """The kinds follow the whole set of events: the click alone looks like a person's; the
        delivery reported afterwards shows it came 5 seconds after the message arrived."""
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        hook.post([event(target, "click", t0 + timedelta(seconds=15), url=REPORT, useragent=BROWSER)])
        assert counts(email(hook.settings, target.id)) == ("clicked", 1, 0, True)
        assert link_rows(hook.settings, target.id) == [(REPORT, 1, 0)]
        hook.post([event(target, "delivered", t0 + timedelta(seconds=10))])
        assert counts(email(hook.settings, target.id)) == ("opened", 0, 1, False)
        assert link_rows(hook.settings, target.id) == [(REPORT, 0, 1)]


class TestLinksOfATemplate:
    def test_a_persons_click_on_a_template_link_is_reported_per_link(self, hook, monkeypatch, tmp_path, cli, client):
        first, second = send_offer(hook.settings, monkeypatch, tmp_path, n=2)
        assert f'<a href="{OFFER.replace("&", "&amp;")}">' in first.body_html  # tracked: no opt-out
        assert "clicktracking=off" not in first.body_html.split("Not interested?")[0]
        batch = [
            event(first, "delivered", first.sent_at + timedelta(seconds=3)),
            event(first, "open", first.sent_at + timedelta(hours=1), sg_machine_open=False),
            event(first, "click", first.sent_at + timedelta(hours=1, minutes=1), url=OFFER, useragent=BROWSER),
            event(first, "click", first.sent_at + timedelta(hours=5), url=OFFER, useragent=BROWSER),
            event(second, "delivered", second.sent_at + timedelta(seconds=3)),
            event(second, "click", second.sent_at + timedelta(hours=2), url=OFFER, useragent=BROWSER),
            event(second, "click", second.sent_at + timedelta(hours=3), url=REPORT, useragent=SCANNER),
            event(second, "click", second.sent_at + timedelta(hours=4),
                  url=unsubscribe_url(hook.settings, second.id), useragent=BROWSER),
        ]  # fmt: skip
        assert hook.post(batch).json()["applied"] == len(batch)
        assert counts(email(hook.settings, first.id)) == ("clicked", 2, 0, True)
        assert counts(email(hook.settings, second.id)) == ("clicked", 1, 1, True)
        assert link_rows(hook.settings, first.id) == [(OFFER, 2, 0)]
        assert link_rows(hook.settings, second.id) == [(OFFER, 1, 0), (REPORT, 0, 1)]
        expected = [
            {"url": OFFER, "humanClicks": 3, "people": 2, "machineClicks": 0},
            {"url": REPORT, "humanClicks": 0, "people": 0, "machineClicks": 1},
        ]
        (row,) = client.get("/api/analytics/templates").json()["rows"]
        assert (row["template"], row["clicked"]["count"], row["links"]) == ("offer", 2, expected)
        assert cli("analytics", "templates", "--json").json["rows"][0]["links"] == expected
        text = cli("analytics", "templates").stdout
        assert OFFER in text and "Machine clicks" in text

        # SendGrid delivers the whole batch again, and part of it once more: nothing moves.
        again = hook.post(batch)
        assert again.json()["new"] == 0 and again.json()["duplicates"] == len(batch)
        hook.post(batch[2:5])
        assert counts(email(hook.settings, first.id)) == ("clicked", 2, 0, True)
        assert counts(email(hook.settings, second.id)) == ("clicked", 1, 1, True)
        assert link_rows(hook.settings, second.id) == [(OFFER, 1, 0), (REPORT, 0, 1)]
        assert client.get("/api/analytics/templates").json()["rows"][0]["links"] == expected

    def test_the_templates_page_shows_the_links(self, hook, monkeypatch, tmp_path, signed_in):
        (target,) = send_offer(hook.settings, monkeypatch, tmp_path)
        hook.post([event(target, "click", target.sent_at + timedelta(hours=2), url=OFFER, useragent=BROWSER)])
        page = signed_in("viewer").get("/reports?view=templates")
        assert page.status_code == 200
        assert "Clicks per link" in page.text and OFFER.replace("&", "&amp;") in page.text


@pytest.mark.parametrize(
    "agent",
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "python-requests/2.32",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0",
     "Proofpoint URL Defense", "Mimecast Link Scanner"],
)  # fmt: skip
def test_scanner_agents(agent):
    from leadline.webhooks.clicks import scanner_agent

    assert scanner_agent({"useragent": agent})


@pytest.mark.parametrize(
    "agent",
    [BROWSER, "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
     "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"],
)  # fmt: skip
def test_people_agents(agent):
    from leadline.webhooks.clicks import scanner_agent

    assert not scanner_agent({"useragent": agent})


class TestRecountClicks:
    def test_emails_clicked_before_the_rule_are_recounted_once(self, hook, cli):
        """An email whose unsubscribe click was counted before the upgrade (its row says so) is
        put right by `leadline webhooks recount-clicks`; a second run changes nothing."""
        from sqlalchemy import update

        from tests.factories import snapshot

        unsubscribed, scanned, clicked = send_to(hook.settings, 3)
        hook.post([
            event(unsubscribed, "delivered", unsubscribed.sent_at + timedelta(seconds=3)),
            event(unsubscribed, "click", unsubscribed.sent_at + timedelta(hours=1),
                  url=unsubscribe_url(hook.settings, unsubscribed.id), useragent=BROWSER),
            event(scanned, "click", scanned.sent_at + timedelta(hours=1), url=REPORT, useragent=SCANNER),
            event(clicked, "click", clicked.sent_at + timedelta(hours=1), url=REPORT, useragent=BROWSER),
        ])  # fmt: skip
        right = [counts(email(hook.settings, e.id)) for e in (unsubscribed, scanned, clicked)]
        assert right == [("delivered", 0, 0, False), ("opened", 0, 1, False), ("clicked", 1, 0, True)]
        with unit_of_work(hook.settings) as session:  # as the rows stood before the rule: every click counted
            session.execute(
                update(EmailActivity)
                .where(EmailActivity.id.in_([unsubscribed.id, scanned.id]))
                .values(status="clicked", click_count=1, machine_click_count=0, clicked_at=clicked.sent_at)
            )
            session.execute(EmailLinkClick.__table__.delete())
        result = cli("webhooks", "recount-clicks", "--json")
        assert result.exit_code == 0, result.stderr
        assert result.json == {"emails": 3, "prospects": 3}
        assert [counts(email(hook.settings, e.id)) for e in (unsubscribed, scanned, clicked)] == right
        assert link_rows(hook.settings, scanned.id) == [(REPORT, 0, 1)]
        assert link_rows(hook.settings, clicked.id) == [(REPORT, 1, 0)]
        before = snapshot(hook.settings)
        assert cli("webhooks", "recount-clicks").exit_code == 0
        assert snapshot(hook.settings) == before
