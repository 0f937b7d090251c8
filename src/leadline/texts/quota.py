"""The daily cap of texts (``LEADLINE_DAILY_TEXT_LIMIT``), as emails/quota.py keeps the emails': one
text taken from the day's count when it is claimed, given back when it definitely did not go out;
atomic across processes (one conditional UPDATE)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import insert_ignore
from leadline.texts.models import DailyTextCount


def local_day(settings: Settings, at: datetime | None = None) -> date:
    return (at or utc_now()).astimezone(settings.zone).date()


def sent_today(session: Session, settings: Settings) -> int:
    row = session.get(DailyTextCount, local_day(settings))
    return row.sent if row else 0


def reserve(session: Session, settings: Settings, day: date) -> bool:
    """Take one text from ``day``'s cap; False when it is used up."""
    session.execute(insert_ignore(session, DailyTextCount, {"day": day, "sent": 0}, ["day"]))
    taken = session.execute(
        update(DailyTextCount)
        .where(DailyTextCount.day == day, DailyTextCount.sent < settings.daily_text_limit)
        .values(sent=DailyTextCount.sent + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(session: Session, day: date) -> None:
    session.execute(
        update(DailyTextCount)
        .where(DailyTextCount.day == day, DailyTextCount.sent > 0)
        .values(sent=DailyTextCount.sent - 1)
        .execution_options(synchronize_session=False)
    )
