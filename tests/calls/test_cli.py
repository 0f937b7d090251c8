"""`leadline calls ...` and `leadline objections` as a user types them."""

from __future__ import annotations

import icalendar

from tests.calls.helpers import SEED_NEXT, SEED_NOTES, SEED_OBJECTIONS, book, freeze, local, log, prospect
from tests.conftest import Cli
from tests.factories import make_prospect, snapshot

SEED_ARGS = [
    "--outcome", "interested",
    "--objections", ",".join(SEED_OBJECTIONS),
    "--duration", "25m",
    "--notes", SEED_NOTES,
    "--next-steps", SEED_NEXT,
]  # fmt: skip


class TestTheSeedExample:
    def test_schedule_list_log_show_round_trip(self, settings, cli, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", phone="(512) 555-0142")
        booked = cli("calls", "schedule", "--prospect", p.id, "--at", "2025-11-21 15:00")
        assert booked.exit_code == 0, booked.stderr
        assert "Royal Plumbing Co on Fri 2025-11-21 15:00. Stage: scheduled." in booked.stdout
        pending = cli("calls", "list", "--status", "pending", "--json").json
        assert [(c["prospectId"], c["status"], c["outcome"], c["scheduledAt"]) for c in pending] == [
            (p.id, "scheduled", "pending", "2025-11-21T21:00:00Z")
        ]
        freeze("2025-11-21 15:25")
        logged = cli("calls", "log", "--prospect", p.id, *SEED_ARGS)
        assert logged.exit_code == 0, logged.stderr
        for text in (
            "with Royal Plumbing Co: interested, 25 min.",
            "How much will this cost? (Price / cost); Do you have case studies? (Proof / case studies); "
            "What's the timeline? (Timeline)",
            "Royal Plumbing Co is now interested.",
            "Next step: Send ROI proposal + case studies, due Tue 2025-11-25 09:00",
        ):
            assert text in logged.stdout, text
        call_id = pending[0]["id"]
        shown = cli("calls", "show", call_id, "--json").json
        assert shown == client.get(f"/api/calls/{call_id}").json()
        assert (shown["duration"], shown["objections"], shown["nextSteps"], shown["notes"]) == (
            1500, SEED_OBJECTIONS, SEED_NEXT, SEED_NOTES,
        )  # fmt: skip
        assert (shown["scheduledAt"], shown["completedAt"]) == (
            "2025-11-21T21:00:00Z",
            "2025-11-21T21:25:00Z",
        )
        assert cli("calls", "list", "--status", "pending", "--json").json == []
        text = cli("calls", "show", call_id).stdout
        assert "What's the timeline? (Timeline)" in text and "25 min" in text

    def test_log_json_and_repeatable_objection_with_a_comma(self, settings, cli):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        result = cli(
            "calls", "log", "--prospect", p.id, "--outcome", "follow_up", "--objection", "Price, honestly",
            "--objections", "timeline", "--follow-up", "2025-11-28 10:00", "--duration", "1500", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        data = result.json
        assert data["objections"] == ["timeline", "Price, honestly"]
        assert data["objectionCategories"] == ["timeline", "price"]
        assert data["salesStatus"] == "interested"
        assert data["task"]["kind"] == "follow_up" and data["task"]["dueAt"] == "2025-11-28T16:00:00Z"
        assert prospect(settings, p.id).next_follow_up_at == local("2025-11-28 10:00")


class TestBadInput:
    def test_refused_with_one_line_and_nothing_changes(self, settings, cli):
        """Each line names the option typed (it named the API's field: ``scheduledAt:`` for ``--at``)."""
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        book(settings, p.id, "2025-11-20 10:00")
        before = snapshot(settings)
        cases = [
            (["calls", "schedule", "--prospect", p.id, "--at", "2025-11-17 15:00"],
             "error: --at: Mon 17 Nov 2025 15:00 CST is in the past; a call is booked for a time to come"),
            (["calls", "schedule", "--prospect", p.id, "--at", "next friday"],
             "error: --at: 'next friday' is not a date and time like 2025-11-21 15:00"),
            (["calls", "schedule", "--prospect", p.id, "--at", "2026-03-08 02:30"],
             "error: --at: 2026-03-08 02:30 does not exist in America/Chicago"),
            (["calls", "schedule", "--prospect", "nobody", "--at", "2025-11-21 15:00"],
             "error: --prospect: no prospect with id 'nobody'"),
            (["calls", "log", "--prospect", p.id, "--outcome", "interested", "--duration", "-25m"],
             "error: duration: must not be negative"),
            (["calls", "log", "--prospect", p.id, "--outcome", "interested", "--duration", "13h"],
             "error: duration: must be at most 12 hours"),
            (["calls", "log", "--prospect", "nobody", "--outcome", "interested"],
             "error: --prospect: no prospect with id 'nobody'"),
            (["calls", "log", "--prospect", p.id, "--outcome", "closed_won"],
             "error: --service: is required for outcome closed_won"),
            (["calls", "log", "--outcome", "interested"], "error: give --prospect ID (or --call ID)"),
            (["calls", "cancel", "call_nope"], "error: callId: no call with id 'call_nope'"),
        ]  # fmt: skip
        for args, message in cases:
            result = cli(*args)
            assert result.exit_code == 1, args
            assert result.stderr.startswith(message), (args, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        unknown = cli("calls", "log", "--prospect", p.id, "--outcome", "maybe")
        assert unknown.exit_code == 2 and "--outcome" in unknown.stderr
        assert snapshot(settings) == before


class TestLifecycle:
    def test_reschedule_cancel_no_show_and_listing(self, settings, cli):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co")
        first = book(settings, p.id, "2025-11-18 16:00")
        second = book(settings, p.id, "2025-11-20 10:00")
        moved = cli("calls", "reschedule", second, "--at", "2025-11-21 11:00", "--reason", "asked for Friday")
        assert moved.exit_code == 0 and "to Fri 2025-11-21 11:00" in moved.stdout
        today = cli("calls", "list", "--today", "--json").json
        assert [c["id"] for c in today] == [first]
        freeze("2025-11-18 17:00")
        assert [c["id"] for c in cli("calls", "list", "--status", "overdue", "--json").json] == [first]
        missed = cli("calls", "no-show", first, "--notes", "went to voicemail")
        assert missed.exit_code == 0 and "Task: Reschedule the missed call" in missed.stdout
        cancelled = cli("calls", "cancel", second, "--reason", "hired an agency")
        assert cancelled.exit_code == 0 and "Cancelled" in cancelled.stdout
        again = cli("calls", "cancel", second)
        assert again.exit_code == 1 and "is cancelled; only a booked call can be cancelled" in again.stderr
        table = cli("calls", "list").stdout
        assert "no-show" in table and "cancelled" in table and "2 of 2 calls" in table
        assert [c["status"] for c in cli("calls", "list", "--status", "no_show", "--json").json] == ["no_show"]
        assert prospect(settings, p.id).calls_scheduled_count == 1

    def test_prospect_show_tells_the_whole_story(self, settings, cli):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co")
        call_id = book(settings, p.id, "2025-11-18 15:00")
        cli("calls", "reschedule", call_id, "--at", "2025-11-18 16:00")
        freeze("2025-11-18 16:30")
        log(settings, p.id, "interested", objections=["How much will this cost?"], duration="25m", next_steps=SEED_NEXT)
        cli("deals", "won", "--prospect", p.id, "--service", "grid_health_analysis", "--monthly-fee", "2400")
        out = cli("prospects", "show", p.id).stdout
        for text in (
            "call: scheduled", "booked for Tue 18 Nov 2025 15:00 CST",
            "call: rescheduled", "moved from Tue 18 Nov 2025 15:00 CST to Tue 18 Nov 2025 16:00 CST",
            "call: completed", "interested · 25 min · objections: How much will this cost?",
            "task: created", "Send ROI proposal + case studies, due Thu 20 Nov 2025 09:00 CST",
            "deal: won", "grid_health_analysis at $2,400/month",
            "customer: created", "stage_change: closed_won",
        ):  # fmt: skip
            assert text in out, text
        whole = out[out.index("Timeline") :]
        assert whole.index("call: scheduled") < whole.index("call: completed") < whole.index("deal: won")


class TestCalendar:
    def test_ics_parses_and_updates_the_same_event(self, cli, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", phone="(512) 555-0142")
        call_id = book(settings, p.id, "2025-11-21 15:00")
        other = book(settings, p.id, "2025-11-24 10:00")

        def events():
            result = cli("calls", "ics")
            assert result.exit_code == 0, result.stderr
            calendar = icalendar.Calendar.from_ical(result.stdout)
            return {str(e["UID"]): e for e in calendar.walk("VEVENT")}

        first = events()[f"{call_id}@leadline"]
        assert str(first["SUMMARY"]) == "Call: Royal Plumbing Co (Daniel Reyes)"
        assert first.decoded("DTSTART") == local("2025-11-21 15:00")
        assert first.decoded("DTEND") == local("2025-11-21 15:30")
        assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "CONFIRMED"
        assert "Phone: (512) 555-0142" in str(first["DESCRIPTION"])
        cli("calls", "reschedule", call_id, "--at", "2025-11-21 16:00")
        cli("calls", "cancel", other)
        after = events()
        assert set(after) == {f"{call_id}@leadline", f"{other}@leadline"}
        moved = after[f"{call_id}@leadline"]
        assert moved.decoded("DTSTART") == local("2025-11-21 16:00") and int(moved["SEQUENCE"]) == 1
        assert str(after[f"{other}@leadline"]["STATUS"]) == "CANCELLED"
        assert int(after[f"{other}@leadline"]["SEQUENCE"]) == 1
        url = cli("calls", "ics", "--url").stdout.strip()
        assert url.startswith("http://127.0.0.1:8000/calendar/") and url.endswith(".ics")
        assert len(url.rsplit("/", 1)[1]) == len("0" * 32 + ".ics")

    def test_ics_gives_grid_health_as_a_score_out_of_100(self, cli, settings):
        # Issue 15: grid health is a 0-100 score (the pages say "Grid health (0-100)"), not a percentage.
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", grid_health=31)
        call_id = book(settings, p.id, "2025-11-21 15:00")
        result = cli("calls", "ics")
        assert result.exit_code == 0, result.stderr
        (event,) = icalendar.Calendar.from_ical(result.stdout).walk("VEVENT")
        assert str(event["UID"]) == f"{call_id}@leadline"
        lines = str(event["DESCRIPTION"]).splitlines()
        assert "Grid health: 31/100" in lines
        assert not any("%" in line for line in lines if line.startswith("Grid health"))


class TestObjections:
    def test_categories_with_counts_and_examples(self, settings, cli):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        log(settings, p.id, "interested", objections=SEED_OBJECTIONS)
        log(settings, p.id, "interested", objections=["Too expensive", "We use a guy"])
        data = cli("objections", "--json").json
        assert [(d["category"], d["count"]) for d in data] == [
            ("price", 2), ("timeline", 1), ("proof", 1), ("other", 1),
        ]  # fmt: skip
        assert data[0]["examples"] == ["Too expensive", "How much will this cost?"]
        table = cli("objections").stdout
        assert "Price / cost" in table and "5 objections on 2 logged calls" in table
        # The user edits the keyword map; --recategorize applies it to what was logged.
        edited = {"has_provider": ["use a guy"], "price": ["expensive"]}
        redone = Cli(settings.model_copy(update={"objection_categories": edited}))("objections", "--recategorize")
        assert redone.exit_code == 0 and "Recategorized 2 calls." in redone.stdout
        assert {d["category"]: d["count"] for d in cli("objections", "--json").json} == {
            "other": 3, "has_provider": 1, "price": 1,
        }  # fmt: skip
