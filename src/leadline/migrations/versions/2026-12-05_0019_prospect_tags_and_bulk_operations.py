"""prospect tags and bulk operations (with the values before, for Undo)

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-05

``prospect_tags``: a prospect's tags, deleted with it. ``bulk_operations`` and their items: a bulk
action on a selection of prospects, each prospect's values before (so Undo restores them) and
what happened to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadline.db import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prospect_tags",
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_prospect_tags_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("prospect_id", "tag", name=op.f("pk_prospect_tags")),
    )
    op.create_index("ix_prospect_tags_tag", "prospect_tags", ["tag", "prospect_id"], unique=False)
    op.create_table(
        "bulk_operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column(
            "request", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("undone", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operations")),
    )
    op.create_table(
        "bulk_operation_items",
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("target_id", sa.String(length=80), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["bulk_operations.id"],
            name=op.f("fk_bulk_operation_items_operation_id_bulk_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "position", name=op.f("pk_bulk_operation_items")),
    )


def downgrade() -> None:
    op.drop_table("bulk_operation_items")
    op.drop_table("bulk_operations")
    op.drop_index("ix_prospect_tags_tag", table_name="prospect_tags")
    op.drop_table("prospect_tags")
