"""ORM model of a prospect: the Phase 2 research fields plus the sales fields of the seed's Table 4."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base
from leadline.prospects.stages import STAGES


class Prospect(Base):
    __tablename__ = "prospects"
    __table_args__ = (
        CheckConstraint("tier IN (1, 2, 3)", name="tier_range"),
        CheckConstraint("grid_health IS NULL OR (grid_health >= 0 AND grid_health <= 100)", name="grid_health_range"),
        CheckConstraint(
            "competitor_health IS NULL OR (competitor_health >= 0 AND competitor_health <= 100)",
            name="competitor_health_range",
        ),
        CheckConstraint(
            "sales_status IN (" + ",".join(f"'{stage}'" for stage in STAGES) + ")",
            name="sales_status_known",
        ),
        Index("ix_prospects_sales_status_tier", "sales_status", "tier"),
        Index("ix_prospects_trade", "trade"),
        Index("ix_prospects_created_at_id", "created_at", "id"),
        # An import finds the business a row names by its website or its name (prospects.matching).
        Index("ix_prospects_website", "website"),
        Index("ix_prospects_name_lower", func.lower(text("name"))),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    trade: Mapped[str | None] = mapped_column(String(80))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # stored lower-case
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(default=3)
    grid_health: Mapped[float | None]
    critical_gaps: Mapped[int | None]
    gaps: Mapped[list[str]] = mapped_column(default=list)
    top_competitor: Mapped[str | None] = mapped_column(String(200))
    competitor_health: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    sales_status: Mapped[str] = mapped_column(String(20), default="new")
    last_contact_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    emails_sent_count: Mapped[int] = mapped_column(default=0)
    emails_opened_count: Mapped[int] = mapped_column(default=0)
    calls_scheduled_count: Mapped[int] = mapped_column(default=0)
    calls_completed_count: Mapped[int] = mapped_column(default=0)
    deal_value: Mapped[float | None]
    close_date: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    do_not_contact_reason: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(320))
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    last_import_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    def __repr__(self) -> str:
        return f"<Prospect {self.id} {self.sales_status}>"

    def as_dict(self) -> dict[str, Any]:
        return {column.key: getattr(self, column.key) for column in self.__mapper__.column_attrs}


class ProspectExternalId(Base):
    """A record of another system (a HubSpot contact or company, a Pipedrive person or organization,
    any id column an import was told to use) that an import merged into a prospect: the next import
    of the same record finds the same prospect.

    ``owner`` says how the record was merged: as the prospect itself (it created the prospect, or
    matched it by its own id or e-mail address), or as a related record (another person of the
    business, the business's company record) whose differing values were kept in the notes rather
    than written over the prospect's own (``prospects.matching``)."""

    __tablename__ = "prospect_external_ids"
    __table_args__ = (Index("ix_prospect_external_ids_prospect_id", "prospect_id"),)

    source: Mapped[str] = mapped_column(String(120), primary_key=True)  # "hubspot contact", "column Customer No"
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    owner: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
