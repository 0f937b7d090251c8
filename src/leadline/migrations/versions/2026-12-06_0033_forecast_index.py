"""the forecast reads the open pipeline's deal values from an index

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06

The forecast ("what works", the weekly report) counts the prospects of each open stage with their
deal values: the (sales_status, tier) index found them, then every one's row was read for its
deal value (most prospects are in an open stage). (sales_status, deal_value) holds all it reads.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_prospects_sales_status_deal_value", "prospects", ["sales_status", "deal_value"])


def downgrade() -> None:
    op.drop_index("ix_prospects_sales_status_deal_value", table_name="prospects")
