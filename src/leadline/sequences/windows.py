"""The sending window: weekdays 08:00-17:00 in the prospect's time zone, unless configured otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadline.config import Settings
from leadline.times import clock_time, window_end, window_opening

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _bounds(settings: Settings) -> tuple[time, time | None, set[int]]:
    days = {DAYS.index(d[:3].lower()) for d in settings.send_window_days if d[:3].lower() in DAYS}
    return clock_time(settings.send_window_start), window_end(settings.send_window_end), days


def zone_for(settings: Settings, name: str | None) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            pass
    return settings.zone


def next_window_start(settings: Settings, zone: ZoneInfo, moment: datetime) -> datetime:
    """``moment`` if it is inside the window, else when the window next opens (UTC)."""
    opening = window_opening(moment, zone, *_bounds(settings))
    if opening is None:
        raise ValueError("no sending day is configured (LEADLINE_SEND_WINDOW_DAYS)")
    return opening


def next_day_start(settings: Settings, zone: ZoneInfo, moment: datetime) -> datetime:
    """When the window opens on the next sending day after ``moment``'s local day (the cap is per day)."""
    local = moment.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return next_window_start(settings, zone, tomorrow.astimezone(UTC))
