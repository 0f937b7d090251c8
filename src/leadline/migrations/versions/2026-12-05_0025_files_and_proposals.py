"""files kept in the database; proposals as versioned documents with views and acceptance

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "proposals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("monthly_fee", sa.Double(), nullable=False),
        sa.Column("intro", sa.Text(), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_viewed_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_version", sa.Integer(), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("signer_ip", sa.String(length=64), nullable=True),
        sa.Column("signer_agent", sa.String(length=500), nullable=True),
        sa.Column("signed_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_file_id", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("declined_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("status IN ('draft','sent','accepted','declined')", name=op.f("ck_proposals_status_known")),
        sa.CheckConstraint("monthly_fee > 0", name=op.f("ck_proposals_fee_positive")),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_proposals_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index("ix_proposals_prospect_id", ["prospect_id"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_files_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_files_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_files_prospect_id", ["prospect_id"], unique=False)

    op.create_table(
        "proposal_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("monthly_fee", sa.Double(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_id", sa.String(length=40), nullable=True),
        sa.Column("replaced_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_versions_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_versions")),
        sa.UniqueConstraint("proposal_id", "version", name=op.f("uq_proposal_versions_proposal_id_version")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_proposal_versions_token_hash")),
    )
    op.create_table(
        "proposal_views",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("viewed_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_views_proposal_id_proposals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["proposal_versions.id"],
            name=op.f("fk_proposal_views_version_id_proposal_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_views")),
    )
    with op.batch_alter_table("proposal_views", schema=None) as batch_op:
        batch_op.create_index("ix_proposal_views_proposal_id", ["proposal_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("proposal_views", schema=None) as batch_op:
        batch_op.drop_index("ix_proposal_views_proposal_id")

    op.drop_table("proposal_views")
    op.drop_table("proposal_versions")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_prospect_id")
        batch_op.drop_index("ix_files_customer_id")

    op.drop_table("files")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_prospect_id")

    op.drop_table("proposals")
