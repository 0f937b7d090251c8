"""the dashboard's quiet-week cards from the maintained totals

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07

In a week with fewer replies and calls than cards, the dashboard fills its prospect cards with the
week's most opened prospects, and counted every opened email of the week by prospect to find them
(100,000 sends, 60,000 opened: about 30 ms of grouping on SQLite, on every dashboard). The totals
now keep each prospect's opened emails per local week (``cards.opened``: the week's Monday as start
and event day, the prospect in the ``template`` key column), and this partial index holds them by
week and count, so the most opened are its first rows. The totals are counted again from the rows
by the same code as ``leadline analytics recount``. Downgrade drops the index and those rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "figure = 'cards.opened'"


def upgrade() -> None:
    from leadline.migrations.steps import recount_totals

    op.create_index(
        "ix_analytics_totals_card_opens", "analytics_totals", ["start_day", "n", "template"],
        sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE),
    )  # fmt: skip
    recount_totals()


def downgrade() -> None:
    op.drop_index("ix_analytics_totals_card_opens", table_name="analytics_totals")
    op.get_bind().execute(sa.text(f"DELETE FROM analytics_totals WHERE {WHERE}"))
