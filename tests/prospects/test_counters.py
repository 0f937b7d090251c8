"""The prospects domain owns a prospect's counters, last contact and do-not-contact mark:
other domains hand in what they counted or saw, through these functions only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadline.activity import service as activity
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.flows import send
from leadline.prospects import service
from tests.factories import make_prospect, snapshot

T0 = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)


def last_contact(settings, prospect_id: str) -> datetime | None:
    with unit_of_work(settings, readonly=True) as session:
        return service.get(session, prospect_id).last_contact_at


class TestLastContact:
    def test_it_only_moves_forward(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            service.touch_contact(prospect, T0)
        assert last_contact(settings, p.id) == T0
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            service.touch_contact(prospect, T0 - timedelta(days=3))  # an older event, arriving late
        assert last_contact(settings, p.id) == T0
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            service.touch_contact(prospect, T0 + timedelta(hours=1))
        assert last_contact(settings, p.id) == T0 + timedelta(hours=1)

    def test_an_older_reply_never_moves_it_back(self, settings):
        """Through the emails service: a reply dated before the email's own send (a reply
        logged late, with its real date) records the reply but leaves last contact alone."""
        p = make_prospect(settings)
        report = send(settings, "pain_point", actor="test", prospect_ids=[p.id])
        assert report.count("sent") == 1
        with unit_of_work(settings, readonly=True) as session:
            (email,) = emails.search(session, prospect_id=p.id).items
            email_id, sent_at = email.id, email.sent_at
        assert sent_at is not None and last_contact(settings, p.id) == sent_at
        with unit_of_work(settings) as session:
            emails.record_reply(session, email_id, "yes please", actor="test", at=sent_at - timedelta(days=2))
        assert last_contact(settings, p.id) == sent_at
        with unit_of_work(settings, readonly=True) as session:
            assert service.get(session, p.id).sales_status == "replied"


class TestDoNotContact:
    def test_set_once_with_its_reason_on_the_timeline(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            assert service.set_do_not_contact(session, prospect, "unsubscribed", actor="test") is True
            assert service.set_do_not_contact(session, prospect, "the address bounced", actor="test") is False
        with unit_of_work(settings, readonly=True) as session:
            prospect = service.get(session, p.id)
            assert (prospect.do_not_contact, prospect.do_not_contact_reason) == (True, "unsubscribed")
            marks = [(e.status, e.details) for e in activity.for_prospect(session, p.id) if e.type == "do_not_contact"]
        assert marks == [("set", {"reason": "unsubscribed"})]

    def test_lifted_only_when_made_for_that_reason(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            service.set_do_not_contact(session, service.get(session, p.id), "asked not to be called", actor="test")
        before = snapshot(settings)
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            assert (
                service.lift_do_not_contact(session, prospect, "unsubscribed", why="resubscribed", actor="t") is False
            )
        assert snapshot(settings) == before  # another reason's mark (a person's) stays, and nothing is recorded
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            lifted = service.lift_do_not_contact(
                session, prospect, "asked not to be called", why="resubscribed", actor="test"
            )
            assert lifted is True
        with unit_of_work(settings, readonly=True) as session:
            prospect = service.get(session, p.id)
            assert (prospect.do_not_contact, prospect.do_not_contact_reason) == (False, None)
            entries = [
                (e.status, e.details) for e in activity.for_prospect(session, p.id) if e.type == "do_not_contact"
            ]
        assert entries == [("set", {"reason": "asked not to be called"}), ("lifted", {"reason": "resubscribed"})]

    def test_restated_only_when_made_for_the_old_reason(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id, for_update=True)
            service.set_do_not_contact(session, prospect, "unsubscribed", actor="test")
            service.restate_do_not_contact(prospect, "the address bounced", "reported our email as spam")
            assert prospect.do_not_contact_reason == "unsubscribed"
            service.restate_do_not_contact(prospect, "unsubscribed", "reported our email as spam")
            assert prospect.do_not_contact_reason == "reported our email as spam"


class TestEmailCounts:
    def test_stored_as_counted_and_only_where_they_change(self, settings):
        first, second = make_prospect(settings), make_prospect(settings)
        with unit_of_work(settings) as session:
            service.set_email_counts(session, {first.id: (3, 1), second.id: (0, 0)})
        with unit_of_work(settings, readonly=True) as session:
            one, two = service.get(session, first.id), service.get(session, second.id)
            assert (one.emails_sent_count, one.emails_opened_count) == (3, 1)
            assert (two.emails_sent_count, two.emails_opened_count) == (0, 0)
        before = snapshot(settings)
        with unit_of_work(settings) as session:
            service.set_email_counts(session, {first.id: (3, 1), second.id: (0, 0)})
            service.set_email_counts(session, {})
        assert snapshot(settings) == before
