"""A sender (a From identity), what it sent each day, and what happened to it (paused, resumed...)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

SENDER_STATUSES = ("active", "paused")


class Sender(Base):
    """A From address and name with its own daily cap, warm-up ramp, minimum gap between sends and
    sending window. Secrets stay in the environment: ``credentials_env`` is only the NAME of the
    variable that holds this sender's backend key (SendGrid), when it has one of its own."""

    __tablename__ = "senders"
    __table_args__ = (CheckConstraint("status IN ('active','paused')", name="status_known"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-case
    name: Mapped[str] = mapped_column(String(200))
    daily_cap: Mapped[int]
    warmup_start: Mapped[int | None]  # None: no ramp
    warmup_step: Mapped[int] = mapped_column(default=0)
    warmup_max: Mapped[int | None]
    min_gap_seconds: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[str | None] = mapped_column(String(5))  # "08:00"; None: any time
    window_end: Mapped[str | None] = mapped_column(String(5))
    window_days: Mapped[str | None] = mapped_column(String(40))  # "mon,tue,..."
    window_zone: Mapped[str | None] = mapped_column(String(64))
    credentials_env: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_by: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    first_send_on: Mapped[date | None] = mapped_column(Date)  # the warm-up counts days from here
    last_claim_at: Mapped[datetime | None]  # the minimum gap is measured from here, across processes
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SenderDailyCount(Base):
    """How many sends a sender claimed on a day (in the configured zone): its cap, atomic across processes."""

    __tablename__ = "sender_daily_counts"

    sender_id: Mapped[str] = mapped_column(ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)


class SenderEvent(Base):
    """A sender's own record: added, changed, paused (by whom, why, with the figures), resumed (with a note)."""

    __tablename__ = "sender_events"
    __table_args__ = (Index("ix_sender_events_sender_id_created_at", "sender_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sender_id: Mapped[str] = mapped_column(ForeignKey("senders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # added | updated | paused | resumed | warning
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
