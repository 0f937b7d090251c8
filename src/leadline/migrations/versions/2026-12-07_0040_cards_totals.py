"""the dashboard's prospect cards from the maintained totals

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07

The dashboard's prospect cards rank the week's prospects by replies, then calls booked and held,
then the week's emails opened. They were found from the raw rows: every reply and call of the week
(about 2,600 at a million prospects), and in a quiet week every opened email of the week grouped by
prospect (100,000 sends, 60,000 opened: about 30 ms on SQLite, on every dashboard). The totals now
keep each prospect's week as one count that sorts the same way (``cards.score``: replies, calls and
opens weighted by place; the week's Monday as start and event day, the prospect in the ``template``
key column), and this partial index holds them by week and count, so the cards are its first rows.
The totals are counted again from the rows by the same code as ``leadline analytics recount``.
Downgrade drops the index and those rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "figure = 'cards.score'"


def upgrade() -> None:
    from leadline.migrations.steps import recount_totals

    op.create_index(
        "ix_analytics_totals_cards", "analytics_totals", ["start_day", "n", "template"],
        sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE),
    )  # fmt: skip
    recount_totals()


def downgrade() -> None:
    op.drop_index("ix_analytics_totals_cards", table_name="analytics_totals")
    op.get_bind().execute(sa.text(f"DELETE FROM analytics_totals WHERE {WHERE}"))
