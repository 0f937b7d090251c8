"""Writing email through the pages (``/prospects/{id}/compose``, ``/emails/{id}/reply``) over HTTP:
a refused form names every problem at once, keeps what was typed and changes nothing."""

from __future__ import annotations

import html as html_lib
import re

from leadline.db import unit_of_work
from leadline.emails import service
from tests.factories import make_prospect, snapshot
from tests.web.helpers import error_line, field_errors, send_email


def _replied(settings) -> str:
    prospect = make_prospect(settings, name="Reply Roofing", contact_name="Mia Baker", email="mia@reply.example")
    email_id = send_email(settings, prospect.id)
    with unit_of_work(settings) as session:
        service.record_reply(session, email_id, "Sounds good. Call me?", actor="test")
    return email_id


def test_an_empty_message_reads_as_any_empty_field(settings, page_client):
    email_id = _replied(settings)
    before = snapshot(settings)
    answer = page_client.post(f"/emails/{email_id}/reply", data={"csrf_token": page_client.csrf, "body": "",
                                                                 "action": "send"})  # fmt: skip
    assert answer.status_code == 422
    assert error_line(answer.text) == "Message: must not be empty"
    assert field_errors(answer.text) == {"body": "must not be empty"}
    assert snapshot(settings) == before


def test_a_bad_merge_field_and_a_past_time_are_both_named_and_kept(settings, page_client):
    email_id = _replied(settings)
    before = snapshot(settings)
    typed = {"subject": "About {{ planet }}", "body": "Hi {{ planet }}", "at": "2001-01-01T09:00"}
    answer = page_client.post(f"/emails/{email_id}/reply", data={"csrf_token": page_client.csrf, **typed,
                                                                 "action": "send"})  # fmt: skip
    assert answer.status_code == 422
    line = error_line(answer.text)
    assert line.startswith("Send at: is not in the future; leave it out to send now; Subject: "), line
    assert "planet" in line
    assert set(field_errors(answer.text)) == {"at", "subject"}
    shown = html_lib.unescape(answer.text)
    assert 'value="About {{ planet }}"' in shown and ">Hi {{ planet }}</textarea>" in shown
    assert 'value="2001-01-01T09:00"' in shown
    assert snapshot(settings) == before


def test_a_garbled_time_and_an_empty_message_are_both_named(settings, page_client):
    prospect = make_prospect(settings, name="Garbled Co", email="g@garbled.example")
    before = snapshot(settings)
    answer = page_client.post(f"/prospects/{prospect.id}/compose", data={
        "csrf_token": page_client.csrf, "subject": "Hi", "body": "", "at": "tomorrow", "action": "send"})  # fmt: skip
    assert answer.status_code == 422
    assert error_line(answer.text) == (
        "Send at: enter a date and time, or leave it empty to send now; Message: must not be empty"
    )
    assert 'value="tomorrow"' in answer.text
    assert snapshot(settings) == before


def test_their_reply_shows_its_time_once_with_its_zone(settings, page_client):
    email_id = _replied(settings)
    html = page_client.get(f"/emails/{email_id}/reply").text
    heading = html_lib.unescape(html.split("<h2>Their reply", 1)[1].split("</h2>", 1)[0])
    assert re.search(r"\d\d:\d\d C[SD]T</span>$", heading) and "(" not in heading, heading  # not "CST (America/...)"
