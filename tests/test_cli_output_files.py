"""Every command that writes a file (``-o``/``--output``) answers a path it cannot write with one line
and exit 1, and leaves nothing behind: `prospects export` and `calls ics` printed a traceback, `export`
and `report week` an "unexpected" error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_leadline, settings_env
from tests.factories import make_prospect, snapshot

COMMANDS = [
    ("prospects", "export", "--format", "csv"),
    ("export", "prospects"),
    ("export", "calls", "--format", "json"),
    ("report", "week"),
    ("calls", "ics"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_output_path_that_cannot_be_written_is_one_line(cli, settings, tmp_path: Path, command):
    make_prospect(settings)
    before = snapshot(settings)
    folder = tmp_path / "out"
    folder.mkdir()
    missing = folder / "no such folder" / "out.txt"
    for path, why in [(missing, "No such file or directory"), (folder, "Is a directory")]:
        result = cli(*command, "-o", str(path))
        assert result.exit_code == 1, result.stdout
        assert result.stderr == f"error: {path}: cannot write it ({why})\n"
    assert list(folder.iterdir()) == []
    written = cli(*command, "-o", str(folder / "out.txt"))
    assert written.exit_code == 0 and (folder / "out.txt").stat().st_size > 0, written.stderr
    assert snapshot(settings) == before


def test_in_a_fresh_process_too(settings, tmp_path: Path):
    make_prospect(settings)
    result = run_leadline("prospects", "export", "-o", str(tmp_path / "gone" / "x.csv"), env=settings_env(settings))
    assert (result.returncode, result.stderr) == (1, f"error: {tmp_path / 'gone' / 'x.csv'}: cannot write it "
                                                     "(No such file or directory)\n")  # fmt: skip
