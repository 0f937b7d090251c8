"""ISO weeks in the configured time zone: parsing ``2025-W47`` / ``last`` / ``this``, bounds, days.

A week runs from Monday 00:00 to the next Monday 00:00 local time; both bounds are kept
as UTC instants, so a week with a DST change is 167 or 169 hours long and a send at
Sunday 23:30 local belongs to that Sunday's week even when it is Monday in UTC.

Stdlib only, plus :mod:`leadline.errors` and :mod:`leadline.times`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from leadline.errors import Invalid
from leadline.times import start_of_day

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
EXAMPLE = "2025-W47"


@dataclass(frozen=True)
class Week:
    """An ISO week of ``zone``. Its Monday and bounds are worked out once (a dashboard reads them
    a few hundred times, each a time-zone conversion)."""

    year: int
    number: int
    zone: ZoneInfo

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @cached_property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    @cached_property
    def start(self) -> datetime:
        """Monday 00:00 local, as UTC."""
        return start_of_day(self.monday, self.zone)

    @cached_property
    def end(self) -> datetime:
        """The next Monday 00:00 local, as UTC (exclusive)."""
        return start_of_day(self.monday + timedelta(days=7), self.zone)

    def day_starts(self) -> list[datetime]:
        """The eight UTC instants that cut the week into its seven local days."""
        return [start_of_day(self.monday + timedelta(days=i), self.zone) for i in range(8)]

    def previous(self) -> Week:
        return week_of(self.monday - timedelta(days=7), self.zone)

    def next(self) -> Week:
        return week_of(self.monday + timedelta(days=7), self.zone)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def span_text(self) -> str:
        """``Mon 17 Nov – Sun 23 Nov 2025``."""
        first, last = self.monday, self.monday + timedelta(days=6)
        return f"Mon {first.day} {first:%b} – Sun {last.day} {last:%b %Y}"


def week_of(day: date | datetime, zone: ZoneInfo) -> Week:
    """The ISO week holding ``day`` (a datetime is first put in ``zone``)."""
    if isinstance(day, datetime):
        day = day.astimezone(zone).date()
    year, number, _ = day.isocalendar()
    return Week(year, number, zone)


def parse_week(text: str | None, zone: ZoneInfo, now: datetime, *, field: str = "week") -> Week:
    """``2025-W47`` (or ``2025W47``), ``this`` / empty for the current week, ``last`` for the one before."""
    value = (text or "").strip().lower()
    current = week_of(now, zone)
    if value in ("", "this", "current"):
        return current
    if value in ("last", "previous"):
        return current.previous()
    match = _WEEK.match(value)
    if match is None:
        raise Invalid(f"{text!r} is not an ISO week like {EXAMPLE} (or 'this', 'last')", field=field)
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise Invalid(f"{year} has no week {number} (ISO years have 52 or 53 weeks)", field=field) from None
    if year < 1970 or year > 9998:
        raise Invalid(f"{text!r} is out of range", field=field)
    return Week(year, number, zone)


def working_days_elapsed(week: Week, now: datetime) -> int:
    """Working days (Monday to Friday) of ``week`` that have begun by ``now``: 5 for a past week,
    0 for a future one, today included for the current one."""
    if now >= week.end:
        return 5
    if now < week.start:
        return 0
    today = now.astimezone(week.zone).date()
    return sum(1 for day in week.days[:5] if day <= today)


def weeks_before(week: Week, count: int) -> Week:
    """The week ``count`` weeks before ``week`` (in its zone)."""
    return week_of(week.monday - timedelta(weeks=count), week.zone)
