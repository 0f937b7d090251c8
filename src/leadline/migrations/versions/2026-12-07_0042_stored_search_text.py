"""PostgreSQL: a prospect's searchable text stored in its row, and the trigram index on it

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07

Migration 0018 indexed an expression of each table on PostgreSQL (pg_trgm). A trigram index
only narrows the rows down: each row it finds is checked again against the expression, and the
prospects' expression strips the phone number to its digits with ``regexp_replace``, about 3 µs
a row. A search matching 100,000 of a million prospects spent most of its count in that check,
and a list sorted by name that walked its index to find its matches paid it at every row it
passed. The same text is now a stored generated column, ``search_text``, which PostgreSQL keeps
by itself on every write (the ORM, bulk imports, raw SQL), and the trigram index is on that
column: the check reads the stored text. SQLite is unchanged (its FTS5 tables hold the text).

Adding a stored column rewrites the table (about 40 s at a million prospects, under a lock that
holds writers and readers of ``prospects`` back meanwhile).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Migration 0018's text of a prospect on PostgreSQL (copied: a migration does not change when the code does).
TEXT = (
    "lower(coalesce(name, '') || ' ' || coalesce(contact_name, '') || ' ' || coalesce(email, '') || ' ' "
    "|| coalesce(city, '') || ' ' || id || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE prospects ADD COLUMN search_text text GENERATED ALWAYS AS ({TEXT}) STORED")
    op.execute("DROP INDEX search_prospects")
    op.execute("CREATE INDEX search_prospects ON prospects USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX search_prospects")
    op.execute("ALTER TABLE prospects DROP COLUMN search_text")
    op.execute(f"CREATE INDEX search_prospects ON prospects USING gin (({TEXT}) gin_trgm_ops)")
