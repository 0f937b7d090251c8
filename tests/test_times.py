"""Local times typed by people: DST gaps and overlaps, business days, durations (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from leadline.errors import Invalid
from leadline.times import (
    add_business_days,
    due_moment,
    duration_text,
    local_day_bounds,
    parse_duration,
    parse_moment,
    parse_when,
    to_utc,
)

CHICAGO = ZoneInfo("America/Chicago")


class TestToUtc:
    def test_wall_clock_time_in_the_zone(self):
        winter = to_utc(datetime(2026, 3, 6, 15, 0), CHICAGO, field="at")
        summer = to_utc(datetime(2026, 3, 9, 15, 0), CHICAGO, field="at")
        assert winter == datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # CST, UTC-6
        assert summer == datetime(2026, 3, 9, 20, 0, tzinfo=UTC)  # CDT, UTC-5

    def test_a_time_in_the_spring_forward_gap_is_refused(self):
        with pytest.raises(Invalid) as caught:
            to_utc(datetime(2026, 3, 8, 2, 30), CHICAGO, field="scheduledAt")
        assert caught.value.field == "scheduledAt"
        assert "2026-03-08 02:30 does not exist in America/Chicago" in caught.value.message

    def test_an_ambiguous_fall_back_time_means_its_first_occurrence(self):
        first = to_utc(datetime(2026, 11, 1, 1, 30), CHICAGO, field="at")
        assert first == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # still CDT
        second = to_utc(datetime.fromisoformat("2026-11-01T01:30-06:00"), CHICAGO, field="at")
        assert second == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # an offset picks the second

    def test_an_offset_is_taken_as_given(self):
        assert to_utc(parse_when("2025-11-21T21:00:00Z"), CHICAGO, field="at") == datetime(
            2025, 11, 21, 21, 0, tzinfo=UTC
        )

    def test_local_days_on_dst_changes_are_23_and_25_hours(self):
        short = local_day_bounds(datetime(2026, 3, 8, 18, 0, tzinfo=UTC), CHICAGO)
        long = local_day_bounds(datetime(2026, 11, 1, 18, 0, tzinfo=UTC), CHICAGO)
        assert (short[1] - short[0]).total_seconds() == 23 * 3600
        assert (long[1] - long[0]).total_seconds() == 25 * 3600

    def test_a_due_date_alone_means_nine_in_the_morning_local(self):
        assert due_moment(date(2026, 3, 9), CHICAGO, field="due") == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
        assert due_moment(date(2026, 3, 6), CHICAGO, field="due") == datetime(2026, 3, 6, 15, 0, tzinfo=UTC)


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2025-11-21 15:00", datetime(2025, 11, 21, 15, 0)),
            ("2025-11-21T15:00", datetime(2025, 11, 21, 15, 0)),
            ("2025-11-21", date(2025, 11, 21)),
            (" 2025-11-21 15:00:30 ", datetime(2025, 11, 21, 15, 0, 30)),
        ],
    )
    def test_moments(self, text, expected):
        assert parse_moment(text) == expected

    @pytest.mark.parametrize("text", ["tomorrow", "21/11/2025 15:00", "2025-13-01 10:00", "2025-02-30"])
    def test_bad_moments(self, text):
        with pytest.raises(ValueError, match="is not a date"):
            parse_moment(text)

    def test_a_booking_needs_a_time(self):
        with pytest.raises(ValueError, match="give a time as well"):
            parse_when("2025-11-21")


class TestBusinessDays:
    @pytest.mark.parametrize(
        ("start", "days", "expected"),
        [
            (date(2025, 11, 18), 2, date(2025, 11, 20)),  # Tue -> Thu
            (date(2025, 11, 20), 2, date(2025, 11, 24)),  # Thu -> Mon
            (date(2025, 11, 21), 2, date(2025, 11, 25)),  # Fri -> Tue
            (date(2025, 11, 22), 1, date(2025, 11, 24)),  # Sat -> Mon
            (date(2025, 11, 21), 0, date(2025, 11, 21)),
        ],
    )
    def test_weekends_are_skipped(self, start, days, expected):
        assert add_business_days(start, days) == expected


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("25m", 1500), ("1h30m", 5400), ("90s", 90), ("1500", 1500), ("25:00", 1500),
            ("1:30:00", 5400), ("25 min", 1500), ("2h", 7200), (1500, 1500), ("0", 0), ("12h", 43200),
        ],
    )  # fmt: skip
    def test_accepted_forms(self, text, seconds):
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("-5m", "must not be negative"), (-1, "must not be negative"), ("13h", "at most 12 hours"),
            ("soon", "is not a duration"), ("25:99", "is not a duration"), ("1h 30", "is not a duration"),
        ],
    )  # fmt: skip
    def test_refused(self, text, message):
        with pytest.raises(ValueError, match=message):
            parse_duration(text)

    def test_shown_in_words(self):
        assert [duration_text(s) for s in (1500, 5400, 90, 0)] == [
            "25 min",
            "1 h 30 min",
            "1 min 30 s",
            "0 s",
        ]
