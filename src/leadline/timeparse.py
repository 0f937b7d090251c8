"""Reading dates and times that people type, in the configured time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadline.errors import Invalid

FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_local(text: str, zone: ZoneInfo, *, field: str = "at") -> datetime:
    """``2025-11-21 15:00`` (local), ``2025-11-21`` (local midnight) or ISO with an offset -> aware UTC.

    A local time that does not exist (the hour skipped when clocks go forward) is refused;
    one that happens twice (clocks go back) means the first.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise Invalid(f"{text!r} is not a date or time (use e.g. 2025-11-21 15:00)", field=field)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return local_to_utc(parsed, zone, field=field)


def local_to_utc(moment: datetime, zone: ZoneInfo, *, field: str = "at") -> datetime:
    candidate = moment.replace(tzinfo=zone, fold=0)
    # A wall time that does not exist does not survive the round trip through UTC.
    if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise Invalid(
            f"{moment:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks skip it); choose another time",
            field=field,
        )
    return candidate.astimezone(UTC)


def parse_date(text: str, *, field: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{text!r} is not a date (use e.g. 2025-11-21)", field=field) from None


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return start_of_day(day, zone), start_of_day(day + timedelta(days=1), zone)
