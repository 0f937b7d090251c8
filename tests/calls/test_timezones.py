"""Time zones and DST around a scheduled call (LEADLINE_TIMEZONE=America/Chicago in tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from tests.calls.helpers import book, freeze, log
from tests.conftest import Cli
from tests.factories import make_prospect, snapshot


def utc(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


class TestAcrossTheSpringChange:
    def test_the_same_wall_clock_time_is_a_different_utc_hour(self, settings, cli):
        freeze("2026-03-05 09:00")  # Thursday before DST starts (Sunday 2026-03-08)
        p = make_prospect(settings)
        before = cli("calls", "schedule", "--prospect", p.id, "--at", "2026-03-06 15:00", "--json").json
        after = cli("calls", "schedule", "--prospect", p.id, "--at", "2026-03-09 15:00", "--json").json
        assert before["scheduledAt"] == utc("2026-03-06 21:00")  # CST
        assert after["scheduledAt"] == utc("2026-03-09 20:00")  # CDT
        table = cli("calls", "list").stdout
        assert "Fri 2026-03-06 15:00" in table and "Mon 2026-03-09 15:00" in table
        events = icalendar.Calendar.from_ical(cli("calls", "ics").stdout).walk("VEVENT")
        starts = sorted(e.decoded("DTSTART") for e in events)
        assert [s.isoformat() for s in starts] == ["2026-03-06T21:00:00+00:00", "2026-03-09T20:00:00+00:00"]

    def test_a_time_that_does_not_exist_is_refused(self, settings, cli):
        freeze("2026-03-05 09:00")
        p = make_prospect(settings)
        before = snapshot(settings)
        result = cli("calls", "schedule", "--prospect", p.id, "--at", "2026-03-08 02:30")
        assert result.exit_code == 1
        assert "does not exist in America/Chicago" in result.stderr
        assert snapshot(settings) == before

    def test_the_next_step_is_due_at_nine_local_after_the_change(self, settings, cli):
        freeze("2026-03-06 16:00")  # Friday, CST
        p = make_prospect(settings)
        data = cli("calls", "log", "--prospect", p.id, "--outcome", "interested", "--json").json
        assert data["task"]["dueAt"] == utc("2026-03-10 14:00")  # Tuesday 09:00 CDT


class TestAcrossTheFallChange:
    def test_an_ambiguous_time_is_the_first_one(self, settings, cli):
        freeze("2026-10-29 09:00")
        p = make_prospect(settings)
        data = cli("calls", "schedule", "--prospect", p.id, "--at", "2026-11-01 01:30", "--json").json
        assert data["scheduledAt"] == utc("2026-11-01 06:30")  # 01:30 CDT, not 01:30 CST
        second = cli("calls", "schedule", "--prospect", p.id, "--at", "2026-11-01T01:30-06:00", "--json").json
        assert second["scheduledAt"] == utc("2026-11-01 07:30")

    def test_today_is_the_local_day_on_a_25_hour_day(self, settings, cli):
        freeze("2026-11-01 00:10")
        p = make_prospect(settings, name="Late Night Plumbing")
        late = book(settings, p.id, "2026-11-01 23:30")  # 05:30 UTC on Nov 2, still "today" here
        book(settings, p.id, "2026-11-02 00:30")
        calls = cli("today", "--json").json["calls"]
        assert [c["callId"] for c in calls] == [late]
        assert cli("today", "--json").json["date"] == "2026-11-01"


class TestDisplayFollowsTheZone:
    def test_a_stored_call_is_shown_in_the_configured_zone(self, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        call_id = book(settings, p.id, "2025-11-21 15:00")
        log(settings, p.id, "interested")
        cli = Cli(settings.model_copy(update={"timezone": "Europe/London"}))
        shown = cli("calls", "show", call_id).stdout
        assert "Fri 2025-11-21 21:00" in shown
        assert cli("calls", "show", call_id, "--json").json["scheduledAt"] == utc("2025-11-21 21:00")
