from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from leadline.clock import utc_now
from leadline.db import Base


class StoredFile(Base):
    """A file kept with a prospect, or with a customer (and so also its prospect, whose timeline shows it).

    The bytes live in the row itself (SQLite BLOB, PostgreSQL bytea), so a backup, ``export --all`` and a
    restore carry them. ``data`` is loaded only when asked for (``deferred``): lists never read it.
    """

    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_prospect_id", "prospect_id"),
        Index("ix_files_customer_id", "customer_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20), default="upload")  # upload | proposal
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
