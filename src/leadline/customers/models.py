from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

SERVICE_TYPES = ("grid_health_analysis", "content_generation", "paid_ads")
CUSTOMER_STATUSES = ("active", "paused", "churned")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(
            "service_type IN ('grid_health_analysis','content_generation','paid_ads')", name="service_known"
        ),
        CheckConstraint("status IN ('active','paused','churned')", name="status_known"),
        CheckConstraint("monthly_fee >= 0", name="fee_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="RESTRICT"), unique=True)
    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(500))
    service_type: Mapped[str] = mapped_column(String(40))
    monthly_fee: Mapped[float]
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    contract_url: Mapped[str | None] = mapped_column(String(1000))
    signed_at: Mapped[datetime]
    primary_contact: Mapped[str | None] = mapped_column(String(200))
    slack_channel: Mapped[str | None] = mapped_column(String(200))
    google_drive_folder: Mapped[str | None] = mapped_column(String(1000))
    initial_grid_health: Mapped[float | None]
    current_grid_health: Mapped[float | None]
    impressions_generated: Mapped[int | None]
    leads_generated: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
