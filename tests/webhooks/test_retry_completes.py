"""A batch stored but not applied (the server died in between, or lost its database) is applied
by SendGrid's retry of it, once: not left to the sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from leadline.activity.models import OutreachActivity
from leadline.db import unit_of_work
from leadline.webhooks import service
from leadline.webhooks.models import WebhookBatch, WebhookEvent
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


def test_a_post_over_one_part_stores_and_applies_each_part_and_a_failed_part_waits_for_the_sweep(hook, monkeypatch):
    """A post of more than ``service.APPLY_BATCH`` events is stored and applied a part per transaction,
    each part's new events inserted already applied. When applying one part fails, that part's events
    are stored as received (the others stay applied), the answer is 2xx, and the sweep applies them
    later, each once: the emails' states, the timeline and the maintained totals as if nothing failed."""
    from leadline import clock
    from leadline.webhooks.jobs import sweep

    targets = send_to(hook.settings, 2)
    batch = [event(t, "delivered") for t in targets]
    batch += [event(targets[n % 2], "open", sg_machine_open=n % 5 == 0) for n in range(service.APPLY_BATCH + 40)]
    real = service.emails.recount_many
    calls: list[int] = []

    def second_part_breaks(session, *args, **kwargs):
        calls.append(1)
        real(session, *args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("applying broke")

    monkeypatch.setattr(service.emails, "recount_many", second_part_breaks)
    start = clock.utc_now()
    clock.set_frozen(start)
    try:
        answer = hook.post(batch)
        assert answer.status_code == 200, answer.text
        counts = answer.json()
        assert (counts["received"], counts["new"], counts["duplicates"]) == (len(batch), len(batch), 0)
        assert counts["applied"] == service.APPLY_BATCH and counts["failed"] == 0, counts
        with unit_of_work(hook.settings, readonly=True) as session:
            statuses = list(session.scalars(select(WebhookEvent.status)))
            batches = session.execute(select(WebhookBatch.events, WebhookBatch.new_events, WebhookBatch.duplicates))
            assert list(batches) == [(len(batch), len(batch), 0)]
        assert statuses.count("applied") == service.APPLY_BATCH
        assert statuses.count("received") == len(batch) - service.APPLY_BATCH
        assert differences(hook.settings) == []

        monkeypatch.setattr(service.emails, "recount_many", real)
        clock.set_frozen(start + timedelta(minutes=2))
        sweep(hook.settings)
        sweep(hook.settings)  # a second sweep finds nothing left to apply
    finally:
        clock.set_frozen(None)
    opens = [e for e in batch if e["event"] == "open"]
    for n, target in enumerate(targets):
        mine = [e for e in opens if e["leadline_email_id"] == target.id]
        stored = email(hook.settings, target.id)
        assert (stored.status, stored.open_count) == ("opened", len(mine)), n
        assert stored.machine_open_count == sum(1 for e in mine if e["sg_machine_open"])
    with unit_of_work(hook.settings, readonly=True) as session:
        assert set(session.scalars(select(WebhookEvent.status))) == {"applied"}
        entries = session.scalar(select(func.count()).where(OutreachActivity.details["event"].as_string() == "open"))
    assert entries == len(opens)
    assert differences(hook.settings) == []
