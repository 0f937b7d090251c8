"""The one timeline writer: ``activity.record`` for one entry, ``activity.record_many`` for many
(webhook batches, imports) in one executemany; both write the same entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadline.activity import service as activity
from leadline.db import unit_of_work
from tests.factories import make_prospect, snapshot

T0 = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)


def entries(settings, prospect_id: str) -> list[tuple[object, ...]]:
    with unit_of_work(settings, readonly=True) as session:
        return [
            (e.type, e.status, e.details, e.actor, e.created_at, e.updated_at)
            for e in activity.for_prospect(session, prospect_id)
            if e.type != "created"
        ]


def test_many_entries_are_the_entries_one_at_a_time(settings):
    one, many = make_prospect(settings), make_prospect(settings)
    wanted = [
        ("email", "open", {"emailId": "email_1", "machine": False}, "webhook:sendgrid", T0),
        ("email", "click", {"emailId": "email_1", "url": "https://x.test"}, "webhook:sendgrid", T0 + timedelta(1)),
        ("imported", "created", {"file": "a.csv", "line": 2}, "cli:pat", T0 + timedelta(2)),
    ]
    with unit_of_work(settings) as session:
        for kind, status, details, actor, at in wanted:
            activity.record(session, one.id, kind, status, details, actor=actor, at=at)
        activity.record_many(
            session,
            [
                activity.row(many.id, kind, status, details, actor=actor, at=at)
                for kind, status, details, actor, at in wanted
            ],
        )
    assert entries(settings, many.id) == entries(settings, one.id)
    assert [e[:2] for e in entries(settings, many.id)] == [
        ("email", "open"),
        ("email", "click"),
        ("imported", "created"),
    ]


def test_nothing_to_record_writes_nothing(settings):
    make_prospect(settings)
    before = snapshot(settings)
    with unit_of_work(settings) as session:
        activity.record_many(session, [])
    assert snapshot(settings) == before


def test_many_statuses_move_in_one_statement_and_an_entry_in_hand_reads_its_new_status(settings):
    """``update_statuses`` (the "sent" entries of a webhook batch's emails) writes past the ORM: an
    entry the same transaction holds reads the status written, entries already at theirs keep their
    updated time, and a funnel entry (a stage change: its totals move with the ORM) is left alone."""
    from leadline import clock

    prospect = make_prospect(settings)
    with clock.freeze(T0), unit_of_work(settings) as session:
        held = activity.record(session, prospect.id, "email", "sent", {"emailId": "email_1"}, actor="test")
        still = activity.record(session, prospect.id, "email", "opened", {"emailId": "email_2"}, actor="test")
        stage = activity.record(session, prospect.id, "stage_change", "contacted", {"to": "contacted"}, actor="test")
        session.flush()
        ids = held.id, still.id, stage.id
    with clock.freeze(T0 + timedelta(hours=1)), unit_of_work(settings) as session:
        held = activity.get(session, ids[0])
        assert held is not None and held.status == "sent"
        activity.update_statuses(session, {ids[0]: "delivered", ids[1]: "opened", ids[2]: "replied"})
        assert held.status == "delivered"
    with unit_of_work(settings, readonly=True) as session:
        stored = {i: (activity.get(session, i).status, activity.get(session, i).updated_at) for i in ids}  # type: ignore[union-attr]
    assert stored == {ids[0]: ("delivered", T0 + timedelta(hours=1)), ids[1]: ("opened", T0),
                      ids[2]: ("contacted", T0)}  # fmt: skip
