"""What Leadline writes is its own user's alone: the data folder 0700, every file 0600 (the SQLite
database and its -wal/-shm, the job queue, the outbox's .eml files, the secret key, the demo's
password, backups and exports), measured after real `leadline` processes started with umask 022."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.processes import EXE

pytestmark = pytest.mark.xdist_group("processes")


def leadline(env: dict[str, str], *args: str) -> str:
    """`leadline ARGS` as a user with the usual umask (022) would run it."""
    done = subprocess.run(["sh", "-c", 'umask 022; exec "$@"', "sh", EXE, *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, f"leadline {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


def modes(*roots: Path) -> dict[str, str]:
    """Every folder and file under ``roots`` (and the roots), with its permission bits in octal."""
    found = {}
    for root in roots:
        paths = [root, *root.rglob("*")] if root.is_dir() else [root]
        for path in paths:
            found[str(path)] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_the_data_folder_and_everything_leadline_writes_are_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # made by hand beforehand, open to others: `leadline init` closes it
    data.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST_")}
    env |= {"LEADLINE_DATA_DIR": str(data), "LEADLINE_TIMEZONE": "America/Chicago"}
    leadline(env, "init")
    assert oct(stat.S_IMODE(data.stat().st_mode)) == "0o700"
    leadline(env, "demo")  # its Week 1 emails go through the outbox, its jobs through the SQLite queue
    backup, export, listing = tmp_path / "backup.db", tmp_path / "everything.jsonl", tmp_path / "prospects.csv"
    leadline(env, "backup", str(backup))
    leadline(env, "export", "--all", "--output", str(export))
    leadline(env, "export", "prospects", "--output", str(listing))

    found = modes(data, backup, export, listing)
    names = {Path(p).name for p in found}
    expected = {"leadline.db", "leadline.db-wal", "leadline.db-shm", "jobs.db", "secret_key", "demo-password"}
    assert expected <= names, sorted(names)
    assert any(Path(p).suffix == ".eml" for p in found), "the demo sent nothing to the outbox"
    folders = {p: mode for p, mode in found.items() if Path(p).is_dir()}
    files = {p: mode for p, mode in found.items() if not Path(p).is_dir()}
    assert {p: m for p, m in folders.items() if m != "0o700"} == {}
    assert {p: m for p, m in files.items() if m != "0o600"} == {}
    assert not list(tmp_path.glob("backup.db*-*")), "the backup left -wal/-shm files beside it"
