"""senders: From identities with their own cap, warm-up, gap, window and status; every email's sender

Revision ID: 0022
Revises: 0023
Create Date: 2026-12-05

Data step: a database that has sent email gets its first sender from the single-sender settings
(LEADLINE_SENDER_EMAIL, LEADLINE_SENDER_NAME, LEADLINE_DAILY_SEND_LIMIT), every existing email is
recorded as sent by it and the daily counts so far are its own. A fresh database gets it from
``leadline init`` (or from the first send).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import leadline.db
from leadline.clock import utc_now
from leadline.ids import new_id

revision: str = "0022"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "senders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("warmup_start", sa.Integer(), nullable=True),
        sa.Column("warmup_step", sa.Integer(), nullable=False),
        sa.Column("warmup_max", sa.Integer(), nullable=True),
        sa.Column("min_gap_seconds", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.String(length=5), nullable=True),
        sa.Column("window_end", sa.String(length=5), nullable=True),
        sa.Column("window_days", sa.String(length=40), nullable=True),
        sa.Column("window_zone", sa.String(length=64), nullable=True),
        sa.Column("credentials_env", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("paused_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_send_on", sa.Date(), nullable=True),
        sa.Column("last_claim_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active','paused')", name=op.f("ck_senders_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_senders")),
        sa.UniqueConstraint("email", name=op.f("uq_senders_email")),
    )
    op.create_table(
        "sender_daily_counts",
        sa.Column("sender_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["senders.id"], name=op.f("fk_sender_daily_counts_sender_id_senders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sender_id", "day", name=op.f("pk_sender_daily_counts")),
    )
    op.create_table(
        "sender_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("sender_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", leadline.db.JSONType, nullable=False),
        sa.Column("created_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["senders.id"], name=op.f("fk_sender_events_sender_id_senders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_events")),
    )
    op.create_index("ix_sender_events_sender_id_created_at", "sender_events", ["sender_id", "created_at"])
    with op.batch_alter_table("email_activities") as batch:
        batch.add_column(sa.Column("from_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("sender_id", sa.String(length=40), nullable=True))
    op.create_index("ix_email_activities_sender_id_sent_at", "email_activities", ["sender_id", "sent_at"])
    _first_sender()


def _first_sender() -> None:
    """The single-sender settings become the first sender of a database that has sent email."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM email_activities LIMIT 1")).first() is None:
        return
    settings = context.config.attributes.get("settings")
    email = str(getattr(settings, "sender_email", "sales@example.com")).strip().lower()
    name = str(getattr(settings, "sender_name", "Leadline"))[:200]
    cap = int(getattr(settings, "daily_send_limit", 50))
    now = utc_now()
    senders = sa.table(
        "senders", *(sa.column(c) for c in ("id", "email", "name", "daily_cap", "warmup_step", "min_gap_seconds",
                                             "status", "created_at", "updated_at"))
    )  # fmt: skip
    sender_id = new_id("snd")
    op.execute(
        senders.insert().values(id=sender_id, email=email, name=name, daily_cap=cap, warmup_step=0,
                                min_gap_seconds=0, status="active", created_at=now, updated_at=now)
    )  # fmt: skip
    bind.execute(sa.text("UPDATE email_activities SET sender_id = :s WHERE sender_id IS NULL"), {"s": sender_id})
    bind.execute(
        sa.text("INSERT INTO sender_daily_counts (sender_id, day, sent) SELECT :s, day, sent FROM daily_send_counts"),
        {"s": sender_id},
    )


def downgrade() -> None:
    op.drop_index("ix_email_activities_sender_id_sent_at", table_name="email_activities")
    with op.batch_alter_table("email_activities") as batch:
        batch.drop_column("sender_id")
        batch.drop_column("from_name")
    op.drop_index("ix_sender_events_sender_id_created_at", table_name="sender_events")
    op.drop_table("sender_events")
    op.drop_table("sender_daily_counts")
    op.drop_table("senders")
