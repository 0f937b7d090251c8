"""The day's count of claimed sends, across every sender: one send added when it is claimed, given
back when it definitely did not go out; atomic across processes. Each sender has its own cap
(senders/service.py: its daily cap with its warm-up ramp); ``LEADLINE_DAILY_SEND_LIMIT`` is the
ceiling over them all: however many senders there are, no more than that many sends a day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import insert_ignore
from leadline.emails.models import DailySendCount


def local_day(settings: Settings, at: datetime | None = None) -> date:
    """The sending day (in the configured time zone) of ``at``, now by default: the cap is per day."""
    return (at or utc_now()).astimezone(settings.zone).date()


def sent_today(session: Session, settings: Settings) -> int:
    row = session.get(DailySendCount, local_day(settings))
    return row.sent if row else 0


def cap_left(session: Session, settings: Settings) -> int:
    """How many sends today's caps (every active sender's, under the ceiling) still allow."""
    from leadline.senders import service as senders

    return senders.capacity_left(session, settings)[0]


def reserve_quota(session: Session, settings: Settings, day: date) -> bool:
    """Count one send claimed on ``day`` if the ceiling (``LEADLINE_DAILY_SEND_LIMIT``, across every
    sender) allows it, atomically across processes. False: the day's ceiling is reached."""
    session.execute(insert_ignore(session, DailySendCount, {"day": day, "sent": 0}, ["day"]))
    taken = session.execute(
        update(DailySendCount)
        .where(DailySendCount.day == day, DailySendCount.sent < settings.daily_send_limit)
        .values(sent=DailySendCount.sent + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_quota(session: Session, day: date) -> None:
    session.execute(
        update(DailySendCount)
        .where(DailySendCount.day == day, DailySendCount.sent > 0)
        .values(sent=DailySendCount.sent - 1)
        .execution_options(synchronize_session=False)
    )
