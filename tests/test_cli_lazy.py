"""The root CLI loads a command group only when it runs: `leadline --help` is drawn from the table in
leadline/cli/main.py, which must say what the real commands say (issue 21, item 3)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.core import TyperGroup

from leadline.cli.main import LAZY, LAZY_COMMANDS, LAZY_GROUPS, app, load
from tests.conftest import run_leadline


def _first_paragraph(text: str | None) -> str:
    """The line `leadline --help` shows for a command (Typer's rich help: its first paragraph)."""
    import inspect

    return inspect.cleandoc(text or "").split("\n\n")[0].replace("\n", " ").strip()


@pytest.mark.parametrize("entry", [*LAZY_COMMANDS, *LAZY_GROUPS], ids=lambda entry: entry.name)
def test_the_table_says_what_the_command_says(entry):
    real = load(entry)
    assert real.name == entry.name
    assert real.hidden == entry.hidden
    assert _first_paragraph(real.short_help or real.help) == entry.help
    for name, _, _ in entry.also:
        assert name in real.commands  # type: ignore[attr-defined]


def test_the_table_names_each_command_once():
    names = [entry.name for entry in (*LAZY_COMMANDS, *LAZY_GROUPS)]
    assert len(names) == len(set(names)) == len(LAZY)
    own = set(typer.main.get_group(app)._own)  # type: ignore[attr-defined]
    assert own.isdisjoint(names)


def test_root_help_from_the_table_equals_the_help_of_the_real_commands(capsys):
    root = typer.main.get_command(app)
    with root.make_context("leadline", [], resilient_parsing=True) as ctx:
        root.get_help(ctx)
        from_table = capsys.readouterr().out
        formatter = ctx.make_formatter()
        TyperGroup.format_help(root, ctx, formatter)  # type: ignore[arg-type]  # each command imported
        from_commands = capsys.readouterr().out
    assert "prospects" in from_table and "today" in from_table and "list:prospects" not in from_table
    assert from_table == from_commands


def test_every_command_of_the_table_runs_from_the_real_cli():
    walked = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert LAZY_COMMANDS[0].name == next(iter(walked))
    assert set(LAZY) <= set(walked)
    assert set(walked["emails"].commands) >= {"list", "label"}
    assert set(walked["proposals"].commands) >= {"send", "create", "edit", "show", "list", "pdf"}


IMPORTED = """
import sys
from leadline.__main__ import main
code = main(sys.argv[1:])
domains = sorted({m.split('.')[1] for m in sys.modules if m.startswith('leadline.') and m.endswith('.cli')})
print('|'.join(domains), 'pydantic' in sys.modules, 'sqlalchemy' in sys.modules, file=sys.stderr)
"""


def _imported(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", IMPORTED, *args], capture_output=True, text=True, check=False)
    return done.stderr.strip().splitlines()[-1].split()


def test_help_imports_no_domain_nor_pydantic_nor_sqlalchemy():
    assert _imported("--help") == ["cli", "False", "False"]


def test_a_group_imports_only_its_own_module():
    assert _imported("calls", "--help")[0] == "calls|cli"
    assert _imported("emails", "--help")[0] == "cli|emails|guardian"  # `emails label` is guardian's


def test_a_mistyped_command_is_one_clear_error_with_a_suggestion():
    done = run_leadline("prospcts", "list")
    assert done.returncode == 2
    assert "No such command 'prospcts'" in done.stderr and "Did you mean 'prospects'" in done.stderr
    assert done.stdout == ""
