"""sequences, scheduled sends, notification delivery

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Follow-up sequences and their enrollments; emails remember the sequence step they were
(sent at most once: a unique pair) and whether --force sent them; notifications get a
'sending' claim, a retry time and the channels that got them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadline.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "steps", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequences")),
    )
    op.create_table(
        "sequence_enrollments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("sequence_id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("next_send_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("thread_message_id", sa.String(length=300), nullable=True),
        sa.Column("thread_root_email_id", sa.String(length=40), nullable=True),
        sa.Column("last_email_id", sa.String(length=40), nullable=True),
        sa.Column("last_sent_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active','completed','stopped')", name=op.f("ck_sequence_enrollments_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_sequence_enrollments_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["sequences.id"],
            name=op.f("fk_sequence_enrollments_sequence_id_sequences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_enrollments")),
    )
    with op.batch_alter_table("sequence_enrollments", schema=None) as batch_op:
        batch_op.create_index("ix_sequence_enrollments_prospect_id_status", ["prospect_id", "status"], unique=False)
        batch_op.create_index("ix_sequence_enrollments_status_next_send_at", ["status", "next_send_at"], unique=False)

    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("sequence_enrollment_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("sequence_step", sa.Integer(), nullable=True))
        batch_op.create_index("ix_email_activities_status_scheduled_at", ["status", "scheduled_at"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_email_activities_sequence_enrollment_id_sequence_step"),
            ["sequence_enrollment_id", "sequence_step"],
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", leadline.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", leadline.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "channels",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.drop_constraint(op.f("ck_notifications_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", "status IN ('pending','sending','sent','failed','recorded')")


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", "status IN ('pending','sent','failed','recorded')")
        batch_op.drop_column("channels")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")

    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_email_activities_sequence_enrollment_id_sequence_step"), type_="unique")
        batch_op.drop_index("ix_email_activities_status_scheduled_at")
        batch_op.drop_column("sequence_step")
        batch_op.drop_column("sequence_enrollment_id")
        batch_op.drop_column("forced")

    with op.batch_alter_table("sequence_enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_sequence_enrollments_status_next_send_at")
        batch_op.drop_index("ix_sequence_enrollments_prospect_id_status")

    op.drop_table("sequence_enrollments")
    op.drop_table("sequences")
