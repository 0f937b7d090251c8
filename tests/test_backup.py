"""`leadline backup` and `leadline restore`: a consistent copy while writes go on, and back."""

from __future__ import annotations

import io
import sqlite3
import tarfile
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
    with tarfile.open(target) as tar:
        tar.extract("leadline.db", tmp_path, filter="data")
    with sqlite3.connect(tmp_path / "leadline.db") as copy:
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


def test_a_backup_from_before_the_archive_format_still_restores(sqlite_settings, tmp_path):
    """A bare SQLite file (what `leadline backup` wrote before it kept the keys) restores, with a warning."""
    cli = Cli(sqlite_settings)
    make_prospect(sqlite_settings, name="Old Shop", email="old@shop.com")
    before = snapshot(sqlite_settings)
    old = tmp_path / "old-style.db"
    with sqlite3.connect(Path(sqlite_settings.data_dir) / "leadline.db") as src, sqlite3.connect(old) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    make_prospect(sqlite_settings, name="Later Shop", email="later@shop.com")
    result = cli("restore", str(old), "--yes")
    assert result.exit_code == 0, result.stderr
    assert "from before keys were kept in backups" in result.stderr
    assert snapshot(sqlite_settings) == before


def test_restore_refuses_a_damaged_or_foreign_archive(sqlite_settings, tmp_path):
    cli = Cli(sqlite_settings)
    make_prospect(sqlite_settings, name="Kept Shop", email="kept@shop.com")
    good = tmp_path / "good.backup"
    assert cli("backup", str(good)).exit_code == 0
    before = snapshot(sqlite_settings)
    key_before = (Path(sqlite_settings.data_dir) / "secret_key").exists()

    damaged = tmp_path / "damaged.backup"
    with tarfile.open(good) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "keys.json":
                data = data.replace(b"secretKey", b"secretKez")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as dst:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        dst.addfile(info, io.BytesIO(b"{}"))
    for path, message in ((damaged, "keys.json does not match its checksum"), (foreign, "is not a Leadline backup")):
        result = cli("restore", str(path), "--yes")
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(sqlite_settings) == before
    assert (Path(sqlite_settings.data_dir) / "secret_key").exists() == key_before
    assert not list(Path(sqlite_settings.data_dir).glob("*.before-restore-*"))
    assert not [p for p in Path(sqlite_settings.data_dir).iterdir() if p.name.startswith(".restore.")]
