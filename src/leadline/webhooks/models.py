from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

EVENT_STATES = ("received", "applied", "unmatched", "ignored", "failed")


class WebhookEvent(Base):
    """One event as SendGrid sent it, kept forever; ``(source, event_id)`` makes duplicates harmless."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        CheckConstraint("status IN ('received','applied','unmatched','ignored','failed')", name="status_known"),
        Index("ix_webhook_events_email_activity_id", "email_activity_id"),
        Index("ix_webhook_events_status_received_at", "status", "received_at"),
        Index("ix_webhook_events_batch_id", "batch_id"),
        # An address's bounce/unsubscribe history, read for every such event (not a table scan).
        Index("ix_webhook_events_email_event_type", "email", "event_type"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), default="sendgrid")
    event_id: Mapped[str] = mapped_column(String(200))  # sg_event_id
    event_type: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    email_activity_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    applied_at: Mapped[datetime | None]


class WebhookBatch(Base):
    """One POST from SendGrid (or an import): how many events, how many were new."""

    __tablename__ = "webhook_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    events: Mapped[int]
    new_events: Mapped[int]
    duplicates: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: A post that could not be read as events: why, and its body as it came (nothing applied).
    error: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


INBOUND_STATES = ("matched", "unmatched", "auto_reply", "duplicate", "failed")


class InboundMessage(Base):
    """A reply that came through Inbound Parse. The HTML is kept as text, never rendered.

    A post that could not be read is kept too, as it came (``raw``, its content type in
    ``headers``), with status ``failed`` and the reason in ``error``: nothing is applied."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        CheckConstraint("status IN ('matched','unmatched','auto_reply','duplicate','failed')", name="status_known"),
        Index("ix_inbound_messages_status_received_at", "status", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(300), unique=True)  # Message-ID, or a hash
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(300))
    to_addresses: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(default=list)
    raw_mode: Mapped[bool] = mapped_column(default=False)
    auto_reply: Mapped[bool] = mapped_column(default=False)
    #: SendGrid reported SPF or DKIM pass for the sender's domain: only then may the sender's
    #: address alone match the reply to an email (docs/sendgrid.md, "Which email a reply answers").
    sender_verified: Mapped[bool] = mapped_column(default=False)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    matched_by: Mapped[str | None] = mapped_column(String(30))
    email_activity_id: Mapped[str | None] = mapped_column(String(40), index=True)
    prospect_id: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="unmatched")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
