from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base


class SavedView(Base):
    """A list page's filter, sort and columns (its URL query), under a name; private to its
    owner or shared with everyone."""

    __tablename__ = "saved_views"
    __table_args__ = (
        CheckConstraint("page IN ('prospects','emails','calls','customers')", name="page_known"),
        Index("ix_saved_views_owner", "owner"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    page: Mapped[str] = mapped_column(String(20))
    query: Mapped[str] = mapped_column(String(1000), default="")
    owner: Mapped[str] = mapped_column(String(320))
    shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
