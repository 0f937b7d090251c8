"""emails newest first: index on (created_at, id)

The email list (``GET /api/emails``, ``leadline emails list``, the /emails page) reads emails
newest first by ``(created_at, id)`` with a keyset cursor; without this index every page sorted
the whole table (14 s at 3,000,000 emails on SQLite).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_email_activities_created_at_id", "email_activities", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_email_activities_created_at_id", table_name="email_activities")
