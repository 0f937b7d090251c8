"""clicks by people and by machines, and clicks per link

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``email_activities.machine_click_count`` counts the clicks that look automated (link
scanners), apart from ``click_count``; ``email_link_clicks`` holds each email's clicks per
link. Both are recomputed from an email's stored events whenever an event of it is applied.

Existing emails: their stored click events are not re-read here (a migration does not apply
events, and the rule needs the settings): run ``leadline webhooks recount-clicks`` once after
upgrading, or an email clicked before this revision keeps its counts until its next event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import leadline.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("email_activities") as batch:
        batch.add_column(sa.Column("machine_click_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "email_link_clicks",
        sa.Column("email_activity_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("human_clicks", sa.Integer(), nullable=False),
        sa.Column("machine_clicks", sa.Integer(), nullable=False),
        sa.Column("first_clicked_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_human_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["email_activity_id"], ["email_activities.id"],
            name=op.f("fk_email_link_clicks_email_activity_id_email_activities"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email_activity_id", "url", name=op.f("pk_email_link_clicks")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("email_link_clicks")
    with op.batch_alter_table("email_activities") as batch:
        batch.drop_column("machine_click_count")
