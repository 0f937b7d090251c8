"""The iCalendar feed of booked calls (``/calendar/{token}.ics``, ``leadline calls ics``).

Every call with a time is one VEVENT whose UID (``<call id>@leadline``) never changes;
SEQUENCE is the call's ``ics_sequence``, bumped whenever the event changes (rescheduled,
cancelled, missed, logged), so a calendar that subscribed updates the same event. A
cancelled call stays in the feed with STATUS:CANCELLED. Times are written in UTC.

The feed's token is secret and stable: HMAC-SHA256 of a fixed label under the server's
secret key (``LEADLINE_SECRET_KEY``, :func:`leadline.keys.calendar_token`); changing the key changes the URL.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.calls.models import CallActivity
from leadline.calls.service import DEFAULT_LENGTH, past_objections
from leadline.config import Settings
from leadline.errors import NotFound
from leadline.keys import calendar_token as token
from leadline.prospects import service as prospects
from leadline.times import duration_text


class FeedNotFound(NotFound):
    pass


def url(settings: Settings) -> str:
    return f"{settings.base_url}/calendar/{token(settings)}.ics"


def check(settings: Settings, given: str) -> None:
    """Refuse a wrong token with a plain 404 (the feed's address is its only secret)."""
    if not hmac.compare_digest(given.encode(), token(settings).encode()):
        raise FeedNotFound("no such calendar")


def feed(session: Session, settings: Settings) -> bytes:
    from icalendar import Calendar, Event

    calls = list(
        session.scalars(
            select(CallActivity)
            .where(CallActivity.scheduled_at.is_not(None))
            .order_by(CallActivity.scheduled_at, CallActivity.id)
        )
    )
    people = prospects.get_many(session, {c.prospect_id for c in calls})
    objections = past_objections(session, set(people))
    calendar = Calendar()
    calendar.add("prodid", "-//Leadline//Calls//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Leadline calls")
    calendar.add("x-wr-timezone", settings.timezone)
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    for call in calls:
        prospect = people.get(call.prospect_id)
        assert call.scheduled_at is not None
        name = prospect.name if prospect else call.prospect_id
        who = f"{name} ({prospect.contact_name})" if prospect and prospect.contact_name else name
        prefix = {"no_show": "No-show: ", "completed": "Done: "}.get(call.status, "")
        length = timedelta(seconds=call.duration) if call.duration else DEFAULT_LENGTH
        event = Event()
        event.add("uid", f"{call.id}@leadline")
        event.add("sequence", call.ics_sequence)
        event.add("dtstamp", call.updated_at)
        event.add("last-modified", call.updated_at)
        event.add("created", call.created_at)
        event.add("dtstart", call.scheduled_at)
        event.add("dtend", call.scheduled_at + length)
        event.add("summary", f"{prefix}Call: {who}")
        event.add("status", "CANCELLED" if call.status == "cancelled" else "CONFIRMED")
        event.add("transp", "OPAQUE")
        lines = []
        if prospect is not None:
            if prospect.phone:
                lines.append(f"Phone: {prospect.phone}")
            if prospect.email:
                lines.append(f"Email: {prospect.email}")
            if prospect.grid_health is not None:
                lines.append(f"Grid health: {prospect.grid_health:g}/100")
            lines.append(f"Stage: {prospect.sales_status}")
        past = [text for text in objections.get(call.prospect_id, []) if text not in (call.objections or [])]
        if past:
            lines.append("Past objections: " + "; ".join(past))
        if call.status == "completed":
            lines.append(f"Outcome: {call.outcome}" + (f", {duration_text(call.duration)}" if call.duration else ""))
            if call.objections:
                lines.append("Objections: " + "; ".join(call.objections))
            if call.next_steps:
                lines.append(f"Next steps: {call.next_steps}")
        if call.cancel_reason:
            lines.append(f"Cancelled: {call.cancel_reason}")
        if call.notes:
            lines.append(f"Notes: {call.notes}")
        event.add("description", "\n".join(lines))
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
