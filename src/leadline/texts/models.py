"""Texts: each one is a timeline entry of type ``sms`` (``outreach_activities``) with its facts here
(direction, body, numbers, Twilio's ids and status), as an email's are in ``email_activities``.

A phone number's opt-out is kept like an email suppression (``text_opt_outs``), by E.164 number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

DIRECTIONS = ("out", "in")
#: queued (claimed, not yet handed to Twilio), sent/delivered/undelivered/failed (Twilio's), logged (a text
#: that happened elsewhere), received (an inbound text), unmatched (inbound from a number no prospect has),
#: unknown (the hand-over's outcome was lost).
STATUSES = ("queued", "sent", "delivered", "undelivered", "failed", "logged", "received", "unmatched", "unknown")


class TextMessage(Base):
    """One text, sent, logged or received. ``prospect_id`` is empty for an unmatched inbound text."""

    __tablename__ = "text_messages"
    __table_args__ = (
        CheckConstraint("direction IN ('out','in')", name="direction_known"),
        CheckConstraint(
            "status IN ('queued','sent','delivered','undelivered','failed','logged','received','unmatched','unknown')",
            name="status_known",
        ),
        Index("ix_text_messages_prospect_id_created_at", "prospect_id", "created_at"),
        Index("ix_text_messages_direction_created_at", "direction", "created_at"),
        Index("ix_text_messages_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str | None] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    activity_id: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(default=1)
    encoding: Mapped[str] = mapped_column(String(10), default="GSM-7")
    from_number: Mapped[str | None] = mapped_column(String(20))
    to_number: Mapped[str | None] = mapped_column(String(20))
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: one send per prospect and template (or sequence step): a second claim of the same key is refused
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    template: Mapped[str | None] = mapped_column(String(100))
    sequence_enrollment_id: Mapped[str | None] = mapped_column(String(40))
    sequence_step: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    at: Mapped[datetime] = mapped_column(default=utc_now)  # when it was sent, received or happened
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class TextOptOut(Base):
    """A number that said STOP (or was opted out by a person): never texted until it says START."""

    __tablename__ = "text_opt_outs"
    __table_args__ = (CheckConstraint("reason IN ('stop','twilio','manual')", name="reason_known"),)

    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    reason: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    keyword: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TextTemplate(Base):
    """A text with merge fields (``{{ firstName }}``), rendered in the emails' sandbox."""

    __tablename__ = "text_templates"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class DailyTextCount(Base):
    """How many texts were claimed for sending on a day (configured zone): the daily cap."""

    __tablename__ = "daily_text_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)


class TwilioCallback(Base):
    """Every signed post Twilio made (a status callback, an inbound text), kept as it came before it is
    answered; ``dedup_key`` recognises a repeat (Twilio retries)."""

    __tablename__ = "twilio_callbacks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # status | sms
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    params: Mapped[dict[str, Any]]
    outcome: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
