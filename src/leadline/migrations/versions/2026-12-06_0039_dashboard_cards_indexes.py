"""indexes for the dashboard: the opened emails by prospect (the cards), a prospect's calls booked

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06

The prospect cards rank the week's prospects by replies, then calls, then the week's emails
opened; the opens are counted only for those tied at the last card's replies and calls (a few
hundred at a million prospects), each from its own emails. Through the (prospect_id, created_at)
index that read every email of theirs from the table (one page each, about a thousand). This index
holds the opened emails only, by prospect and send time: each prospect's opens of a week are a
range of it, read from the index alone.

The replies followed by a call read, for each of the week's replies, its prospect's calls booked
after the email and not cancelled by the week's end: through the (prospect_id, status, completed_at)
index, each call from the table. This index holds what that reads: (prospect_id, created_at,
status, updated_at).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_email_activities_opened_by_prospect", "email_activities", ["prospect_id", "sent_at"],
        sqlite_where=sa.text("opened_at IS NOT NULL"), postgresql_where=sa.text("opened_at IS NOT NULL"),
    )  # fmt: skip
    op.create_index(
        "ix_call_activities_prospect_booked", "call_activities", ["prospect_id", "created_at", "status", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_call_activities_prospect_booked", table_name="call_activities")
    op.drop_index("ix_email_activities_opened_by_prospect", table_name="email_activities")
