from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

CALL_OUTCOMES = ("pending", "interested", "not_interested", "follow_up", "proposal_sent", "closed_won")
CALL_STATUSES = ("scheduled", "completed", "cancelled", "no_show")


class CallActivity(Base):
    __tablename__ = "call_activities"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('pending','interested','not_interested','follow_up','proposal_sent','closed_won')",
            name="outcome_known",
        ),
        CheckConstraint("status IN ('scheduled','completed','cancelled','no_show')", name="status_known"),
        CheckConstraint("duration IS NULL OR duration >= 0", name="duration_positive"),
        Index("ix_call_activities_prospect_id_scheduled_at", "prospect_id", "scheduled_at"),
        Index("ix_call_activities_status_scheduled_at", "status", "scheduled_at"),
        # analytics: calls booked and calls held in a week
        Index("ix_call_activities_created_at", "created_at"),
        Index("ix_call_activities_completed_at", "completed_at"),
        # analytics: the calls held in a week, and a prospect's calls held (the dashboard's cards): an
        # equality on the status alone would otherwise lead SQLite's planner, without statistics, to
        # walk every call held
        Index("ix_call_activities_status_completed_at", "status", "completed_at"),
        Index("ix_call_activities_prospect_status_completed", "prospect_id", "status", "completed_at"),
        # analytics: a prospect's calls booked in a period, with what "not cancelled by then" reads (the
        # dashboard's replies followed by a call, from the index alone)
        Index("ix_call_activities_prospect_booked", "prospect_id", "created_at", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    outreach_activity_id: Mapped[str | None] = mapped_column(ForeignKey("outreach_activities.id", ondelete="SET NULL"))
    scheduled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration: Mapped[int | None]  # seconds
    notes: Mapped[str | None] = mapped_column(Text)
    objections: Mapped[list[str]] = mapped_column(default=list)
    objection_categories: Mapped[list[str]] = mapped_column(default=list)
    next_steps: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    recording_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    ics_sequence: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
