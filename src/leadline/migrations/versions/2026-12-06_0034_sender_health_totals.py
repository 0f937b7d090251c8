"""senders' health from the maintained totals

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06

``analytics_totals`` gets the senders' health figures (``health.*``: each sender's sends, hard
bounces, blocks, spam reports and unsubscribes, by UTC hour of the send and of the event), so the
dashboard's and the weekly report's deliverability block stops reading every email of the last 28
days. No schema change: the totals are counted again from the rows by the same code as ``leadline
analytics recount``. Downgrade drops those figures.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from leadline.migrations.steps import recount_totals

    recount_totals()


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM analytics_totals WHERE substr(figure, 1, 7) = 'health.'"))
