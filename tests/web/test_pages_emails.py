"""The emails page: by status, filtered, paged, linking to prospects."""

from __future__ import annotations

import re

from leadline.db import unit_of_work
from leadline.emails import service as emails
from tests.factories import make_prospect
from tests.web.helpers import send_email


def rows(html: str) -> list[str]:
    return re.findall(r'<td><a href="/prospects/([^"]+)">', html)


def test_emails_by_status_with_links_to_their_prospects(settings, page_client):
    first = make_prospect(settings, name="Mail One").id
    second = make_prospect(settings, name="Mail Two").id
    send_email(settings, first)
    replied = send_email(settings, second)
    with unit_of_work(settings) as session:
        emails.record_reply(session, replied, "yes please", actor="test")
    html = page_client.get("/emails").text
    assert rows(html) == [second, first]  # newest first
    assert "Mail One" in html and "Mail Two" in html
    assert rows(page_client.get("/emails?status=replied").text) == [second]
    # "sent", like opened, clicked and replied, means "ever did": the email that was then replied to too
    assert rows(page_client.get("/emails?status=sent").text) == [second, first]
    assert rows(page_client.get("/emails?status=bounced").text) == []
    assert rows(page_client.get(f"/emails?prospect={first}").text) == [first]
    assert rows(page_client.get("/emails?template=pain_point").text) == [second, first]
    assert rows(page_client.get("/emails?template=proposal").text) == []
    fragment = page_client.get("/emails?status=replied", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in fragment.text and rows(fragment.text) == [second]


def test_a_bad_status_is_named(page_client):
    response = page_client.get("/emails?status=lost")
    assert response.status_code == 422
    assert "Status: &#39;lost&#39; is not an email status" in response.text


def test_emails_are_paged_with_a_cursor(settings, page_client, monkeypatch):
    from leadline.web.pages import emails as page

    monkeypatch.setattr(page, "PAGE_SIZE", 2)
    ids = [make_prospect(settings, name=f"Paged Mail {n}").id for n in range(5)]
    for pid in ids:
        send_email(settings, pid)
    seen: list[str] = []
    url = "/emails"
    while url:
        html = page_client.get(url).text
        seen += rows(html)
        found = re.search(r'rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == list(reversed(ids))


def test_the_chips_are_what_people_ask_about_without_a_dropdown(page_client):
    html = page_client.get("/emails").text
    chips = re.findall(r'<a class="badge [^"]*" href="/emails\?status=([a-z_]+)"', html)
    assert chips == ["scheduled", "sent", "delivered", "opened", "clicked", "replied", "bounced", "failed",
                     "cancelled", "attention"]  # fmt: skip
    assert ">needs attention</a>" in html
    assert "<select" not in html  # the status dropdown that repeated the chips is gone


def test_opened_means_ever_opened_and_attention_gathers_the_technical_states(settings, page_client):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from leadline.emails.models import EmailActivity

    opened_only = make_prospect(settings, name="Opened Only").id
    opened_then_replied = make_prospect(settings, name="Opened Then Replied").id
    stuck = make_prospect(settings, name="Stuck Send").id
    first = send_email(settings, opened_only)
    second = send_email(settings, opened_then_replied)
    third = send_email(settings, stuck)
    moment = datetime(2025, 11, 18, 15, tzinfo=UTC)
    with unit_of_work(settings) as session:
        emails.record_reply(session, second, "tell me more", actor="test")
        # what SendGrid's open events leave on an email (its status moves on to replied for the second)
        session.execute(update(EmailActivity).where(EmailActivity.id.in_([first, second]))
                        .values(opened_at=moment, open_count=1))  # fmt: skip
        session.execute(update(EmailActivity).where(EmailActivity.id == first).values(status="opened"))
        session.execute(update(EmailActivity).where(EmailActivity.id == third).values(status="unknown"))
    assert rows(page_client.get("/emails?status=opened").text) == [opened_then_replied, opened_only]
    assert rows(page_client.get("/emails?status=attention").text) == [stuck]
    # as of a moment before the opens: none had been opened yet
    before = (moment - timedelta(seconds=1)).isoformat()
    assert rows(page_client.get("/emails", params={"status": "opened", "asOf": before}).text) == []
    response = page_client.get("/emails", params={"status": "opened", "asOf": "soon"})
    assert response.status_code == 422 and "As of: &#39;soon&#39; is not a date and time" in response.text
