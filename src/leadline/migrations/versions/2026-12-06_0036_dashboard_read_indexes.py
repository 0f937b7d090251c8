"""indexes for the dashboard's and the weekly report's reads of replies and calls held

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06

The dashboard's replies followed by a call, the templates' calls booked and the reply delays of
the weekly report read the replied emails sent in a period. The replies index is ordered by reply
time and the week index holds every email sent: at a million prospects either walked tens of
thousands of entries for a week's few hundred replies. This index holds the replied emails only,
by send time.

The cards' calls held (in the week; a prospect's, for its last contact and objections) were read,
by SQLite's planner without statistics (a database grown since its last migration has none for its
new rows), through the (status, scheduled_at) index: every call held, for each card. Two indexes
lead with what those reads fix: (status, completed_at) and (prospect_id, status, completed_at).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_email_activities_replied_by_send", "email_activities", ["sent_at", "replied_at", "prospect_id", "template"],
        sqlite_where=sa.text("replied_at IS NOT NULL"), postgresql_where=sa.text("replied_at IS NOT NULL"),
    )  # fmt: skip
    op.create_index("ix_call_activities_status_completed_at", "call_activities", ["status", "completed_at"])
    op.create_index(
        "ix_call_activities_prospect_status_completed", "call_activities", ["prospect_id", "status", "completed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_call_activities_prospect_status_completed", table_name="call_activities")
    op.drop_index("ix_call_activities_status_completed_at", table_name="call_activities")
    op.drop_index("ix_email_activities_replied_by_send", table_name="email_activities")
