"""A batch stored but not applied (the server died in between, or lost its database) is applied
by SendGrid's retry of it, once: not left to the sweep."""

from __future__ import annotations

from sqlalchemy import func, select

from leadline.activity.models import OutreachActivity
from leadline.db import unit_of_work
from leadline.webhooks import service
from leadline.webhooks.models import WebhookEvent
from tests.webhooks.conftest import email, event, send_to


def test_the_retry_applies_what_the_first_delivery_only_stored(hook):
    (target,) = send_to(hook.settings, 1)
    batch = [event(target, "delivered"), event(target, "open")]
    with unit_of_work(hook.settings) as session:  # what a server killed after storing the batch leaves behind
        service.ingest(session, batch)
    assert email(hook.settings, target.id).status == "sent"

    answer = hook.post(batch).json()
    assert answer == {"received": 2, "new": 0, "duplicates": 2, "applied": 2, "unmatched": 0, "failed": 0}
    assert (email(hook.settings, target.id).status, email(hook.settings, target.id).open_count) == ("opened", 1)

    again = hook.post(batch).json()  # and once applied, a further retry changes nothing
    assert (again["applied"], again["duplicates"]) == (0, 2)
    with unit_of_work(hook.settings, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 2
        entries = session.scalar(
            select(func.count()).where(
                OutreachActivity.type == "email", OutreachActivity.details["event"].as_string().is_not(None)
            )
        )
    assert entries == 2 and email(hook.settings, target.id).open_count == 1


def test_unmatched_and_failed_events_are_left_to_replay(hook):
    stray = {"email": "nobody@nowhere.example", "event": "open", "timestamp": 1763400000, "sg_event_id": "stray-1"}
    assert hook.post([stray]).json()["unmatched"] == 1
    again = hook.post([stray]).json()
    assert (again["applied"], again["unmatched"], again["duplicates"]) == (0, 0, 1)
