"""Availability and booking shapes: the weekly hours' text form (one parser for the CLI, the API
and the settings page), what a user sets, what is read back, and a slot."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, field_validator

from leadline.fields import TextLines
from leadline.schemas import ApiModel, InputModel

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {d: i for i, d in enumerate(DAYS)} | {
    name: i
    for i, names in enumerate(
        (("monday",), ("tuesday", "tues"), ("wednesday",), ("thursday", "thur", "thurs"), ("friday",),
         ("saturday",), ("sunday",))
    )
    for name in names
}  # fmt: skip
_RANGE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)-([01]?\d|2[0-4]):([0-5]\d)$")
MAX_TEXT = 1000


def _minutes(hours: str, minutes: str) -> int:
    return int(hours) * 60 + int(minutes)


def _hhmm(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def clean_ranges(day: str, ranges: list[str]) -> list[str]:
    """A day's ranges as ``HH:MM-HH:MM``, sorted; overlapping or empty ranges are refused."""
    spans: list[tuple[int, int]] = []
    for text in ranges:
        found = _RANGE.match(str(text).strip().replace(" ", ""))
        if found is None:
            raise ValueError(f"{day}: {str(text)[:40]!r} is not a range like 09:00-17:00")
        start, end = _minutes(found[1], found[2]), _minutes(found[3], found[4])
        if end > 24 * 60 or start >= end:
            raise ValueError(f"{day}: {text} ends before it starts")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise ValueError(f"{day}: ranges overlap")
    return [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in spans]


def _day_list(text: str) -> list[str]:
    days: list[str] = []
    for part in text.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, last = (p.strip() for p in part.split("-", 1))
            if first not in _DAY_NAMES or last not in _DAY_NAMES:
                raise ValueError(f"{part!r} is not a range of days like mon-fri")
            a, b = _DAY_NAMES[first], _DAY_NAMES[last]
            days.extend(DAYS[(a + i) % 7] for i in range(((b - a) % 7) + 1))
        elif part in _DAY_NAMES:
            days.append(DAYS[_DAY_NAMES[part]])
        else:
            raise ValueError(f"{part!r} is not a day (mon, tue, ... sun)")
    return days


def parse_weekly(value: Any) -> dict[str, list[str]]:
    """Weekly hours from text (``mon-fri 09:00-12:00 13:00-17:00; sat 10:00-12:00``, a line or a
    ``;`` per group, days not named are off) or from a mapping of day to ranges."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        found: dict[str, list[str]] = {}
        for group in re.split(r"[;\n]", value):
            group = group.strip()
            if not group or group.lower() == "off":
                continue
            words = group.split()
            days, ranges = _day_list(words[0]), [w.strip(",") for w in words[1:] if w.strip(",")]
            if not ranges:
                raise ValueError(f"{group!r} names no hours, like {words[0]} 09:00-17:00")
            for day in days:
                found.setdefault(day, []).extend(ranges)
        value = found
    if not isinstance(value, dict):
        raise ValueError("weekly hours are text like 'mon-fri 09:00-17:00' or a mapping of day to ranges")
    weekly: dict[str, list[str]] = {}
    for day, ranges in value.items():
        key = str(day).strip().lower()
        if key not in _DAY_NAMES:
            raise ValueError(f"{str(day)[:20]!r} is not a day (mon, tue, ... sun)")
        if not isinstance(ranges, list) or len(ranges) > 12:
            raise ValueError(f"{key}: a list of at most 12 ranges like ['09:00-17:00']")
        key = DAYS[_DAY_NAMES[key]]
        cleaned = clean_ranges(key, [*weekly.get(key, []), *ranges])
        if cleaned:
            weekly[key] = cleaned
    return {day: weekly[day] for day in DAYS if day in weekly}


def weekly_text(weekly: dict[str, list[str]]) -> str:
    """The text form of weekly hours, one line per day (what ``parse_weekly`` reads back)."""
    return "\n".join(f"{day} {' '.join(weekly[day])}" for day in DAYS if weekly.get(day)) or "off"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value[:64]!r} is not a time zone like America/Chicago") from None
    return value


def _lengths(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip().removesuffix("m").removesuffix("min") for part in value.split(",") if part.strip()]
    return value


Weekly = Annotated[dict[str, list[str]], TextLines, BeforeValidator(parse_weekly)]
Minutes = Annotated[int, Field(ge=0, le=240)]
Lengths = Annotated[
    list[Annotated[int, Field(ge=5, le=240)]], BeforeValidator(_lengths), Field(min_length=1, max_length=6)
]


class AvailabilitySet(InputModel):
    """What a user offers; fields left out keep their value (or the default, the first time)."""

    timezone: str | None = Field(None, max_length=64, description="The zone the weekly hours are in.")
    weekly: Weekly | None = Field(
        None, description="Day to ranges ({'mon': ['09:00-17:00']}) or text: 'mon-fri 09:00-12:00 13:00-17:00'."
    )
    lengths: Lengths | None = Field(None, description="Call lengths offered, minutes (5-240).")
    buffer_before: Minutes | None = Field(None, description="Minutes kept free before each call.")
    buffer_after: Minutes | None = Field(None, description="Minutes kept free after each call.")
    horizon_days: Annotated[int, Field(ge=1, le=180)] | None = Field(None, description="How many days ahead.")
    min_notice_minutes: Annotated[int, Field(ge=0, le=30 * 24 * 60)] | None = Field(
        None, description="The least notice a booking needs, minutes."
    )
    daily_max: Annotated[int, Field(ge=1, le=50)] | None = Field(None, description="Most calls in one day.")

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        return _zone(value) if value is not None else None

    @field_validator("lengths")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return sorted(set(value)) if value is not None else None


class AvailabilityRead(ApiModel):
    user: str
    timezone: str
    weekly: dict[str, list[str]]
    lengths: list[int]
    buffer_before: int
    buffer_after: int
    horizon_days: int
    min_notice_minutes: int
    daily_max: int
    updated_at: datetime | None
    updated_by: str


class Slot(ApiModel):
    start: datetime
    end: datetime
    length: int


class BookingLinkRead(ApiModel):
    prospect_id: str
    sender: str
    url: str | None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class RevokeIn(InputModel):
    prospect_id: str = Field(min_length=1, max_length=80)
    sender: str | None = Field(None, max_length=320, description="One sender's link; default: every sender's.")
    reason: str | None = Field(None, max_length=500)
