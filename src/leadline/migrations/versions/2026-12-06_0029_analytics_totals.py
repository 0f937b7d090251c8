"""maintained totals for the dashboard and the weekly report

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06

``analytics_totals`` keeps the dashboard's and the weekly report's counts per local day (of
LEADLINE_TIMEZONE) and dimension, moved by the same transaction as the rows they count
(``leadline.analytics.totals``). Created empty here: migration 0032 gives it its present key and
fills it from the existing rows by the same code as ``leadline analytics recount`` (the code of
today's key could not write into this one).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_totals",
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("start_day", sa.Integer(), nullable=False),
        sa.Column("event_day", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "figure", "start_day", "event_day", "template", "sender", "tier", name=op.f("pk_analytics_totals")
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_totals")
