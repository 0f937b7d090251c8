"""The root CLI loads a command group only when it runs: `leadline --help` is drawn from the table in
leadline/cli/main.py, which must say what the real commands say (issue 21, item 3)."""

from __future__ import annotations

import os
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


HELP = """
import sys
if sys.argv[1] == "real":
    import typer.rich_utils  # with rich.markdown and rich.traceback, before leadline.cli._typer is installed
from leadline.__main__ import main
code = main(sys.argv[2:])
print("rich.markdown" in sys.modules, "rich.traceback" in sys.modules, code, file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["calls", "--help"], ["calls", "list", "--help"], ["prospcts"]])
def test_help_is_the_same_without_typers_markdown_and_traceback_modules(args):
    """leadline/cli/_typer.py: Typer's help module loads with stand-ins for the two it never uses here."""
    runs = {
        how: subprocess.run(
            [sys.executable, "-c", HELP, how, *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "100", "TERMINAL_WIDTH": "100"},
        )
        for how in ("real", "light")
    }
    real, light = runs["real"], runs["light"]
    assert real.stdout == light.stdout and real.stdout + real.stderr
    assert real.stderr.splitlines()[:-1] == light.stderr.splitlines()[:-1]
    assert real.stderr.splitlines()[-1].split()[:2] == ["True", "True"]
    assert light.stderr.splitlines()[-1].split()[:2] == ["False", "False"]
    assert real.stderr.splitlines()[-1].split()[2] == light.stderr.splitlines()[-1].split()[2]


def test_the_stand_ins_make_the_real_classes():
    from rich.markdown import Markdown
    from rich.traceback import Traceback

    from leadline.cli._typer import _stand_in

    assert isinstance(_stand_in("rich.markdown", "Markdown")("*hi*"), Markdown)
    try:
        raise ValueError("x")
    except ValueError as error:
        made = _stand_in("rich.traceback", "Traceback").from_exception(type(error), error, error.__traceback__)
    assert isinstance(made, Traceback)


PROBE = """
import sys, typer
from typer.testing import CliRunner
if sys.argv[1] == "leadline":
    import leadline.cli.main  # installs leadline.cli._typer
seen = {}
probe = typer.Typer()
@probe.command()
def command(limit: int | None = typer.Option(None, min=1), tags: list[str] | None = typer.Option(None, "--tag"),
            when: str = "now", path: typer.FileText | None = None) -> None:
    seen.update(limit=limit, tags=tags, when=when, path=path)
for args in ([], ["--limit", "3", "--tag", "a", "--tag", "b", "--when", "x"], ["--limit", "0"], ["--limit", "x"],
             ["--path", "/nonexistent"]):
    done = CliRunner().invoke(probe, args)
    print(done.exit_code, seen, done.output)
    seen.clear()
"""


def test_options_left_out_and_given_come_out_as_without_leadlines_adjustment():
    """leadline/cli/_typer.py: an option left out is not given to pydantic; every value is what Typer makes."""
    runs = [
        subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True).stdout
        for how in ("typer", "leadline")
    ]
    assert runs[0] == runs[1]
    assert "0 {'limit': None, 'tags': None, 'when': 'now', 'path': None}" in runs[0]
    assert "{'limit': 3, 'tags': ['a', 'b'], 'when': 'x', 'path': None}" in runs[0]


DIALECTS = """
import sys
from leadline.__main__ import main
code = main(sys.argv[1:])
print(code, sorted({m.split('.')[2] for m in sys.modules if m.startswith('sqlalchemy.dialects.')}), file=sys.stderr)
"""


def test_read_commands_on_sqlite_never_load_the_postgresql_dialect(tmp_path):
    """leadline.db: JSONB and a partial index's PostgreSQL option are loaded on PostgreSQL only."""
    env = {**os.environ, "LEADLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'leadline.db'}",
           "LEADLINE_DATA_DIR": str(tmp_path), "LEADLINE_FAST_CLI": "0"}  # fmt: skip
    assert run_leadline("init", env=env).returncode == 0
    for command in (["today"], ["calls", "list"], ["emails", "list"], ["prospects", "list", "--json"]):
        done = subprocess.run(
            [sys.executable, "-c", DIALECTS, *command], capture_output=True, text=True, env=env, check=False
        )
        code, dialects = done.stderr.strip().splitlines()[-1].split(" ", 1)
        assert code == "0" and "postgresql" not in dialects, (command, done.stderr)


SCHEMAS = """
import sys
from leadline.__main__ import main
code = main(sys.argv[1:])
print(code, sorted(m for m in sys.modules if m.startswith('leadline.') and m.endswith('schemas')), file=sys.stderr)
"""


def test_the_emails_commands_load_the_selection_not_every_prospect_schema(tmp_path):
    """A batch's schemas (emails, sequences) name prospects through ``prospects.selection``: ``emails list``
    loads its own schemas and the selection, not the prospects' (about 50 ms of a 0.8 s command)."""
    env = {**os.environ, "LEADLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'leadline.db'}",
           "LEADLINE_DATA_DIR": str(tmp_path)}  # fmt: skip
    assert run_leadline("init", env=env).returncode == 0
    done = subprocess.run([sys.executable, "-c", SCHEMAS, "emails", "list"], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    code, loaded = done.stderr.strip().splitlines()[-1].split(" ", 1)
    assert code == "0" and "'leadline.emails.schemas'" in loaded, done.stderr
    assert "leadline.prospects.schemas" not in loaded, loaded
