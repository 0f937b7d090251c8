"""availability per user, booking links per prospect and sender, calls booked through them

Revision ID: 0024
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadline.db

revision: str = "0024"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "availabilities",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", JSON, nullable=False),
        sa.Column("lengths", JSON, nullable=False),
        sa.Column("buffer_before", sa.Integer(), nullable=False),
        sa.Column("buffer_after", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_max", sa.Integer(), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.CheckConstraint("buffer_before >= 0 AND buffer_after >= 0", name=op.f("ck_availabilities_buffers_positive")),
        sa.CheckConstraint("daily_max >= 1", name=op.f("ck_availabilities_daily_max_positive")),
        sa.CheckConstraint("horizon_days >= 1", name=op.f("ck_availabilities_horizon_positive")),
        sa.CheckConstraint("min_notice_minutes >= 0", name=op.f("ck_availabilities_notice_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_availabilities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_availabilities")),
    )
    op.create_table(
        "booking_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("sender_email", sa.String(length=320), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_booking_links_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_links")),
        sa.UniqueConstraint("prospect_id", "sender_email", name=op.f("uq_booking_links_prospect_id_sender_email")),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("host_user_id", sa.String(length=40), nullable=False),
        sa.Column("sender_email", sa.String(length=320), nullable=False),
        sa.Column("length_minutes", sa.Integer(), nullable=False),
        sa.Column("invited_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_activities.id"], name=op.f("fk_bookings_call_id_call_activities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["host_user_id"], ["users.id"], name=op.f("fk_bookings_host_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_bookings_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("call_id", name=op.f("uq_bookings_call_id")),
    )
    op.create_index("ix_bookings_host_user_id", "bookings", ["host_user_id"], unique=False)
    op.create_index("ix_bookings_prospect_id", "bookings", ["prospect_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bookings_prospect_id", table_name="bookings")
    op.drop_index("ix_bookings_host_user_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("booking_links")
    op.drop_table("availabilities")
