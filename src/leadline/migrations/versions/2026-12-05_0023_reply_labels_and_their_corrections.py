"""reply labels and their corrections

Revision ID: 0023
Revises: 0026
Create Date: 2026-12-05

Each reply (Inbound Parse or logged by hand) gets a label with its reason, who set it (a rule or
a person) and any date or person it names; a person's corrections are kept in their own table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadline.db

revision: str = "0023"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_labels",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("email_activity_id", sa.String(length=40), nullable=True),
        sa.Column("inbound_id", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=10), nullable=False),
        sa.Column("set_by_actor", sa.String(length=200), nullable=False),
        sa.Column("rule_label", sa.String(length=30), nullable=False),
        sa.Column("named_date", sa.Date(), nullable=True),
        sa.Column("named_person", sa.String(length=200), nullable=True),
        sa.Column("named_email", sa.String(length=320), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column(
            "action_detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "label IN ('interested','meeting_request','not_interested','not_now','unsubscribe_request','referral','out_of_office','auto_reply','bounce_like','other')",
            name=op.f("ck_reply_labels_label_known"),
        ),
        sa.CheckConstraint(
            "rule_label IN ('interested','meeting_request','not_interested','not_now','unsubscribe_request','referral','out_of_office','auto_reply','bounce_like','other')",
            name=op.f("ck_reply_labels_rule_label_known"),
        ),
        sa.CheckConstraint("set_by IN ('rule','person')", name=op.f("ck_reply_labels_set_by_known")),
        sa.CheckConstraint("source IN ('inbound','manual')", name=op.f("ck_reply_labels_source_known")),
        sa.ForeignKeyConstraint(
            ["email_activity_id"],
            ["email_activities.id"],
            name=op.f("fk_reply_labels_email_activity_id_email_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"], ["prospects.id"], name=op.f("fk_reply_labels_prospect_id_prospects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_labels")),
    )
    with op.batch_alter_table("reply_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_labels_email_activity_id"), ["email_activity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reply_labels_inbound_id"), ["inbound_id"], unique=False)
        batch_op.create_index("ix_reply_labels_label_received_at", ["label", "received_at"], unique=False)
        batch_op.create_index("ix_reply_labels_prospect_id_received_at", ["prospect_id", "received_at"], unique=False)

    op.create_table(
        "reply_label_changes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reply_id", sa.String(length=40), nullable=False),
        sa.Column("from_label", sa.String(length=30), nullable=False),
        sa.Column("to_label", sa.String(length=30), nullable=False),
        sa.Column("from_set_by", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["reply_labels.id"],
            name=op.f("fk_reply_label_changes_reply_id_reply_labels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_label_changes")),
    )
    with op.batch_alter_table("reply_label_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_label_changes_reply_id"), ["reply_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reply_label_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_label_changes_reply_id"))

    op.drop_table("reply_label_changes")
    with op.batch_alter_table("reply_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_labels_prospect_id_received_at")
        batch_op.drop_index("ix_reply_labels_label_received_at")
        batch_op.drop_index(batch_op.f("ix_reply_labels_inbound_id"))
        batch_op.drop_index(batch_op.f("ix_reply_labels_email_activity_id"))

    op.drop_table("reply_labels")
