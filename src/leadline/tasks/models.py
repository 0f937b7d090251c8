from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

#: next_step: made when a call is logged; follow_up: a follow-up date (outcome follow_up,
#: a missed call), done by the next email sent; manual: added by a person; proposal: send a
#: proposal, done when one is sent; call_back: call them, done when a call is logged.
TASK_KINDS = ("next_step", "follow_up", "manual", "proposal", "call_back")


class Task(Base):
    """Something to do, by a date; usually about one prospect, sometimes made by a call."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("kind IN ('next_step','follow_up','manual','proposal','call_back')", name="kind_known"),
        Index("ix_tasks_done_at_due_at", "done_at", "due_at"),
        Index("ix_tasks_prospect_id_done_at", "prospect_id", "done_at"),
        Index("ix_tasks_owner_done_at", "owner", "done_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str | None] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("call_activities.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
