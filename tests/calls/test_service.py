"""Call rules: booking, rescheduling, cancelling, no-shows, logging and every outcome's effect on
stage, counters, tasks and timeline. Counters always equal a recount."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from leadline import clock
from leadline.calls import service as calls
from leadline.calls.schemas import CallEdit, Reschedule
from leadline.customers import service as customers
from leadline.db import unit_of_work
from leadline.errors import Conflict, Invalid, NotFound
from leadline.tasks import service as tasks
from tests.calls.helpers import (
    SEED_NEXT,
    SEED_NOTES,
    SEED_OBJECTIONS,
    book,
    entries,
    freeze,
    local,
    log,
    prospect,
    recount,
    timeline,
)
from tests.factories import make_prospect, snapshot


def counters(settings, prospect_id: str) -> tuple[int, int]:
    p = prospect(settings, prospect_id)
    return p.calls_scheduled_count, p.calls_completed_count


def open_tasks(settings, prospect_id: str):
    with unit_of_work(settings, readonly=True) as session:
        return [(t.title, t.kind, t.due_at) for t in tasks.search(session, prospect_id=prospect_id)]


class TestBook:
    def test_a_booked_call_is_pending_and_moves_the_prospect_to_scheduled(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes")
        call_id = book(settings, p.id, "2025-11-21 15:00")
        after = prospect(settings, p.id)
        assert after.sales_status == "scheduled"
        assert after.next_follow_up_at == local("2025-11-21 15:00")
        assert counters(settings, p.id) == (1, 0)
        with unit_of_work(settings, readonly=True) as session:
            call = calls.get(session, call_id)
            assert (call.status, call.outcome, call.ics_sequence) == ("scheduled", "pending", 0)
            assert call.scheduled_at == local("2025-11-21 15:00")
            assert call.outreach_activity_id is not None
        assert timeline(settings, p.id)[-2:] == [("call", "scheduled"), ("stage_change", "scheduled")]
        assert entries(settings, p.id, "call")[0]["scheduledAt"] == "2025-11-21T21:00:00Z"

    def test_a_second_call_counts_and_the_earliest_is_the_next_follow_up(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        book(settings, p.id, "2025-11-25 10:00")
        book(settings, p.id, "2025-11-20 10:00")
        assert counters(settings, p.id) == (2, 0)
        assert prospect(settings, p.id).next_follow_up_at == local("2025-11-20 10:00")

    def test_booking_never_moves_a_prospect_back(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, sales_status="proposal")
        book(settings, p.id, "2025-11-20 10:00")
        assert prospect(settings, p.id).sales_status == "proposal"

    @pytest.mark.parametrize(
        ("prospect_id", "when", "error", "field"),
        [
            (None, "2025-11-17 15:00", Invalid, "scheduledAt"),  # in the past
            (None, "2025-11-18 09:00", Invalid, "scheduledAt"),  # right now
            (None, "2026-03-08 02:30", Invalid, "scheduledAt"),  # skipped by DST
            ("nobody", "2025-11-21 15:00", NotFound, "prospectId"),
        ],
    )
    def test_bad_bookings_change_nothing(self, settings, prospect_id, when, error, field):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        before = snapshot(settings)
        with pytest.raises(error) as caught:
            book(settings, prospect_id or p.id, when)
        assert caught.value.field == field
        assert snapshot(settings) == before


class TestRescheduleCancelNoShow:
    def test_reschedule_moves_the_same_call_and_bumps_its_sequence(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-21 15:00")
        with unit_of_work(settings) as session:
            data = Reschedule.model_validate({"scheduled_at": "2025-11-24 10:00", "reason": "asked for Monday"})
            call = calls.reschedule(session, call_id, data, actor="test")
            assert (call.scheduled_at, call.ics_sequence) == (local("2025-11-24 10:00"), 1)
        assert counters(settings, p.id) == (1, 0)
        assert prospect(settings, p.id).next_follow_up_at == local("2025-11-24 10:00")
        moved = entries(settings, p.id, "call")[-1]
        assert moved["status"] == "rescheduled"
        assert (moved["from"], moved["scheduledAt"], moved["reason"]) == (
            "2025-11-21T21:00:00Z", "2025-11-24T16:00:00Z", "asked for Monday",
        )  # fmt: skip

    def test_reschedule_into_the_past_or_of_a_logged_call_is_refused(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-21 15:00")
        before = snapshot(settings)
        with pytest.raises(Invalid) as caught, unit_of_work(settings) as session:
            calls.reschedule(
                session, call_id, Reschedule.model_validate({"scheduled_at": "2025-11-01 10:00"}), actor="t"
            )
        assert caught.value.field == "scheduledAt"
        assert snapshot(settings) == before
        freeze("2025-11-21 15:30")
        log(settings, p.id, "interested")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="is completed"), unit_of_work(settings) as session:
            calls.reschedule(
                session, call_id, Reschedule.model_validate({"scheduled_at": "2025-11-28 10:00"}), actor="t"
            )
        assert snapshot(settings) == before

    def test_cancel(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-21 15:00")
        with unit_of_work(settings) as session:
            call = calls.cancel(session, call_id, reason="they hired someone", actor="test")
            assert (call.status, call.cancel_reason, call.ics_sequence) == (
                "cancelled",
                "they hired someone",
                1,
            )
        after = prospect(settings, p.id)
        assert counters(settings, p.id) == (0, 0)  # a cancelled call does not count as scheduled
        assert after.next_follow_up_at is None
        assert after.sales_status == "scheduled"  # automatic moves never go back
        assert entries(settings, p.id, "call")[-1]["status"] == "cancelled"
        with pytest.raises(Conflict, match="is cancelled"), unit_of_work(settings) as session:
            calls.cancel(session, call_id, reason=None, actor="test")

    def test_no_show_needs_the_time_to_have_passed_and_makes_a_task(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, contact_name="Daniel Reyes", name="Royal Plumbing Co")
        call_id = book(settings, p.id, "2025-11-21 15:00")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="still to come"), unit_of_work(settings) as session:
            calls.no_show(session, call_id, notes=None, actor="test")
        assert snapshot(settings) == before
        now = freeze("2025-11-21 15:20")
        with unit_of_work(settings) as session:
            call, _ = calls.no_show(session, call_id, notes="voicemail", actor="test")
            assert (call.status, call.outcome, call.ics_sequence) == ("no_show", "pending", 1)
        assert counters(settings, p.id) == (1, 0)  # it was booked; it did not happen
        assert open_tasks(settings, p.id) == [
            ("Reschedule the missed call with Daniel Reyes (Royal Plumbing Co)", "follow_up", now)
        ]
        assert prospect(settings, p.id).next_follow_up_at == now
        # A missed call can be booked again; it is the same call and calendar event.
        with unit_of_work(settings) as session:
            data = Reschedule.model_validate({"scheduled_at": "2025-11-24 10:00"})
            call = calls.reschedule(session, call_id, data, actor="test")
            assert (call.status, call.ics_sequence) == ("scheduled", 2)


class TestLog:
    def test_the_seed_example_completes_the_booked_call(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes")
        call_id = book(settings, p.id, "2025-11-21 15:00")
        ended = freeze("2025-11-21 15:25")
        result = log(settings,
            p.id, "interested", duration="25m", objections=SEED_OBJECTIONS, notes=SEED_NOTES,
            next_steps=SEED_NEXT,
        )  # fmt: skip
        call = result.call
        assert call.id == call_id
        assert (call.status, call.outcome, call.duration, call.completed_at) == (
            "completed",
            "interested",
            1500,
            ended,
        )
        assert call.objections == SEED_OBJECTIONS
        assert call.objection_categories == ["price", "proof", "timeline"]
        assert (call.notes, call.next_steps, call.ics_sequence) == (SEED_NOTES, SEED_NEXT, 1)
        after = prospect(settings, p.id)
        assert after.sales_status == "interested"
        assert counters(settings, p.id) == (1, 1)
        assert after.last_contact_at == ended
        # Friday's call: the next step is due two business days later, Tuesday 09:00.
        assert open_tasks(settings, p.id) == [(SEED_NEXT, "next_step", local("2025-11-25 09:00"))]
        assert after.next_follow_up_at == local("2025-11-25 09:00")
        assert timeline(settings, p.id)[-3:] == [
            ("call", "completed"),
            ("stage_change", "interested"),
            ("task", "created"),
        ]
        logged = entries(settings, p.id, "call")[-1]
        assert logged["durationSeconds"] == 1500 and logged["objectionCategories"] == [
            "price",
            "proof",
            "timeline",
        ]

    def test_logging_without_a_booking_creates_a_completed_call(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, sales_status="replied")
        result = log(settings, p.id, "interested", duration=1500, completed_at="2025-11-18 08:30")
        call = result.call
        assert call.scheduled_at == local("2025-11-18 08:05")  # completedAt minus the duration
        assert call.completed_at == local("2025-11-18 08:30")
        assert counters(settings, p.id) == (1, 1)
        assert entries(settings, p.id, "call")[-1]["booked"] is False
        assert call.outreach_activity_id is not None

    def test_the_earliest_booked_call_is_the_one_completed(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        later = book(settings, p.id, "2025-11-25 10:00")
        first = book(settings, p.id, "2025-11-20 10:00")
        freeze("2025-11-20 10:30")
        assert log(settings, p.id, "follow_up").call.id == first
        assert recount(settings, p.id) == {"scheduled": 2, "completed": 1, "pending": 1}
        with unit_of_work(settings, readonly=True) as session:
            assert calls.get(session, later).status == "scheduled"

    def test_a_call_booked_for_a_later_day_stays_booked(self, settings):
        """Logged on Monday, a call completed the booking for Wednesday ("completed", in the future);
        a booking of the call's own day (held a little early) or before (overdue) is the one completed."""
        freeze("2025-11-17 09:00")  # a Monday
        p = make_prospect(settings)
        wednesday = book(settings, p.id, "2025-11-19 15:00")
        freeze("2025-11-17 11:00")
        held = log(settings, p.id, "follow_up").call
        assert held.id != wednesday and held.status == "completed"
        with unit_of_work(settings, readonly=True) as session:
            assert calls.get(session, wednesday).status == "scheduled"
        freeze("2025-11-19 14:30")  # half an hour early, the same day: that booking
        assert log(settings, p.id, "follow_up").call.id == wednesday
        overdue = book(settings, p.id, "2025-11-20 09:00")
        freeze("2025-11-21 16:00")  # a day late: still that booking
        assert log(settings, p.id, "interested").call.id == overdue
        assert recount(settings, p.id) == {"scheduled": 3, "completed": 3, "pending": 0}

    @pytest.mark.parametrize(
        ("outcome", "extra", "stage", "task_kind"),
        [
            ("interested", {}, "interested", "next_step"),
            ("follow_up", {"follow_up_at": "2025-11-28 10:00"}, "interested", "follow_up"),
            ("proposal_sent", {}, "proposal", "next_step"),
            ("not_interested", {}, "closed_lost", None),
            ("closed_won", {"service_type": "grid_health_analysis", "monthly_fee": 2400}, "closed_won", None),
        ],
    )
    def test_each_outcome(self, settings, outcome, extra, stage, task_kind):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", sales_status="replied")
        book(settings, p.id, "2025-11-19 15:00")
        freeze("2025-11-19 15:30")
        result = log(settings, p.id, outcome, objections=["Too expensive"], duration="20m", **extra)
        after = prospect(settings, p.id)
        assert after.sales_status == stage
        assert counters(settings, p.id) == (1, 1)
        assert after.last_contact_at == local("2025-11-19 15:30")
        found = open_tasks(settings, p.id)
        if task_kind is None:
            assert found == [] and result.task is None
        else:
            assert [kind for _, kind, _ in found] == [task_kind]
            assert found[0][0] == "Follow up with Daniel Reyes (Royal Plumbing Co)"
        types = timeline(settings, p.id)
        assert ("call", "completed") in types
        if outcome == "follow_up":
            assert after.next_follow_up_at == local("2025-11-28 10:00")
            assert found[0][2] == local("2025-11-28 10:00")
        elif outcome in ("interested", "proposal_sent"):
            assert after.next_follow_up_at == local("2025-11-21 09:00")  # Wed + 2 business days
        if outcome == "not_interested":
            assert after.lost_reason == "Too expensive"
            assert after.close_date is None  # closeDate is when a customer was won
            assert ("deal", "lost") in types
            assert after.next_follow_up_at is None
        if outcome == "closed_won":
            with unit_of_work(settings, readonly=True) as session:
                customer = customers.for_prospect(session, p.id)
                assert customer is not None and result.customer is not None
                assert (customer.monthly_fee, customer.service_type, customer.status) == (
                    2400, "grid_health_analysis", "active",
                )  # fmt: skip
                assert customer.signed_at == local("2025-11-19 15:30")
            assert after.close_date == local("2025-11-19 15:30") and after.deal_value == 2400
            assert types[-3:] == [("deal", "won"), ("customer", "created"), ("stage_change", "closed_won")]

    def test_follow_up_without_a_date_uses_the_next_step_due_date(self, settings):
        freeze("2025-11-21 16:00")  # a Friday
        p = make_prospect(settings)
        log(settings, p.id, "follow_up")
        assert prospect(settings, p.id).next_follow_up_at == local("2025-11-25 09:00")

    def test_next_steps_on_a_lost_call_make_a_task_with_the_given_date(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        log(settings, p.id, "not_interested", lost_reason="went with a competitor", next_steps="Try again in spring",
            next_step_due="2026-03-02")  # fmt: skip
        after = prospect(settings, p.id)
        assert (after.sales_status, after.lost_reason) == ("closed_lost", "went with a competitor")
        assert open_tasks(settings, p.id) == [("Try again in spring", "next_step", local("2026-03-02 09:00"))]

    def test_closed_won_takes_the_fee_from_the_deal_value(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, deal_value=1800)
        result = log(settings, p.id, "closed_won", service_type="paid_ads")
        assert result.customer is not None and result.customer.monthly_fee == 1800

    def test_a_call_on_a_closed_deal_does_not_move_it(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        log(settings, p.id, "not_interested")
        log(settings, p.id, "interested")
        assert prospect(settings, p.id).sales_status == "closed_lost"
        assert counters(settings, p.id) == (2, 2)
        log(settings, p.id, "not_interested")  # already lost: recorded, nothing else
        assert prospect(settings, p.id).sales_status == "closed_lost"

    def test_last_contact_never_moves_backwards(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        log(settings, p.id, "interested")
        log(settings, p.id, "interested", completed_at="2025-11-10 10:00")
        assert prospect(settings, p.id).last_contact_at == local("2025-11-18 09:00")

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"completed_at": "2025-11-19 10:00"}, "completedAt"),
            ({"outcome": "closed_won"}, "serviceType"),
            ({"outcome": "closed_won", "service_type": "paid_ads"}, "monthlyFee"),
            ({"follow_up_at": "2025-11-28"}, "followUpAt"),
            ({"monthly_fee": 100}, "monthlyFee"),
            ({"lost_reason": "x"}, "lostReason"),
            ({"next_step_due": "2025-11-01"}, "nextStepDue"),
            ({"scheduled_at": "2025-11-18 10:00", "completed_at": "2025-11-18 08:00"}, "scheduledAt"),
            (
                {"outcome": "follow_up", "follow_up_at": "2025-11-28", "next_step_due": "2025-11-27"},
                "followUpAt",
            ),
        ],
    )
    def test_bad_logs_change_nothing(self, settings, extra, field):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        book(settings, p.id, "2025-11-19 10:00")
        before = snapshot(settings)
        with pytest.raises(Invalid) as caught:
            log(settings, p.id, **({"outcome": "interested"} | extra))
        assert caught.value.field == field
        assert snapshot(settings) == before

    def test_closed_won_on_a_lost_deal_is_refused_until_reopened(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        log(settings, p.id, "not_interested")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="reopen it first"):
            log(settings, p.id, "closed_won", service_type="paid_ads", monthly_fee=900)
        assert snapshot(settings) == before


