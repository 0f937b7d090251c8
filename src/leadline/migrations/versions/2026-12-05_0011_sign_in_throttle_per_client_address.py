"""sign-in throttle per e-mail address and client address

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

The throttle's key becomes (email, client). Its rows are short-lived counts, so the table is
made again rather than converted: counts of failed sign-ins start again from zero.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", "client", name=op.f("pk_login_throttle")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_throttle")),
    )
