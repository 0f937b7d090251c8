from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base


class Sequence(Base):
    """A series of templates with delays: ``steps`` = [{"template": "pain_point", "delaySeconds": 0}, ...]."""

    __tablename__ = "sequences"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    steps: Mapped[list[dict[str, Any]]]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # the sender ids its emails rotate across (``--sender``), kept for every later step; None: every sender
    senders: Mapped[list[str] | None]


class SequenceEnrollment(Base):
    """One prospect going through a sequence. ``step`` is the index of the next step to send."""

    __tablename__ = "sequence_enrollments"
    __table_args__ = (
        CheckConstraint("status IN ('active','completed','stopped')", name="status_known"),
        Index("ix_sequence_enrollments_status_next_send_at", "status", "next_send_at"),
        Index("ix_sequence_enrollments_prospect_id_status", "prospect_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence_id: Mapped[str] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(default=0)
    next_send_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    stop_reason: Mapped[str | None] = mapped_column(Text)
    thread_message_id: Mapped[str | None] = mapped_column(String(300))
    thread_root_email_id: Mapped[str | None] = mapped_column(String(40))
    last_email_id: Mapped[str | None] = mapped_column(String(40))
    last_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
