"""`leadline db upgrade` to an older revision says so and points to `leadline db downgrade`, which
asks first, takes a backup before it runs, and refuses to drop tables or columns without --yes.
Every step a real process."""

from __future__ import annotations

import sqlite3
import subprocess
import tarfile
from pathlib import Path

from tests.operations.conftest import leadline_env, ok
from tests.processes import EXE


def _leadline(env: dict[str, str], *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, input=answer, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def _schema(data: Path) -> str:
    with sqlite3.connect(data / "leadline.db") as connection:
        value = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    connection.close()
    return str(value)


def _backups(data: Path) -> list[str]:
    folder = data / "backups"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_upgrade_to_an_older_revision_points_to_downgrade(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = leadline_env(data)
    ok(env, "init")
    head = _schema(data)
    done = _leadline(env, "db", "upgrade", "0005")
    assert done.returncode == 1, done.stdout
    assert f"the database is at {head}, which is newer than 0005" in done.stderr
    assert "leadline db downgrade 0005" in done.stderr and "Traceback" not in done.stderr
    assert _schema(data) == head
    unknown = _leadline(env, "db", "upgrade", "0099")
    assert unknown.returncode == 1 and "no schema revision '0099'" in unknown.stderr


def test_downgrade_asks_backs_up_and_refuses_to_lose_data_without_yes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = leadline_env(data)
    ok(env, "init")
    ok(env, "prospects", "add", "--name", "Kept Plumbing", "--email", "owner@kept.example")
    head = _schema(data)
    assert head == "0015"  # the steps below name the migrations after it

    lossy = _leadline(env, "db", "downgrade", "0009", answer="y\n")  # a yes typed in is not enough
    assert lossy.returncode == 1, lossy.stdout
    assert "drops tables or columns" in lossy.stderr and "table login_throttle" in lossy.stderr
    assert "column inbound_messages.raw" in lossy.stdout
    assert _schema(data) == head and _backups(data) == []  # nothing changed, nothing written

    forced = _leadline(env, "db", "downgrade", "0009", "--yes")
    assert forced.returncode == 0, forced.stderr
    assert _schema(data) == "0009"
    [first] = _backups(data)
    assert first.startswith("leadline-0015-before-downgrade-to-0009-")
    with tarfile.open(data / "backups" / first) as tar:
        assert tar.getnames() == ["manifest.json", "keys.json", "leadline.db"]

    declined = _leadline(env, "db", "downgrade", "0008", answer="n\n")
    assert declined.returncode == 1 and "Downgrade the database to 0008?" in declined.stdout
    assert _schema(data) == "0009" and len(_backups(data)) == 1

    accepted = _leadline(env, "db", "downgrade", "0008", answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert _schema(data) == "0008" and len(_backups(data)) == 2
    assert "Schema 0009 -> 0008." in accepted.stdout

    newer = _leadline(env, "db", "downgrade", "0011", "--yes")
    assert newer.returncode == 1 and "leadline db upgrade 0011" in newer.stderr

    ok(env, "db", "upgrade")
    assert _schema(data) == head
    assert "Kept Plumbing" in ok(env, "prospects", "list").stdout

    # The backup taken before the first downgrade brings the schema and the data back as they were.
    ok(env, "db", "downgrade", "0007", "--yes")
    ok(env, "restore", str(data / "backups" / first), "--yes")
    assert _schema(data) == head
    assert "Kept Plumbing" in ok(env, "prospects", "list").stdout
