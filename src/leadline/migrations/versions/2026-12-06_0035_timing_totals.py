"""the timing table's sends by quarter hour from the maintained totals

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06

``analytics_totals`` gets the timing table's figures (``timing.sent`` and ``timing.replied``: the
emails sent, and of those replied to, by the UTC quarter hour of the send), so the weekly report's
reply rate by weekday and hour of sending stops reading every email of its quarter. No schema
change: the totals are counted again from the rows by the same code as ``leadline analytics
recount``. Downgrade drops those figures.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from leadline.migrations.steps import recount_totals

    recount_totals()


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM analytics_totals WHERE substr(figure, 1, 7) = 'timing.'"))
