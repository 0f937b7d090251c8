"""Writing email through the pages (``/prospects/{id}/compose``, ``/emails/{id}/reply``) over HTTP:
a refused form names every problem at once, keeps what was typed and changes nothing."""

from __future__ import annotations

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
