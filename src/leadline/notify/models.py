from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base


class Notification(Base):
    """Something a person should hear about. ``dedup_key`` makes each one exist once,
    however many times the event behind it is applied, replayed or retried."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending','sending','sent','failed','recorded')", name="status_known"),
        Index("ix_notifications_status_created_at", "status", "created_at"),
        Index("ix_notifications_recipient_created_at", "recipient", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    prospect_id: Mapped[str | None] = mapped_column(String(80))
    recipient: Mapped[str | None] = mapped_column(String(320))  # the user it is for: the prospect's (or task's) owner
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    channels: Mapped[list[str]] = mapped_column(default=list)  # where it was delivered
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
