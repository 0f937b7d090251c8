"""Booking test helpers: a host with availability, a prospect with a link, the outbox's invitations."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from leadline import clock
from leadline.booking import availability, links
from leadline.booking.models import Availability, Booking, BookingLink
from leadline.booking.schemas import AvailabilitySet
from leadline.calls.models import CallActivity
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.prospects.models import Prospect
from tests.conftest import make_user
from tests.factories import make_prospect

HOST = "host@example.com"
#: Monday 7 December 2026, 08:00 in Chicago (the tests' zone): the frozen "now".
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def set_up(settings: Settings, **offer: Any) -> None:
    """A host (HOST, admin) offering Mon-Fri 09:00-12:00 Chicago, 30-minute calls, no notice."""
    clock.set_frozen(NOW)
    make_user(settings, HOST, "admin")
    values: dict[str, Any] = {
        "timezone": "America/Chicago", "weekly": "mon-fri 09:00-12:00", "lengths": [30], "buffer_before": 0,
        "buffer_after": 0, "horizon_days": 7, "min_notice_minutes": 0, "daily_max": 6,
    } | offer  # fmt: skip
    from leadline.auth import service as users

    with unit_of_work(settings) as session:
        availability.set_for(session, users.get_user(session, HOST), AvailabilitySet.model_validate(values),
                             actor="test")  # fmt: skip


def fresh(settings: Settings, email: str = HOST, role: str = "admin") -> None:
    """A fresh install's one user, who has set no availability (the defaults apply)."""
    clock.set_frozen(NOW)
    make_user(settings, email, role)


def prospect_with_link(settings: Settings, **overrides: Any) -> tuple[str, str]:
    """A new prospect (Central time unless told) and its booking token (sender: the configured one)."""
    made = make_prospect(settings, **({"timezone": "America/New_York"} | overrides))
    return made.id, links.token(settings, made.id, settings.sender_email)


def at(text: str, zone: str = "America/Chicago") -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def slot_value(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def counts(settings: Settings) -> dict[str, Any]:
    """Everything a booking changes: rows, stages, the sequence of every call."""
    with unit_of_work(settings, readonly=True) as session:
        return {
            "calls": session.scalar(select(func.count()).select_from(CallActivity)),
            "bookings": session.scalar(select(func.count()).select_from(Booking)),
            "links": session.scalar(select(func.count()).select_from(BookingLink)),
            "stages": sorted(session.execute(select(Prospect.id, Prospect.sales_status)).all()),
            "calendar": sorted(
                session.execute(
                    select(CallActivity.id, CallActivity.status, CallActivity.scheduled_at, CallActivity.ics_sequence)
                ).all()
            ),
            "offers": session.scalar(select(func.count()).select_from(Availability)),
        }


def outbox(settings: Settings) -> list[Message]:
    folder = Path(settings.outbox_dir or settings.data_dir / "outbox")
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    ]


def invitation(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text/calendar part")


def later(minutes: int) -> None:
    clock.set_frozen(NOW + timedelta(minutes=minutes))
