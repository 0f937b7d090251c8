"""The text index that makes search fast, read here; it is made and kept by the database itself
(migration 0018): on SQLite an FTS5 trigram table per kind kept by triggers, on PostgreSQL a
GIN trigram index on an expression of each table (of the prospects, on the column that stores it:
migration 0042).

A term (three characters or more: the service refuses fewer) is found through the index on
both databases (SQLite: an FTS5 phrase, which with the trigram tokenizer matches any substring;
PostgreSQL: ``LIKE``, which pg_trgm's index answers).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from leadline.prospects import queries

#: Hits shown of each kind.
LIMIT = 8
#: Matches of each kind read to rank: a name starting with the text is found among more than the first 8.
CANDIDATES = 40
#: kind -> its table
TABLES = {"prospect": "prospects", "customer": "customers", "email": "email_activities", "call": "call_activities"}
#: PostgreSQL: the indexed text of each table: an expression exactly as migration 0018 wrote it
#: (PostgreSQL uses an expression index only for the same expression), or the prospects' stored column.
PG_TEXTS = {
    "prospects": queries.PG_SEARCH_TEXT,
    "customers": "lower(coalesce(company_name, '') || ' ' || coalesce(contact_name, '') || ' ' || coalesce(email, ''))",
    "email_activities": "lower(coalesce(subject, ''))",
    "call_activities": "lower(coalesce(notes, '') || ' ' || coalesce(next_steps, ''))",
}  # fmt: skip


def matching_ids(session: Session, kind: str, term: str, *, limit: int = CANDIDATES) -> list[str]:
    """The ids of up to ``limit`` rows of ``kind`` whose indexed text holds ``term`` (lower case)."""
    table = TABLES[kind]
    if session.get_bind().dialect.name == "sqlite":
        if len(term) >= 3:
            phrase = '"' + term.replace('"', '""') + '"'
            where, value = f"search_{table} MATCH :term", phrase
        else:
            where, value = "instr(f.body, :term) > 0", term
        statement = (
            f"SELECT r.ref_id FROM search_{table} f JOIN search_refs r ON r.entry = f.rowid WHERE {where} "
            f"LIMIT {int(limit)}"
        )
        return list(session.scalars(text(statement), {"term": value}))
    needle = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    statement = f"SELECT id FROM {table} WHERE {PG_TEXTS[table]} LIKE :term ESCAPE '\\' LIMIT {int(limit)}"
    return list(session.scalars(text(statement), {"term": needle}))
