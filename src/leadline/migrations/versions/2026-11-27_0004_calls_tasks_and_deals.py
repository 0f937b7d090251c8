"""calls, tasks and deals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=True),
        sa.Column("call_id", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('next_step','follow_up','manual')", name=op.f("ck_tasks_kind_known")),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call_activities.id"],
            name=op.f("fk_tasks_call_id_call_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_tasks_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_call_id"), ["call_id"], unique=False)
        batch_op.create_index("ix_tasks_done_at_due_at", ["done_at", "due_at"], unique=False)
        batch_op.create_index("ix_tasks_prospect_id_done_at", ["prospect_id", "done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_prospect_id_done_at")
        batch_op.drop_index("ix_tasks_done_at_due_at")
        batch_op.drop_index(batch_op.f("ix_tasks_call_id"))

    op.drop_table("tasks")
