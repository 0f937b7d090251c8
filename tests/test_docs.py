"""The reference docs are generated from the code and must be current."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_generated_reference_is_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_command_has_help():
    from typer.main import get_command

    from leadline.cli.main import app

    def walk(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            assert (sub.help or "").strip(), f"leadline {' '.join([*path, name])} has no help text"
            walk(sub, [*path, name])

    walk(get_command(app), [])
