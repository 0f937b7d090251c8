"""an index of the proposals sent, by time

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07

The funnel's "proposal" stage is a proposal sent (a timeline entry of type ``proposal``) or a call
logged with that outcome (``prospects.queries.REACHED_SQL``). The proposals were found by reading
every timeline entry: about a million at a million prospects, most of them stage changes. The
conversion table as of now reads the prospects whose stage moved in the day so far, the proposals
of the day among them (``analytics.queries.what_works``), and the prospect list's "reached
proposal" filter reads every proposal before an instant: this partial index holds only the
proposals, by time, with their prospect.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "type = 'proposal'"


def upgrade() -> None:
    op.create_index(
        "ix_outreach_activities_proposals", "outreach_activities", ["created_at", "prospect_id"],
        sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_outreach_activities_proposals", table_name="outreach_activities")
