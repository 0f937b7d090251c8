"""indexes on the likely-duplicate keys of prospects

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-05

`leadline prospects duplicates` groups prospects by their phone digits, website host and name and
city; these expression indexes let the database read the keys from an index instead of computing
them for every prospect (200,000 prospects: from seconds to milliseconds). PostgreSQL gets an
``instr`` function (``strpos``), so that the expressions are the same SQL text on both databases.
The expressions are frozen here, as this revision wrote them (``prospects/dupkeys.py`` has the live ones).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _strip(expression: str, characters: str) -> str:
    for character in characters:
        quoted = character.replace("'", "''")
        expression = f"replace({expression}, '{quoted}', '')"
    return expression


_DIGITS = _strip("phone", " -().+/")
_HOST = "replace(replace(replace(lower(trim(website)), 'https://', ''), 'http://', ''), 'www.', '')"
INDEXES = {
    "ix_prospects_dup_phone": (
        f"CASE WHEN length({_DIGITS}) > 10 THEN substr({_DIGITS}, length({_DIGITS}) - 9) ELSE {_DIGITS} END"
    ),
    "ix_prospects_dup_website": (
        f"CASE WHEN instr({_HOST}, '/') > 0 THEN substr({_HOST}, 1, instr({_HOST}, '/') - 1) ELSE {_HOST} END"
    ),
    "ix_prospects_dup_name_city": (
        _strip("lower(trim(name))", " .,'-&!\"") + " || '|' || " + _strip("lower(trim(city))", " .,'-")
    ),
}
POSTGRES_INSTR = (
    "CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT strpos(haystack, needle)'"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_INSTR)
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON prospects (({expression}))")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION instr(text, text)")
