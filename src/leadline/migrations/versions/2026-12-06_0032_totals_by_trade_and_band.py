"""maintained totals by trade and grid-health band: the conversion table

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06

``analytics_totals`` gets two more key columns, ``trade`` and ``band`` (the grid-health band), for
the "what works" conversion table (prospects, contacted, replied, ... by trade, tier and band),
which read every prospect's events. The table is built again with its new key and filled from the
rows by the same code as ``leadline analytics recount``. Downgrade keeps the other figures' totals
(none of them kept by trade or band) under the old key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ["figure", "start_day", "event_day", "template", "sender", "tier"]


def _create(name: str, key: list[str]) -> None:
    extra = [sa.Column(column, sa.String(length=80 if column == "trade" else 10), nullable=False)
             for column in key if column in ("trade", "band")]  # fmt: skip
    op.create_table(
        name,
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("start_day", sa.Integer(), nullable=False),
        sa.Column("event_day", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        *extra,
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_analytics_totals")),
    )


def upgrade() -> None:
    op.drop_table("analytics_totals")
    _create("analytics_totals", [*OLD_KEY, "trade", "band"])
    from alembic import context

    from leadline.analytics import totals
    from leadline.config import Settings, get_settings

    settings = context.config.attributes.get("settings")
    totals.recount(op.get_bind(), (settings if isinstance(settings, Settings) else get_settings()).zone)


def downgrade() -> None:
    columns = ", ".join(OLD_KEY)
    op.execute("ALTER TABLE analytics_totals RENAME TO analytics_totals_0032")
    if op.get_bind().dialect.name == "postgresql":  # the name of the key's constraint goes with the table
        op.execute(
            "ALTER TABLE analytics_totals_0032 RENAME CONSTRAINT pk_analytics_totals TO pk_analytics_totals_0032"
        )
    _create("analytics_totals", OLD_KEY)
    op.execute(
        f"INSERT INTO analytics_totals ({columns}, n, amount) SELECT {columns}, SUM(n), SUM(amount)"
        f" FROM analytics_totals_0032 WHERE substr(figure, 1, 11) <> 'conversion.' GROUP BY {columns}"
    )
    op.drop_table("analytics_totals_0032")
