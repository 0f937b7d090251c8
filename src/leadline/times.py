"""Times a person types, in the configured zone: parsing, DST rules, local days, business days.

Rules (docs/architecture.md, "Calls and deals"):

* a time without an offset (``2025-11-21 15:00``) is wall-clock time in the configured zone;
  one with an offset or ``Z`` means exactly that moment;
* a wall-clock time that does not exist (the spring-forward gap, e.g. 02:30 on the March
  change in America/Chicago) is refused with a message saying so;
* an ambiguous one (the fall-back hour, e.g. 01:30 on the November change) means its
  first occurrence (``fold=0``, still on daylight time); give an offset to mean the second;
* a date alone (``2025-11-25``), where a due date is asked for, means 09:00 that day.

Stdlib only, plus :mod:`leadline.errors`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from leadline.errors import Invalid

DUE_HOUR = time(9, 0)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXAMPLE = "2025-11-21 15:00"


def parse_moment(value: Any) -> Any:
    """Pydantic before-validator: text -> ``date`` (a date alone) or ``datetime`` (naive or aware)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    if _DATE_ONLY.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date like 2025-11-25") from None
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time like {EXAMPLE}") from None


def parse_when(value: Any) -> Any:
    """Like :func:`parse_moment`, but a time of day is required (a call is booked for a time)."""
    parsed = parse_moment(value)
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        raise ValueError(f"give a time as well, like {parsed.isoformat()} 15:00")
    return parsed


def list_moments(params: dict[str, str], names: tuple[str, ...], zone: ZoneInfo) -> dict[str, datetime]:
    """A list page's date filters (``sentFrom=2026-12-01``...) given in ``params``, as UTC moments read
    in ``zone``; the first that is not a date and time is refused naming it."""
    moments: dict[str, datetime] = {}
    for name in names:
        if name in params:
            try:
                moments[name] = to_utc(datetime.fromisoformat(params[name]), zone, field=name)
            except (ValueError, Invalid):
                raise Invalid(f"{params[name]!r} is not a date and time", field=name) from None
    return moments


def to_utc(value: datetime, zone: ZoneInfo, *, field: str) -> datetime:
    """An aware UTC datetime; naive values are wall-clock time in ``zone`` (see module rules)."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    naive = value.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    moment = first.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        shown = naive.strftime("%Y-%m-%d %H:%M")
        raise Invalid(
            f"{shown} does not exist in {zone.key}: the clocks jump forward that night; "
            "pick a time outside the skipped hour",
            field=field,
        )
    return moment


def due_moment(value: date | datetime, zone: ZoneInfo, *, field: str) -> datetime:
    """A due date: a date alone means 09:00 local that day."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, DUE_HOUR)
    return to_utc(value, zone, field=field)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """00:00 local on ``day`` as UTC (midnight always exists in the zones Leadline knows)."""
    return to_utc(datetime.combine(day, time(0)), zone, field="date")


