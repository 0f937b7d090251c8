"""import runs (a journal) and the staging table: imports write in short transactions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

An import stages its valid rows (invisible to users), then publishes them into prospects in short
batch transactions; the run record says how far it got, so a killed import is rolled forward or
abandoned by the next start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadline.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("staged", sa.Integer(), nullable=False),
        sa.Column("published_seq", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("started_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", leadline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", leadline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('staging','publishing','done','abandoned')", name=op.f("ck_import_runs_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index("ix_import_runs_state", "import_runs", ["state"], unique=False)
    op.create_table(
        "import_staging",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("provided", JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_import_staging")),
    )
    op.create_index("ix_import_staging_run_id_target", "import_staging", ["run_id", "target"], unique=False)
    op.create_index("ix_import_staging_run_id_email", "import_staging", ["run_id", "email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_import_staging_run_id_email", table_name="import_staging")
    op.drop_index("ix_import_staging_run_id_target", table_name="import_staging")
    op.drop_table("import_staging")
    op.drop_index("ix_import_runs_state", table_name="import_runs")
    op.drop_table("import_runs")
