"""The calendar invitation of a call booked through a link: METHOD:REQUEST when booked or moved,
METHOD:CANCEL when cancelled. The UID is the call's (``<call id>@leadline``, as in the calendar
feed) and SEQUENCE the call's ``ics_sequence``, which every change bumps, so a calendar updates
the one event it already has."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadline.times import local_text


def ics(
    *, method: str, call_id: str, sequence: int, start: datetime, minutes: int, summary: str, description: str,
    organizer: tuple[str, str], attendee: tuple[str, str], stamp: datetime, url: str | None = None,
) -> bytes:  # fmt: skip
    from icalendar import Calendar, Event, vCalAddress

    calendar = Calendar()
    calendar.add("prodid", "-//Leadline//Booking//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", f"{call_id}@leadline")
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if url:
        event.add("url", url)
    host = vCalAddress(f"mailto:{organizer[0]}")
    host.params["cn"] = organizer[1]
    event.add("organizer", host)
    guest = vCalAddress(f"mailto:{attendee[0]}")
    guest.params["cn"] = attendee[1]
    guest.params["role"] = "REQ-PARTICIPANT"
    guest.params["partstat"] = "ACCEPTED"
    event.add("attendee", guest)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def when_text(start: datetime, zone: object) -> str:
    from zoneinfo import ZoneInfo

    assert isinstance(zone, ZoneInfo)
    return f"{local_text(start, zone, '%A %d %B %Y, %H:%M')} ({zone.key})"