def local_day_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the local day holding ``moment``, both UTC (23 or 25 hours on DST days)."""
    day = moment.astimezone(zone).date()
    return start_of_day(day, zone), start_of_day(day + timedelta(days=1), zone)


#: How a window open until midnight ends: ISO 8601's end of a day.
END_OF_DAY = "24:00"
_CLOCK = re.compile(r"\d{1,2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?", re.ASCII)


def clock_time(text: str) -> time:
    """A window's time of day: ``HH:MM`` as ISO 8601 writes it (``08:00``, ``0800``, ``08``, seconds and
    their fraction too), or ``8:00``; ValueError for anything else, checked by its shape before it is
    parsed (Python's own parser takes a time with a zone, and any number of digits after the seconds)."""
    text = text.strip()
    if not _CLOCK.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a time of day")
    return time.fromisoformat("0" + text if text[1:2] == ":" else text)


def window_end(text: str) -> time | None:
    """A window's end: a time of day, or ``24:00``, the end of the day (None: no end within the day)."""
    text = text.strip()
    return None if text in (END_OF_DAY, END_OF_DAY + ":00") else clock_time(text)


def opens(start: time, end: time | None) -> bool:
    """Whether a window from ``start`` until ``end`` (None: midnight) is open some time of its day: a
    window whose end is not after its start never opens (windows over midnight are not a thing here)."""
    return end is None or start < end


def window_opening(moment: datetime, zone: ZoneInfo, start: time, end: time | None, days: set[int]) -> datetime | None:
    """The one rule of a sending window (sequences, texts and each sender's own): ``moment`` when it is
    inside the window (local time in ``zone`` from ``start`` until ``end``, None: midnight, on ``days``,
    Monday 0), else when the window next opens (UTC); None when no day is a window day."""
    local = moment.astimezone(zone)
    if local.weekday() in days and start <= local.time() and (end is None or local.time() < end):
        return moment
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        opening = datetime.combine(day, start, tzinfo=zone)
        if day.weekday() in days and opening >= local:
            return opening.astimezone(UTC)
    return None


def add_business_days(day: date, count: int) -> date:
    """``count`` working days (Monday to Friday) after ``day``."""
    current = day
    added = 0
    while added < count:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


#: How the CLI's tables write a moment, in the configured zone: sortable and easy to paste into a
#: spreadsheet (pages, timeline lines and messages use :func:`moment_text`).
CLI_TIME = "%Y-%m-%d %H:%M"


def moment_text(moment: datetime, zone: tzinfo, style: str = "full") -> str:
    """The one way a moment is written for people, in the configured zone and naming it: pages (the
    ``local_dt`` filter), timeline lines, messages and notifications. ``full``: ``Tue 2 Dec 2026 15:00
    CST``; ``short``: ``2 Dec 15:00 CST``; ``time``: ``15:00:03 CST``; ``day``: ``2 Dec 2026``."""
    if moment.tzinfo is None:  # stored naive (SQLite): UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    if style == "time":
        return local.strftime("%H:%M:%S %Z")
    if style == "short":
        return f"{local.day} {local:%b %H:%M %Z}"
    if style == "day":
        return f"{local.day} {local:%b %Y}"
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def local_text(moment: datetime | None, zone: ZoneInfo, fmt: str | None = None) -> str:
    """:func:`moment_text` (or ``fmt``, for a part such as ``%H:%M``); "" for no moment."""
    if moment is None:
        return ""
    return moment_text(moment, zone) if fmt is None else moment.astimezone(zone).strftime(fmt)


def iso(moment: datetime | None) -> str | None:
    """How times are written into timeline details: ISO 8601 UTC with a Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- durations -----------------------------------------------------------------------------

MAX_DURATION_SECONDS = 12 * 3600
_UNITS = re.compile(
    r"^(?:(?P<h>\d+)\s*h(?:ours?|rs?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:utes?|s)?)?)?\s*"
    r"(?:(?P<s>\d+)\s*s(?:ec(?:onds?|s)?)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: Any) -> Any:
    """Seconds from ``1500``, ``25m``, ``1h30m``, ``90s`` or ``25:00`` (``1:30:00``).

    A Pydantic before-validator: returns an int of seconds, or raises ValueError.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("-"):
            raise ValueError("must not be negative")
        seconds = _duration_text(text)
    else:
        return value
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("must be a number of seconds")
    if seconds < 0:
        raise ValueError("must not be negative")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("must be at most 12 hours")
    if isinstance(seconds, float) and not seconds.is_integer():
        seconds = round(seconds)
    return int(seconds)


def _duration_text(text: str) -> int:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return round(float(text))
    if re.fullmatch(r"\d+:\d{2}(?::\d{2})?", text):
        parts = [int(p) for p in text.split(":")]
        if any(p >= 60 for p in parts[1:]):
            raise ValueError(f"{text!r} is not a duration")
        if len(parts) == 2:
            return parts[0] * 60 + parts[1]
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    match = _UNITS.match(text)
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration (use 25m, 1h30m, 90s, 25:00 or seconds)")
    h, m, s = (int(match.group(k) or 0) for k in ("h", "m", "s"))
    return h * 3600 + m * 60 + s


def duration_text(seconds: int | None) -> str:
    """``1500`` -> ``25 min``; ``5400`` -> ``1 h 30 min``; ``90`` -> ``1 min 30 s``."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def parse_since(text: str, zone: ZoneInfo, *, field: str = "since") -> datetime:
    """A lower bound people type: a date means the start of that local day; a time is as for :func:`to_utc`."""
    try:
        parsed = parse_moment(text)
    except ValueError as error:
        raise Invalid(str(error), field=field) from None
    if parsed is None:
        raise Invalid("is empty", field=field)
    if isinstance(parsed, datetime):
        return to_utc(parsed, zone, field=field)
    return start_of_day(parsed, zone)
