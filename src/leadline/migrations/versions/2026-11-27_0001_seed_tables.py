"""seed tables

Revision ID: 0001
Revises:
Create Date: 2026-11-27

The seed's tables with every field it lists: prospects (Phase 2 research fields and the
sales fields of Table 4), generated posts, the outreach timeline, emails, calls, customers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadline.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prospects",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trade", sa.String(length=80), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=120), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("grid_health", sa.Double(), nullable=True),
        sa.Column("critical_gaps", sa.Integer(), nullable=True),
        sa.Column(
            "gaps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("top_competitor", sa.String(length=200), nullable=True),
        sa.Column("competitor_health", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sales_status", sa.String(length=20), nullable=False),
        sa.Column("last_contact_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_follow_up_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("emails_sent_count", sa.Integer(), nullable=False),
        sa.Column("emails_opened_count", sa.Integer(), nullable=False),
        sa.Column("calls_scheduled_count", sa.Integer(), nullable=False),
        sa.Column("calls_completed_count", sa.Integer(), nullable=False),
        sa.Column("deal_value", sa.Double(), nullable=True),
        sa.Column("close_date", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column("do_not_contact_reason", sa.String(length=200), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("last_import_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sales_status IN ('new','contacted','replied','scheduled','interested','proposal','closed_won','closed_lost')",
            name=op.f("ck_prospects_sales_status_known"),
        ),
        sa.CheckConstraint(
            "competitor_health IS NULL OR (competitor_health >= 0 AND competitor_health <= 100)",
            name=op.f("ck_prospects_competitor_health_range"),
        ),
        sa.CheckConstraint(
            "grid_health IS NULL OR (grid_health >= 0 AND grid_health <= 100)",
            name=op.f("ck_prospects_grid_health_range"),
        ),
        sa.CheckConstraint("tier IN (1, 2, 3)", name=op.f("ck_prospects_tier_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospects")),
        sa.UniqueConstraint("email", name=op.f("uq_prospects_email")),
    )
    with op.batch_alter_table("prospects", schema=None) as batch_op:
        batch_op.create_index("ix_prospects_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_prospects_sales_status_tier", ["sales_status", "tier"], unique=False)
        batch_op.create_index("ix_prospects_trade", ["trade"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("monthly_fee", sa.Double(), nullable=False),
        sa.Column("start_date", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contract_url", sa.String(length=1000), nullable=True),
        sa.Column("signed_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("primary_contact", sa.String(length=200), nullable=True),
        sa.Column("slack_channel", sa.String(length=200), nullable=True),
        sa.Column("google_drive_folder", sa.String(length=1000), nullable=True),
        sa.Column("initial_grid_health", sa.Double(), nullable=True),
        sa.Column("current_grid_health", sa.Double(), nullable=True),
        sa.Column("impressions_generated", sa.Integer(), nullable=True),
        sa.Column("leads_generated", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "service_type IN ('grid_health_analysis','content_generation','paid_ads')",
            name=op.f("ck_customers_service_known"),
        ),
        sa.CheckConstraint("status IN ('active','paused','churned')", name=op.f("ck_customers_status_known")),
        sa.CheckConstraint("monthly_fee >= 0", name=op.f("ck_customers_fee_positive")),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_customers_prospect_id_prospects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("prospect_id", name=op.f("uq_customers_prospect_id")),
    )
    op.create_table(
        "generated_posts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column(
            "hashtags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cta", sa.String(length=300), nullable=True),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("video_script", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_for", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'scheduled')", name=op.f("ck_generated_posts_status_known")),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_generated_posts_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_posts")),
    )
    with op.batch_alter_table("generated_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generated_posts_prospect_id"), ["prospect_id"], unique=False)

    op.create_table(
        "outreach_activities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_outreach_activities_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_activities")),
    )
    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_activities_prospect_id_created_at", ["prospect_id", "created_at"], unique=False
        )

    op.create_table(
        "call_activities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("outreach_activity_id", sa.String(length=40), nullable=True),
        sa.Column("scheduled_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "objections",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "objection_categories",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("recording_url", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("ics_sequence", sa.Integer(), nullable=False),
        sa.Column("reminded_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('pending','interested','not_interested','follow_up','proposal_sent','closed_won')",
            name=op.f("ck_call_activities_outcome_known"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled','completed','cancelled','no_show')",
            name=op.f("ck_call_activities_status_known"),
        ),
        sa.CheckConstraint("duration IS NULL OR duration >= 0", name=op.f("ck_call_activities_duration_positive")),
        sa.ForeignKeyConstraint(
            ["outreach_activity_id"],
            ["outreach_activities.id"],
            name=op.f("fk_call_activities_outreach_activity_id_outreach_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_call_activities_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_activities")),
    )
    with op.batch_alter_table("call_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_activities_prospect_id_scheduled_at", ["prospect_id", "scheduled_at"], unique=False
        )
        batch_op.create_index("ix_call_activities_status_scheduled_at", ["status", "scheduled_at"], unique=False)

    op.create_table(
        "email_activities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.String(length=80), nullable=False),
        sa.Column("outreach_activity_id", sa.String(length=40), nullable=True),
        sa.Column("sendgrid_id", sa.String(length=100), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("email_type", sa.String(length=40), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("from_email", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("thread_root_id", sa.String(length=40), nullable=True),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("backend", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scheduled_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("send_attempted_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("machine_open_count", sa.Integer(), nullable=False),
        sa.Column("clicked_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("click_count", sa.Integer(), nullable=False),
        sa.Column("replied_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("bounced_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bounce_reason", sa.Text(), nullable=True),
        sa.Column("bounce_type", sa.String(length=20), nullable=True),
        sa.Column("failed_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("spam_reported_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled','pending','sending','unknown','sent','delivered','opened','clicked','replied','bounced','failed','cancelled')",
            name=op.f("ck_email_activities_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["outreach_activity_id"],
            ["outreach_activities.id"],
            name=op.f("fk_email_activities_outreach_activity_id_outreach_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_email_activities_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_activities")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_activities_message_id")),
    )
    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.create_index("ix_email_activities_prospect_id_created_at", ["prospect_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_email_activities_sendgrid_id"), ["sendgrid_id"], unique=False)
        batch_op.create_index("ix_email_activities_sent_at", ["sent_at"], unique=False)
        batch_op.create_index("ix_email_activities_status", ["status"], unique=False)
        batch_op.create_index("ix_email_activities_to_email", ["to_email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_email_activities_to_email")
        batch_op.drop_index("ix_email_activities_status")
        batch_op.drop_index("ix_email_activities_sent_at")
        batch_op.drop_index(batch_op.f("ix_email_activities_sendgrid_id"))
        batch_op.drop_index("ix_email_activities_prospect_id_created_at")

    op.drop_table("email_activities")
    with op.batch_alter_table("call_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_call_activities_status_scheduled_at")
        batch_op.drop_index("ix_call_activities_prospect_id_scheduled_at")

    op.drop_table("call_activities")
    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_activities_prospect_id_created_at")

    op.drop_table("outreach_activities")
    with op.batch_alter_table("generated_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generated_posts_prospect_id"))

    op.drop_table("generated_posts")
    op.drop_table("customers")
    with op.batch_alter_table("prospects", schema=None) as batch_op:
        batch_op.drop_index("ix_prospects_trade")
        batch_op.drop_index("ix_prospects_sales_status_tier")
        batch_op.drop_index("ix_prospects_created_at_id")

    op.drop_table("prospects")
