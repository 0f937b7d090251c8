from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base, PartialIndex

#: Delivery and engagement states, in the order an email moves through them. A state is
#: only ever replaced by a later one (bounced and failed end the road).
EMAIL_STATUSES = (
    "scheduled",
    "pending",
    "sending",
    "unknown",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "failed",
    "cancelled",
)


class EmailActivity(Base):
    __tablename__ = "email_activities"
    __table_args__ = (
        CheckConstraint(
            "status IN ('scheduled','pending','sending','unknown','sent','delivered','opened','clicked',"
            "'replied','bounced','failed','cancelled')",
            name="status_known",
        ),
        Index("ix_email_activities_prospect_id_created_at", "prospect_id", "created_at"),
        # the email list: newest first by (created_at, id), keyset paging
        Index("ix_email_activities_created_at_id", "created_at", "id"),
        Index("ix_email_activities_sent_at", "sent_at"),
        Index("ix_email_activities_status", "status"),
        Index("ix_email_activities_to_email", "to_email"),
        # a sender's sends by time (health, the thread's sender)
        Index("ix_email_activities_sender_id_sent_at", "sender_id", "sent_at"),
        Index("ix_email_activities_status_scheduled_at", "status", "scheduled_at"),
        # A sequence step is sent at most once, whatever the number of workers.
        UniqueConstraint("sequence_enrollment_id", "sequence_step"),
        # analytics: the week's delivery and engagement figures read from this index alone
        Index(
            "ix_email_activities_week",
            "sent_at",
            "status",
            "delivered_at",
            "bounced_at",
            "opened_at",
            "open_count",
            "machine_open_count",
            "click_count",
            "replied_at",
            "template",
            "prospect_id",
        ),
        # analytics: replies by time, with what the prospect cards need
        Index("ix_email_activities_replies", "replied_at", "prospect_id", "sent_at", "template"),
        # analytics: the replied emails of a period of sends (reply delays, replies followed by a call)
        PartialIndex(
            "ix_email_activities_replied_by_send",
            "sent_at",
            "replied_at",
            "prospect_id",
            "template",
            where="replied_at IS NOT NULL",
        ),
        # analytics: the prospect cards' opens of a week, by prospect (the opened emails only)
        PartialIndex("ix_email_activities_opened_by_prospect", "prospect_id", "sent_at", where="opened_at IS NOT NULL"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    outreach_activity_id: Mapped[str | None] = mapped_column(ForeignKey("outreach_activities.id", ondelete="SET NULL"))
    sendgrid_id: Mapped[str | None] = mapped_column(String(100), index=True)
    message_id: Mapped[str | None] = mapped_column(String(300), unique=True)
    email_type: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    to_email: Mapped[str] = mapped_column(String(320))
    from_email: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    sender_id: Mapped[str | None] = mapped_column(String(40))  # senders.id: who sent it (set when claimed)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    thread_root_id: Mapped[str | None] = mapped_column(String(40))
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    backend: Mapped[str | None] = mapped_column(String(20))
    forced: Mapped[bool] = mapped_column(default=False)  # sent with --force (same template again)
    sequence_enrollment_id: Mapped[str | None] = mapped_column(String(40))
    sequence_step: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime | None]
    send_attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    open_count: Mapped[int] = mapped_column(default=0)
    machine_open_count: Mapped[int] = mapped_column(default=0)
    clicked_at: Mapped[datetime | None]
    click_count: Mapped[int] = mapped_column(default=0)  # clicks by people (webhooks/clicks.py)
    machine_click_count: Mapped[int] = mapped_column(default=0)  # clicks that look automated
    replied_at: Mapped[datetime | None]
    reply_text: Mapped[str | None] = mapped_column(Text)
    bounced_at: Mapped[datetime | None]
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    bounce_type: Mapped[str | None] = mapped_column(String(20))
    failed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    spam_reported_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class EmailLinkClick(Base):
    """How often the people and the machines followed one link of one email (recomputed from the
    email's click events whenever they change; Leadline's own links are not kept)."""

    __tablename__ = "email_link_clicks"

    email_activity_id: Mapped[str] = mapped_column(
        ForeignKey("email_activities.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    human_clicks: Mapped[int] = mapped_column(default=0)
    machine_clicks: Mapped[int] = mapped_column(default=0)
    first_clicked_at: Mapped[datetime]
    first_human_at: Mapped[datetime | None]


SUPPRESSION_REASONS = ("hard_bounce", "spam_report", "unsubscribe", "group_unsubscribe", "manual", "invalid")


class Suppression(Base):
    """An address Leadline must never email again (until a person lifts it)."""

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('hard_bounce','spam_report','unsubscribe','group_unsubscribe','manual','invalid')",
            name="reason_known",
        ),
    )

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-case
    reason: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    email_activity_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class DailySendCount(Base):
    """How many emails were claimed for sending on a day (in the configured zone): the cap."""

    __tablename__ = "daily_send_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
