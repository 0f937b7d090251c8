"""The sending window: weekdays 08:00-17:00 in the prospect's time zone, unless configured otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadline.config import Settings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _bounds(settings: Settings) -> tuple[time, time, set[int]]:
    start = time.fromisoformat(settings.send_window_start)
    end = time.fromisoformat(settings.send_window_end)
    days = {DAYS.index(d[:3].lower()) for d in settings.send_window_days if d[:3].lower() in DAYS}
    return start, end, days


def zone_for(settings: Settings, name: str | None) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            pass
    return settings.zone


def in_window(settings: Settings, zone: ZoneInfo, moment: datetime) -> bool:
    start, end, days = _bounds(settings)
    local = moment.astimezone(zone)
    return local.weekday() in days and start <= local.time() < end


def next_window_start(settings: Settings, zone: ZoneInfo, moment: datetime) -> datetime:
    """``moment`` if it is inside the window, else when the window next opens (UTC)."""
    if in_window(settings, zone, moment):
        return moment
    start, _, days = _bounds(settings)
    local = moment.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        opening = datetime.combine(day, start, tzinfo=zone)
        if day.weekday() in days and opening >= local:
            return opening.astimezone(UTC)
    raise ValueError("no sending day is configured (LEADLINE_SEND_WINDOW_DAYS)")


def next_day_start(settings: Settings, zone: ZoneInfo, moment: datetime) -> datetime:
    """When the window opens on the next sending day after ``moment``'s local day (the cap is per day)."""
    local = moment.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return next_window_start(settings, zone, tomorrow.astimezone(UTC))
