"""the objections table and the forecast from the maintained totals

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06

``analytics_totals`` gets the objections table's figures (``objections.*``: per category, the calls
held that raised it and its mentions, and the prospects they were held with, won and lost by their
stage now) and the forecast's (``forecast.*``: the prospects of each stage now, with their deal
values), so the weekly report stops reading every call held with its prospect and every open
prospect. The totals are counted again from the rows by the same code as ``leadline analytics
recount``. The forecast's (sales_status, deal_value) index (0033) has nothing left to answer and
goes. Downgrade drops those figures and makes the index again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from leadline.migrations.steps import recount_totals

    op.drop_index("ix_prospects_sales_status_deal_value", table_name="prospects")
    recount_totals()


def downgrade() -> None:
    op.get_bind().execute(
        sa.text(
            "DELETE FROM analytics_totals WHERE substr(figure, 1, 11) = 'objections.' OR substr(figure, 1, 9) = 'forecast.'"
        )
    )
    op.create_index("ix_prospects_sales_status_deal_value", "prospects", ["sales_status", "deal_value"])
