"""a sequence keeps the senders it was started with

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06

``leadline sequences start --sender EMAIL`` (``senders`` in ``POST /api/sequences``) chooses the
senders the sequence's emails rotate across; every later step is sent from that selection (a
prospect's follow-ups from the sender of their first email). NULL: every sender, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sequences") as batch:
        batch.add_column(sa.Column("senders", leadline.db.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sequences") as batch:
        batch.drop_column("senders")
