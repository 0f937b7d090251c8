"""The whole walk: a sequence email carries {{ booking_url }}; the prospect opens it, picks a time,
and the call is booked, the sequence stops, both sides get the invitation and the owner is told."""

from __future__ import annotations

import re
from datetime import timedelta

from leadline import clock
from leadline.db import unit_of_work
from leadline.notify.models import Notification
from tests.booking.helpers import HOST, NOW, invitation, outbox, set_up
from tests.conftest import configure
from tests.factories import make_prospect

TEMPLATE = """Subject: A quick call, {{ name }}?
Type: pain_point

Hi {{ firstName }},

Pick a time that suits you: {{ booking_url }}

{{ senderName }}
"""


def test_from_a_sequence_emails_link_to_a_booked_call(settings, cli, anon_client, immediate, tmp_path, monkeypatch):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "book_a_call.txt").write_text(TEMPLATE)
    configure(monkeypatch, settings, templates_dir=folder)
    set_up(settings)
    clock.set_frozen(NOW + timedelta(hours=2))  # Monday 10:00 in Chicago, inside the send window
    shop = make_prospect(settings, name="Reyes Plumbing", email="dan@reyesplumbing.example", tier=1,
                         timezone="America/Denver")  # fmt: skip
    started = cli("sequences", "start", "--template", "book_a_call", "-p", shop.id, "--steps", "follow_up_1:3d")
    assert started.exit_code == 0, started.stderr
    [sent] = [m for m in outbox(settings) if "dan@reyesplumbing.example" in str(m["To"])]
    body = sent.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    url = re.search(r"(http\S+/book/\S+)", body).group(1)  # type: ignore[union-attr]
    path = url.removeprefix(settings.base_url)

    page = anon_client.get(path)
    assert page.status_code == 200 and "America/Denver" in page.text
    first = re.search(r'value="(2026-12-0[78]T[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    booked = anon_client.post(path, data={"slot": first, "length": "30"}, follow_redirects=False)
    assert booked.status_code == 303
    assert "Your call is booked" in anon_client.get(booked.headers["location"]).text

    status = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}  # type: ignore[union-attr]
    assert status[shop.id]["status"] == "stopped"
    shown = cli("prospects", "show", shop.id, "--json").json
    assert shown["salesStatus"] == "scheduled" and shown["callsScheduledCount"] == 1  # type: ignore[index]
    calls = cli("calls", "list", "--json").json
    assert [c["prospectId"] for c in calls] == [shop.id]  # type: ignore[union-attr]
    invites = [m for m in outbox(settings) if str(m["Subject"]).startswith(("Invitation:", "Booked:"))]
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in invites) == sorted([shop.email, HOST])
    assert all("METHOD:REQUEST" in invitation(m) for m in invites)
    with unit_of_work(settings, readonly=True) as session:
        assert session.query(Notification).filter_by(kind="call_booked", prospect_id=shop.id).count() == 1
