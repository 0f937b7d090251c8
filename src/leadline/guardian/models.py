"""Reply labels: what each reply means (a rule's reading or a person's), and every correction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

_LABELS_SQL = ("'interested','meeting_request','not_interested','not_now','unsubscribe_request','referral',"
               "'out_of_office','auto_reply','bounce_like','other'")  # fmt: skip


class ReplyLabel(Base):
    """One reply (from Inbound Parse, or logged by hand) and its label. ``id`` is the reply's id."""

    __tablename__ = "reply_labels"
    __table_args__ = (
        CheckConstraint(f"label IN ({_LABELS_SQL})", name="label_known"),
        CheckConstraint(f"rule_label IN ({_LABELS_SQL})", name="rule_label_known"),
        CheckConstraint("set_by IN ('rule','person')", name="set_by_known"),
        CheckConstraint("source IN ('inbound','manual')", name="source_known"),
        Index("ix_reply_labels_prospect_id_received_at", "prospect_id", "received_at"),
        Index("ix_reply_labels_label_received_at", "label", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    email_activity_id: Mapped[str | None] = mapped_column(
        ForeignKey("email_activities.id", ondelete="SET NULL"), index=True
    )
    inbound_id: Mapped[str | None] = mapped_column(String(40), index=True)
    source: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str | None] = mapped_column(String(320))
    excerpt: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(10))
    set_by_actor: Mapped[str] = mapped_column(String(200))
    rule_label: Mapped[str] = mapped_column(String(30))
    named_date: Mapped[date | None]
    named_person: Mapped[str | None] = mapped_column(String(200))
    named_email: Mapped[str | None] = mapped_column(String(320))
    #: What was done about it: suppressed, awaiting_confirmation, lost, referral_proposed, referral_added,
    #: paused, notified, none.
    action: Mapped[str] = mapped_column(String(40), default="none")
    action_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ReplyLabelChange(Base):
    """A person's correction of a reply's label (kept, and reported)."""

    __tablename__ = "reply_label_changes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reply_id: Mapped[str] = mapped_column(ForeignKey("reply_labels.id", ondelete="CASCADE"), index=True)
    from_label: Mapped[str] = mapped_column(String(30))
    to_label: Mapped[str] = mapped_column(String(30))
    from_set_by: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
