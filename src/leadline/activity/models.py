from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base, PartialIndex


class OutreachActivity(Base):
    """One entry of a prospect's timeline.

    ``type`` is email | call | sms | follow_up | note | stage_change | created | imported |
    updated | proposal | deal | customer | reply | suppression ...; ``details`` holds the
    facts of the entry; ``actor`` says who did it (``cli``, ``api``, ``user:ann@x``,
    ``webhook``, ``system``).
    """

    __tablename__ = "outreach_activities"
    __table_args__ = (
        Index("ix_outreach_activities_prospect_id_created_at", "prospect_id", "created_at"),
        # analytics: how far each lost prospect got, from its stage changes, without opening them
        Index("ix_outreach_activities_prospect_id_type_status", "prospect_id", "type", "status"),
        # the proposals sent, by time: the funnel's "proposal" stage before an instant, or in one
        PartialIndex("ix_outreach_activities_proposals", "created_at", "prospect_id", where="type = 'proposal'"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
