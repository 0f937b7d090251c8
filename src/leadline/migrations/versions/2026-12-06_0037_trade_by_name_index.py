"""the prospect list's trade filter: its page by name and its count with a stage and a tier, from indexes

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06

At a million prospects a trade matches about 100,000 of them. Its list by name read and sorted
every one (about 190 ms on SQLite): the index of trade, then name as the list sorts it, then id,
hands back the first page in order. Its count beside a stage and a tier read the 60,000 prospects
of that stage and tier to test their trade (about 100 ms): the trade's index now goes on with the
stage and the tier (it still answers the trade alone, and the list of trades). Other filters that
match many prospects are walked in the sort's own order instead (``prospects.service.search``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_prospects_trade_name", "prospects", ["trade", sa.text("lower(name)"), "id"])
    op.create_index("ix_prospects_trade_sales_status_tier", "prospects", ["trade", "sales_status", "tier"])
    op.drop_index("ix_prospects_trade", table_name="prospects")


def downgrade() -> None:
    op.create_index("ix_prospects_trade", "prospects", ["trade"])
    op.drop_index("ix_prospects_trade_sales_status_tier", table_name="prospects")
    op.drop_index("ix_prospects_trade_name", table_name="prospects")
