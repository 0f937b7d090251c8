"""notifications name whom they are for: the owner of their prospect (or task)

Revision ID: 0028
Revises: 0022
Create Date: 2026-12-05

A reply, a logged or booked call, a reminder or a task due about a prospect is for that prospect's
owner (a task's own owner first): the notification keeps that user's email, its delivery emails
them, and their Today page lists it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
    op.create_index("ix_notifications_recipient_created_at", "notifications", ["recipient", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient_created_at", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("recipient")
