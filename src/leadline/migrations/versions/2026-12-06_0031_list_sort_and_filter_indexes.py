"""the prospect list's sorts and filters read from indexes: tier, grid health, owner, do-not-contact

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06

At a million prospects a sort by tier or grid health sorted every row, and an owner or
do-not-contact filter (and its count) read every row. Each now has an index; the sort indexes end
with the id, as the list orders its ties.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: dict[str, list[str | sa.TextClause]] = {
    "ix_prospects_tier_id": ["tier", "id"],
    "ix_prospects_grid_health_id": [sa.text("COALESCE(grid_health, -1)"), "id"],
    "ix_prospects_owner": ["owner"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "prospects", columns)
    # Only the (few) do-not-contact prospects, newest first: the filter's page and count read just them.
    op.create_index(
        "ix_prospects_do_not_contact", "prospects", ["created_at", "id"],
        sqlite_where=sa.text("do_not_contact"), postgresql_where=sa.text("do_not_contact"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_prospects_do_not_contact", table_name="prospects")
    for name in INDEXES:
        op.drop_index(name, table_name="prospects")