class TestEdit:
    def test_patch_completes_a_booked_call_then_fixes_it(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-18 10:00", notes="ask about the van fleet")
        freeze("2025-11-18 10:30")
        with unit_of_work(settings) as session:
            done = calls.edit(session, call_id, CallEdit.model_validate({"outcome": "proposal_sent"}), actor="t")
            assert (done.call.status, done.prospect.sales_status) == ("completed", "proposal")
            assert done.call.notes == "ask about the van fleet"
        with unit_of_work(settings) as session:
            data = CallEdit.model_validate({"objections": "cost", "duration": "10m", "notes": "fixed"})
            fixed = calls.edit(session, call_id, data, actor="t")
            assert (fixed.call.objection_categories, fixed.call.duration) == (["price"], 600)
            assert fixed.task is not None
        assert entries(settings, p.id, "call")[-1]["status"] == "edited"
        assert counters(settings, p.id) == (1, 1)

    def test_a_logged_outcome_cannot_change(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = log(settings, p.id, "interested").call.id
        before = snapshot(settings)
        with pytest.raises(Conflict) as caught, unit_of_work(settings) as session:
            calls.edit(session, call_id, CallEdit.model_validate({"outcome": "closed_won"}), actor="t")
        assert caught.value.field == "outcome"
        with pytest.raises(Invalid) as caught, unit_of_work(settings) as session:
            calls.edit(session, call_id, CallEdit.model_validate({"followUpAt": "2025-12-01"}), actor="t")
        assert caught.value.field == "followUpAt"
        assert snapshot(settings) == before

    def test_before_the_call_only_notes_can_change(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-19 10:00")
        with unit_of_work(settings) as session:
            calls.edit(session, call_id, CallEdit.model_validate({"notes": "bring numbers"}), actor="t")
        with pytest.raises(Invalid) as caught, unit_of_work(settings) as session:
            calls.edit(session, call_id, CallEdit.model_validate({"duration": 60}), actor="t")
        assert caught.value.field == "duration"


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["book", "reschedule", "cancel", "no_show", "log", "log_new", "done"]),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=1,
    max_size=12,
)


class TestCountersEqualARecount:
    @hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(actions=ACTIONS)
    def test_any_sequence(self, settings, actions):
        start = freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        booked: list[str] = []
        for step, (action, pick) in enumerate(actions):
            clock.set_frozen(start + timedelta(hours=step))
            target = booked[pick % len(booked)] if booked else None
            try:
                with unit_of_work(settings) as session:
                    if action == "book":
                        when = (start + timedelta(days=1 + pick, hours=step)).isoformat()
                        booked.append(calls.book(session, calls.CallBook.model_validate(
                            {"prospect_id": p.id, "scheduled_at": when}), actor="t").id)  # fmt: skip
                    elif action == "reschedule" and target:
                        when = (start + timedelta(days=5 + pick, hours=step)).isoformat()
                        calls.reschedule(session, target, Reschedule.model_validate({"scheduled_at": when}), actor="t")
                    elif action == "cancel" and target:
                        calls.cancel(session, target, reason=None, actor="t")
                    elif action == "no_show" and target:
                        clock.set_frozen(start + timedelta(days=30))
                        calls.no_show(session, target, notes=None, actor="t")
                    elif action in ("log", "log_new"):
                        outcome = ["interested", "follow_up", "proposal_sent", "not_interested"][pick]
                        data = {"prospect_id": p.id, "outcome": outcome}
                        if action == "log" and target:
                            data = {"call_id": target, "outcome": outcome}
                        calls.log(session, calls.CallLog.model_validate(data), actor="t")
                    elif action == "done":
                        open_ = tasks.search(session, prospect_id=p.id)
                        if open_:
                            tasks.done(session, open_[0].id, actor="t")
            except (Conflict, Invalid):
                pass  # a refused step changes nothing; the counters must still agree
            truth = recount(settings, p.id)
            after = prospect(settings, p.id)
            assert (after.calls_scheduled_count, after.calls_completed_count) == (
                truth["scheduled"], truth["completed"],
            )  # fmt: skip
            with unit_of_work(settings, readonly=True) as session:
                pending, _ = calls.search(session, status="pending", prospect_id=p.id, limit=100)
                open_due = tasks.earliest_open_due(session, p.id)
            candidates = [c.scheduled_at for c in pending] + ([open_due] if open_due else [])
            assert after.next_follow_up_at == (min(candidates) if candidates else None)
