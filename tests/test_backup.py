"""`leadline backup` and `leadline restore`: a consistent copy while writes go on, and back."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tests.conftest import Cli
from tests.factories import count, make_prospect, snapshot


def test_backup_and_restore_round_trip(cli, settings, tmp_path):
    for n in range(5):
        make_prospect(settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com")
    before = snapshot(settings)
    target = tmp_path / "leadline-backup.db"
    if not settings.database_url.startswith("sqlite"):
        target = tmp_path / "leadline.dump"
    result = cli("backup", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Backed up to {target}")
    cli("prospects", "add", "--name", "Later Shop", "--email", "later@shop.com")
    assert count(settings, "prospects") == 6
    restored = cli("restore", str(target), "--yes")
    assert restored.exit_code == 0, restored.stderr
    assert snapshot(settings) == before
    again = cli("backup", str(target))
    assert again.exit_code == 1 and "exists; give --force" in again.stderr


def test_backup_of_sqlite_is_consistent_while_it_is_written(sqlite_settings, tmp_path):
    """A writer adds prospects (each with its timeline entry) during the backup: the copy holds
    one moment, whole pairs only, and passes SQLite's integrity check."""
    cli = Cli(sqlite_settings)
    for n in range(2000):  # enough pages that the copy takes several steps
        make_prospect(sqlite_settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com", notes="x" * 2000)
    stop = threading.Event()

    def write() -> None:
        n = 1000
        while not stop.is_set():
            make_prospect(sqlite_settings, name=f"Busy {n}", email=f"b{n}@busy{n}.com")
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        target = tmp_path / "copy.db"
        assert cli("backup", str(target)).exit_code == 0
    finally:
        stop.set()
        writer.join()
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        prospects = copy.execute("SELECT count(*) FROM prospects").fetchone()[0]
        created = copy.execute("SELECT count(*) FROM outreach_activities WHERE type = 'created'").fetchone()[0]
    assert prospects >= 2000 and created == prospects


def test_restore_refuses_what_is_not_a_leadline_backup(sqlite_settings, tmp_path):
    cli = Cli(sqlite_settings)
    make_prospect(sqlite_settings, name="Kept Shop", email="kept@shop.com")
    before = snapshot(sqlite_settings)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    for path, message in (
        (junk, "is not a SQLite database"),
        (other, "is not a Leadline database"),
        (tmp_path / "missing.db", "does not exist"),
    ):
        result = cli("restore", str(path), "--yes")
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(sqlite_settings) == before
    assert not list(Path(sqlite_settings.data_dir).glob("*.before-restore-*"))
