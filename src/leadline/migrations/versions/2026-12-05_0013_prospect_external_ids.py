"""external ids of imported records; prospects found by website and by name

Revision ID: 0013
Revises: 0021
Create Date: 2026-12-05

An import keeps the id another system gave each record it merged (HubSpot's Record ID,
Pipedrive's ID, a column the user named), so importing the same export again finds the same
prospect; a persons export and an organizations export meet on the business's website or name,
so both are indexed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0013"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prospect_external_ids",
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.Boolean(), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_prospect_external_ids_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source", "external_id", name=op.f("pk_prospect_external_ids")),
    )
    op.create_index("ix_prospect_external_ids_prospect_id", "prospect_external_ids", ["prospect_id"])
    op.create_index("ix_prospects_website", "prospects", ["website"])
    op.create_index("ix_prospects_name_lower", "prospects", [sa.text("lower(name)")])


def downgrade() -> None:
    op.drop_index("ix_prospects_name_lower", table_name="prospects")
    op.drop_index("ix_prospects_website", table_name="prospects")
    op.drop_index("ix_prospect_external_ids_prospect_id", table_name="prospect_external_ids")
    op.drop_table("prospect_external_ids")
