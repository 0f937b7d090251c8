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
    assert rows(page_client.get("/emails?status=sent").text) == [first]
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
