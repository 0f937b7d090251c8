"""Every time shown names its zone, and a call shows the prospect's own clock beside ours (issue 17.8)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from leadline.calls import service as calls
from leadline.calls.schemas import CallBook
from leadline.db import unit_of_work
from tests.conftest import changed
from tests.factories import make_prospect


def test_a_call_shows_our_time_with_its_zone_and_theirs_beside_it(signed_in, settings):
    chicago = changed(settings, timezone="America/Chicago")
    client = signed_in("admin", app_settings=chicago)
    east = make_prospect(settings, name="Harbor Electric", timezone="America/New_York")
    same = make_prospect(settings, name="Prairie Roofing", timezone="America/Chicago")
    at = datetime(2099, 3, 2, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
    with unit_of_work(chicago) as session:
        east_call = calls.book(session, CallBook(prospect_id=east.id, scheduled_at=at), actor="test").id
        calls.book(session, CallBook(prospect_id=same.id, scheduled_at=at.replace(hour=16)), actor="test")
    listed = client.get("/calls?tab=upcoming").text
    assert "Mon 2 Mar 2099 15:00 CST" in listed and "16:00 EST their time" in listed
    assert "Mon 2 Mar 2099 16:00 CST" in listed and listed.count("their time") == 1  # same clock: nothing beside
    assert "16:00 EST their time" in client.get(f"/calls/{east_call}").text
    assert "16:00 EST their time" in client.get(f"/prospects/{east.id}").text
    assert "When (your time, America/Chicago)" in client.get("/calls").text
    assert "They are in America/New_York" in client.get(f"/prospects/{east.id}").text
    assert client.get(f"/api/calls/{east_call}").json()["prospectTimezone"] == "America/New_York"


def _filter_line(html: str, marker: str) -> str:
    import html as html_lib
    import re

    found = re.search(rf"<p class=\"muted small\" {marker}>(.*?)<a ", html, re.S)
    assert found, html
    return " ".join(html_lib.unescape(found.group(1)).split())


def test_a_figure_lists_heading_shows_its_moments_in_our_zone_not_iso(page_client):
    """The lists a dashboard figure opens say when in words, in the zone (America/Chicago here)."""
    reached = page_client.get("/prospects?reached=replied&asOf=2026-12-14T00:00:00%2B00:00").text
    assert _filter_line(reached, "data-prospect-filter") == (
        "Prospects who reached Replied by its real event by 13 Dec 18:00 CST (the dashboard's funnel)."
    )
    sent = page_client.get("/texts?direction=out&status=counted&sentFrom=2026-12-07T00:00:00%2B00:00"
                           "&sentTo=2026-12-14T00:00:00%2B00:00").text  # fmt: skip
    assert _filter_line(sent, "data-text-filter") == (
        "Sent (what the dashboard counts: sent, delivered, undelivered or logged) from 6 Dec 18:00 CST"
        " before 13 Dec 18:00 CST."
    )
    received = page_client.get("/texts?direction=in&status=counted").text
    assert _filter_line(received, "data-text-filter") == "Received (what the dashboard counts: received or logged)."
    either = page_client.get("/texts?status=counted").text
    assert _filter_line(either, "data-text-filter") == (
        "All texts (what the dashboard counts: going out, sent, delivered, undelivered or logged;"
        " coming in, received or logged)."
    )
