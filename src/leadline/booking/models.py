"""Availability (per user) and booking links (per prospect and sender, revocable).

* ``availabilities``: one row per user: weekly hours in the user's zone, buffers, the call
  lengths offered, how far ahead, the minimum notice and a daily maximum; none until the user
  sets something (the defaults apply). A booking locks it, with the host's user row, so two
  people choosing the same time get one call.
* ``booking_links``: what is known about a prospect's link for one sender: its revocations.
  The link itself is a signed token (``booking/links.py``), so every template can print it
  without a write; ``sender_email`` is the From identity today and can later name a sender row.
* ``bookings``: a call booked through a link: who hosts it, for how long, from which link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base, JSONType


class Availability(Base):
    __tablename__ = "availabilities"
    __table_args__ = (
        CheckConstraint("buffer_before >= 0 AND buffer_after >= 0", name="buffers_positive"),
        CheckConstraint("horizon_days >= 1", name="horizon_positive"),
        CheckConstraint("min_notice_minutes >= 0", name="notice_positive"),
        CheckConstraint("daily_max >= 1", name="daily_max_positive"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]]  # {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...}
    lengths: Mapped[list[int]] = mapped_column(JSONType)  # minutes offered, e.g. [15, 30]
    buffer_before: Mapped[int] = mapped_column(default=0)  # minutes
    buffer_after: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=14)
    min_notice_minutes: Mapped[int] = mapped_column(default=240)
    daily_max: Mapped[int] = mapped_column(default=6)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class BookingLink(Base):
    __tablename__ = "booking_links"
    __table_args__ = (UniqueConstraint("prospect_id", "sender_email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    #: The From identity the link was sent under; ``*`` stands for every sender (a revocation of all).
    sender_email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(320))
    revoked_reason: Mapped[str | None] = mapped_column(String(500))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_host_user_id", "host_user_id"),
        Index("ix_bookings_prospect_id", "prospect_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call_activities.id", ondelete="CASCADE"), unique=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    host_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sender_email: Mapped[str] = mapped_column(String(320))
    length_minutes: Mapped[int]
    #: The call's ``ics_sequence`` the invitations were last sent for (-1: none yet); the sweep sends
    #: what a lost job left, and a change made elsewhere (``leadline calls cancel``) reaches the prospect.
    invited_sequence: Mapped[int] = mapped_column(default=-1)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
