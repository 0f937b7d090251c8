"""indexes for analytics

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_activities", schema=None) as batch_op:
        batch_op.create_index("ix_call_activities_completed_at", ["completed_at"], unique=False)
        batch_op.create_index("ix_call_activities_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_activities_replies", ["replied_at", "prospect_id", "sent_at", "template"], unique=False
        )
        batch_op.create_index(
            "ix_email_activities_week",
            [
                "sent_at",
                "status",
                "delivered_at",
                "bounced_at",
                "opened_at",
                "open_count",
                "machine_open_count",
                "click_count",
                "replied_at",
                "template",
                "prospect_id",
            ],
            unique=False,
        )

    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_activities_prospect_id_type_status", ["prospect_id", "type", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_activities_prospect_id_type_status")

    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_email_activities_week")
        batch_op.drop_index("ix_email_activities_replies")

    with op.batch_alter_table("call_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_call_activities_created_at")
        batch_op.drop_index("ix_call_activities_completed_at")
