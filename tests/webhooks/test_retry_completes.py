"""A batch stored but not applied (the server died in between, or lost its database) is applied
by SendGrid's retry of it, once: not left to the sweep."""

from __future__ import annotations

from sqlalchemy import func, select

from leadline.activity.models import OutreachActivity
from leadline.db import unit_of_work
from leadline.webhooks import service
from leadline.webhooks.models import WebhookEvent
from tests.analytics.test_totals import differences
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


def test_applying_that_fails_half_way_keeps_the_stored_events_and_nothing_of_the_applying(hook, monkeypatch):
    """The batch is stored in the transaction that applies its first events: an error while applying
    (after some of its writes) rolls back the applying only; the answer is 2xx, the events are stored
    and waiting, and a replay applies each once."""
    targets = send_to(hook.settings, 2)
    batch = [event(t, kind) for t in targets for kind in ("delivered", "open")]
    real = service.emails.recount_many

    def broken(session, *args, **kwargs):
        real(session, *args, **kwargs)  # states, marks, timeline and counters are written; then it fails
        raise RuntimeError("applying broke")

    monkeypatch.setattr(service.emails, "recount_many", broken)
    answer = hook.post(batch)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["new"], answer.json()["applied"]) == (4, 0), answer.json()
    with unit_of_work(hook.settings, readonly=True) as session:
        statuses = list(session.scalars(select(WebhookEvent.status)))
        entries = session.scalar(select(func.count()).where(OutreachActivity.details["event"].as_string() == "open"))
    assert sorted(statuses) == ["received"] * 4 and entries == 0
    assert [email(hook.settings, t.id).status for t in targets] == ["sent", "sent"]
    assert differences(hook.settings) == []  # the maintained totals' moves went with the savepoint

    monkeypatch.setattr(service.emails, "recount_many", real)
    from leadline.webhooks.flows import replay

    assert replay(hook.settings, failed=False, unmatched=False, actor="test")["applied"] == 4
    assert [email(hook.settings, t.id).open_count for t in targets] == [1, 1]
    with unit_of_work(hook.settings, readonly=True) as session:
        entries = session.scalar(select(func.count()).where(OutreachActivity.details["event"].as_string() == "open"))
    assert entries == 2
    assert differences(hook.settings) == []
