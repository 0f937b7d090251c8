"""`leadline export --all` / `leadline import --all`: a whole database from SQLite to PostgreSQL
and back, every table compared; bad files and non-empty targets change nothing."""

from __future__ import annotations

import ast
import json

import pytest

from leadline import transfer
from leadline.config import Settings
from leadline.db import dispose_engines
from tests.conftest import Cli, _postgres_reason, require_service, truncate_postgres
from tests.factories import count, snapshot


def same_json(tables: dict[str, list[tuple[str, ...]]]) -> dict[str, list[tuple[str, ...]]]:
    """A snapshot with JSON text put in one key order (PostgreSQL keeps its own order, SQLite the writer's)."""

    def one(shown: str) -> str:
        value = ast.literal_eval(shown) if shown.startswith("'") else None
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                return json.dumps(json.loads(value), sort_keys=True)
            except ValueError:  # text that only starts like JSON
                return shown
        return shown

    return {name: sorted(tuple(map(one, row)) for row in rows) for name, rows in tables.items()}


def on(settings: Settings, url: str) -> Settings:
    """The same settings on another database."""
    dispose_engines()
    return settings.model_copy(update={"database_url": url})


@pytest.mark.postgres
def test_a_whole_database_goes_to_postgresql_and_back_unchanged(sqlite_settings, tmp_path, request):
    require_service(_postgres_reason())
    pg_url = request.getfixturevalue("postgres_url")
    cli = Cli(sqlite_settings)
    assert cli("demo").exit_code == 0
    started = cli("sequences", "start", "--template", "follow_up_1", "--tier", "2", "--limit", "5", "--at",
                  "2099-01-05 09:00")  # fmt: skip
    assert started.exit_code == 0, started.stderr
    from_sqlite = tmp_path / "from-sqlite.jsonl"
    result = cli("export", "--all", "-o", str(from_sqlite))
    assert result.exit_code == 0, result.stderr
    assert "tables to" in result.stdout
    on_sqlite = snapshot(sqlite_settings)
    truncate_postgres(pg_url)
    postgres = on(sqlite_settings, pg_url)
    loaded = Cli(postgres)("import", "--all", str(from_sqlite))
    assert loaded.exit_code == 0, loaded.stderr
    # 5 started here and the 22 tier-1 follow-ups the demo starts itself (issue 15).
    assert count(postgres, "prospects") == 340 and count(postgres, "sequence_enrollments") == 27
    from_postgres = tmp_path / "from-postgres.jsonl.gz"
    assert Cli(postgres)("export", "--all", "-o", str(from_postgres)).exit_code == 0
    again = on(sqlite_settings, f"sqlite:///{tmp_path / 'again.db'}")
    assert Cli(again)("init").exit_code == 0
    assert Cli(again)("import", "--all", str(from_postgres)).exit_code == 0
    data = {name: rows for name, rows in same_json(on_sqlite).items() if name not in transfer.WORKING_TABLES}
    assert {
        name: rows for name, rows in same_json(snapshot(again)).items() if name not in transfer.WORKING_TABLES
    } == data
    # every row of every table, as it was (an import's journal is the importing process's, not data)
    back = tmp_path / "back.jsonl"
    assert Cli(again)("export", "--all", "-o", str(back)).exit_code == 0
    assert back.read_bytes() == from_sqlite.read_bytes()  # the same file whichever database it came from
    on(sqlite_settings, pg_url)
    truncate_postgres(pg_url)


def test_import_refuses_bad_files_and_databases_that_are_not_empty(sqlite_settings, tmp_path):
    cli = Cli(sqlite_settings)
    assert cli("demo").exit_code == 0
    good = tmp_path / "all.jsonl"
    assert cli("export", "--all", "-o", str(good)).exit_code == 0
    again = cli("export", "--all", "-o", str(good))
    assert again.exit_code == 1 and "exists; give --force" in again.stderr
    before = snapshot(sqlite_settings)
    busy = cli("import", "--all", str(good))
    assert busy.exit_code == 1 and "the database is not empty" in busy.stderr
    assert snapshot(sqlite_settings) == before
    empty = on(sqlite_settings, f"sqlite:///{tmp_path / 'empty.db'}")
    cli = Cli(empty)
    assert cli("init").exit_code == 0
    lines = good.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: len(lines) // 2]))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines[:3]) + "{not json\n")
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": "world"}\n')
    for path, message in (
        (cut, "cut short"),
        (broken, "line 4 is not JSON"),
        (other, "not a `leadline export --all` file"),
        (tmp_path / "missing.jsonl", "does not exist"),
    ):
        result = cli("import", "--all", str(path))
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert count(empty, "prospects") == 0 and count(empty, "outreach_activities") == 0  # all or nothing
    plain = cli("import", str(good))
    assert plain.exit_code == 1 and "give --all" in plain.stderr
