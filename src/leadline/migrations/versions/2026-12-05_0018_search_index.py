"""search index: prospects, customers, email subjects and call notes found as you type

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-05

SQLite: one FTS5 table per kind with the trigram tokenizer (any substring of three characters
or more is found through the index), kept by triggers on the source tables, so every writer
(the ORM, bulk imports, raw SQL) keeps it right. ``search_refs`` maps each source row to its
entry (the entry numbers are the FTS tables' rowids, which VACUUM keeps; the source tables'
own rowids it may not). PostgreSQL: a GIN trigram index (pg_trgm) on the same text, written
as an expression of each table, which PostgreSQL keeps by itself. The texts are those of
``leadline.search.index`` (copied here: a migration does not change when the code does).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIGITS = "replace(replace(replace(replace(replace(replace(coalesce({p}phone, ''), ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', '')"
#: kind -> (table, key column, columns whose change re-indexes, SQLite text of a row given a prefix)
KINDS = {
    "prospect": ("prospects", "id", ("id", "name", "contact_name", "email", "city", "phone"),
                 "lower(coalesce({p}name, '') || ' ' || coalesce({p}contact_name, '') || ' ' || coalesce({p}email, '')"
                 " || ' ' || coalesce({p}city, '') || ' ' || {p}id || ' ' || " + _DIGITS + ")"),
    "customer": ("customers", "id", ("company_name", "contact_name", "email"),
                 "lower(coalesce({p}company_name, '') || ' ' || coalesce({p}contact_name, '') || ' ' || "
                 "coalesce({p}email, ''))"),
    "email": ("email_activities", "id", ("subject",), "lower(coalesce({p}subject, ''))"),
    "call": ("call_activities", "id", ("notes", "next_steps"),
             "lower(coalesce({p}notes, '') || ' ' || coalesce({p}next_steps, ''))"),
}  # fmt: skip
#: PostgreSQL: the same texts as expressions of the table (phone digits by regexp).
PG_TEXTS = {
    "prospects": "lower(coalesce(name, '') || ' ' || coalesce(contact_name, '') || ' ' || coalesce(email, '') || ' ' "
                 "|| coalesce(city, '') || ' ' || id || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))",
    "customers": "lower(coalesce(company_name, '') || ' ' || coalesce(contact_name, '') || ' ' || coalesce(email, ''))",
    "email_activities": "lower(coalesce(subject, ''))",
    "call_activities": "lower(coalesce(notes, '') || ' ' || coalesce(next_steps, ''))",
}  # fmt: skip


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE TABLE search_refs (entry INTEGER PRIMARY KEY, kind VARCHAR(20) NOT NULL, ref_id VARCHAR(80) NOT NULL, "
        "UNIQUE (kind, ref_id))"
    )
    for kind, (table, key, columns, text) in KINDS.items():
        fts = f"search_{table}"
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(body, tokenize = 'trigram')")
        ref = f"(SELECT entry FROM search_refs WHERE kind = '{kind}' AND ref_id = {{row}}.{key})"
        op.execute(
            f"CREATE TRIGGER {fts}_added AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO search_refs (kind, ref_id) VALUES ('{kind}', new.{key}); "
            f"INSERT INTO {fts} (rowid, body) VALUES (last_insert_rowid(), {text.format(p='new.')}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_changed AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = {ref.format(row='old')}; "
            f"UPDATE search_refs SET ref_id = new.{key} WHERE kind = '{kind}' AND ref_id = old.{key}; "
            f"INSERT INTO {fts} (rowid, body) VALUES ({ref.format(row='new')}, {text.format(p='new.')}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_removed AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = {ref.format(row='old')}; "
            f"DELETE FROM search_refs WHERE kind = '{kind}' AND ref_id = old.{key}; END"
        )
        op.execute(f"INSERT INTO search_refs (kind, ref_id) SELECT '{kind}', {key} FROM {table} ORDER BY {key}")
        op.execute(
            f"INSERT INTO {fts} (rowid, body) SELECT r.entry, {text.format(p='t.')} FROM {table} t "
            f"JOIN search_refs r ON r.kind = '{kind}' AND r.ref_id = t.{key}"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, text in PG_TEXTS.items():
        op.execute(f"CREATE INDEX search_{table} ON {table} USING gin (({text}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for _kind, (table, *_rest) in KINDS.items():
            for suffix in ("added", "changed", "removed"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS search_{table}")
        op.execute("DROP TABLE IF EXISTS search_refs")
        return
    for table in PG_TEXTS:
        op.execute(f"DROP INDEX IF EXISTS search_{table}")
