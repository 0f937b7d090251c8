"""Weeks are ISO weeks in LEADLINE_TIMEZONE (America/Chicago in the tests), DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from leadline.analytics.service import common, report, what_works
from leadline.analytics.service import dashboard as figures
from leadline.analytics.weeks import parse_week, week_of, working_days_elapsed
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.errors import Invalid
from leadline.prospects.models import Prospect
from tests.analytics.conftest import ZONE, add_rows, email_row, local, prospect_row

NOW = local("2025-11-19 10:00")  # a Wednesday in 2025-W47


class TestParsing:
    def test_forms(self):
        assert parse_week("2025-W47", ZONE, NOW).label == "2025-W47"
        assert parse_week("2025w47", ZONE, NOW).label == "2025-W47"
        assert parse_week("2025-W7", ZONE, NOW).label == "2025-W07"
        assert parse_week(None, ZONE, NOW).label == "2025-W47"
        assert parse_week("this", ZONE, NOW).label == "2025-W47"
        assert parse_week("last", ZONE, NOW).label == "2025-W46"
        assert parse_week("2026-W53", ZONE, NOW).monday == date(2026, 12, 28)  # 2026 has 53 ISO weeks

    @pytest.mark.parametrize("text", ["2025-W53", "2025-W00", "2025-47", "W47", "next week", "2025-W470", "0000-W01"])
    def test_bad_weeks_are_refused_naming_the_field(self, text):
        with pytest.raises(Invalid) as error:
            parse_week(text, ZONE, NOW)
        assert error.value.field == "week"

    def test_the_current_week_turns_at_local_midnight(self):
        # Sunday 23:30 in Chicago is already Monday 05:30 UTC: still the old week here.
        assert parse_week(None, ZONE, local("2025-11-23 23:30")).label == "2025-W47"
        assert parse_week(None, ZONE, local("2025-11-24 00:00")).label == "2025-W48"

    def test_bounds_are_local_midnights_in_utc(self):
        week = parse_week("2025-W47", ZONE, NOW)
        assert week.start == datetime(2025, 11, 17, 6, tzinfo=UTC)
        assert week.end == datetime(2025, 11, 24, 6, tzinfo=UTC)
        assert week.span_text() == "Mon 17 Nov – Sun 23 Nov 2025"

    def test_a_week_with_the_dst_change_is_169_hours(self):
        week = parse_week("2025-W44", ZONE, NOW)  # Sunday 2 November 2025: clocks go back
        assert week.end - week.start == timedelta(hours=169)
        starts = week.day_starts()
        assert starts[-2] == datetime(2025, 11, 2, 5, tzinfo=UTC)  # Sunday 00:00 CDT
        assert starts[-1] == datetime(2025, 11, 3, 6, tzinfo=UTC)  # Monday 00:00 CST

    def test_working_days(self):
        week = parse_week("2025-W47", ZONE, NOW)
        assert working_days_elapsed(week, NOW) == 3  # Monday to Wednesday, today included
        assert working_days_elapsed(week, local("2025-11-22 12:00")) == 5  # Saturday
        assert working_days_elapsed(week, local("2025-12-01 12:00")) == 5  # a week gone by
        assert working_days_elapsed(week, local("2025-11-16 12:00")) == 0  # not begun
        assert week_of(local("2025-11-23 23:59"), ZONE).label == "2025-W47"


class TestCountedInTheLocalWeek:
    def test_a_send_at_sunday_2330_local_belongs_to_that_week(self, settings):
        p = prospect_row()
        add_rows(settings, Prospect.__table__, [p])
        moments = {
            "sunday_late": local("2025-11-23 23:30"),  # Monday 05:30 UTC: still 2025-W47
            "monday_midnight": local("2025-11-24 00:00"),  # 2025-W48
            "monday_first": local("2025-11-17 00:00"),  # 2025-W47
            "sunday_before": local("2025-11-16 23:59:59"),  # 2025-W46
        }
        add_rows(settings, EmailActivity.__table__, [email_row(p["id"], at) for at in moments.values()])
        with unit_of_work(settings, readonly=True) as session:
            counts = {
                label: figures.dashboard(
                    session, common.resolve_week(label, settings), settings=settings, now=NOW
                ).outreach.sent
                for label in ("2025-W46", "2025-W47", "2025-W48")
            }
            week = report.weekly_report(session, common.resolve_week("2025-W47", settings), settings=settings, now=NOW)
        assert counts == {"2025-W46": 1, "2025-W47": 2, "2025-W48": 1}
        assert [d.sent for d in week.days] == [1, 0, 0, 0, 0, 0, 1]  # Monday 00:00 and Sunday 23:30

    def test_days_of_a_dst_week(self, settings):
        p = prospect_row()
        add_rows(settings, Prospect.__table__, [p])
        # Sunday 2 November 2025, 23:30 CST (after the change) and 00:30 CDT (before it).
        add_rows(settings, EmailActivity.__table__, [email_row(p["id"], local("2025-11-02 23:30")),
                                           email_row(p["id"], local("2025-11-02 00:30")),
                                           email_row(p["id"], local("2025-11-01 23:30"))])  # fmt: skip
        with unit_of_work(settings, readonly=True) as session:
            week = report.weekly_report(session, common.resolve_week("2025-W44", settings), settings=settings, now=NOW)
            timing = what_works.timing(session, settings=settings)
        assert [d.sent for d in week.days] == [0, 0, 0, 0, 0, 1, 2]
        assert {(r.key, r.sent) for r in timing.by_weekday} == {(6, 1), (7, 2)}
        assert {(r.key, r.sent) for r in timing.by_hour} == {(0, 1), (23, 2)}
