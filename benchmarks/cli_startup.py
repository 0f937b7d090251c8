"""How fast the `leadline` command starts and answers, on the demo database.

Each command is timed beside its floor, in the same run (interleaved, so the same machine
weather for each):

- `leadline --help` against `python -c "import typer"`; goal: at most 2x.
- every other command (the read commands below) against
  `python -c "import sqlalchemy.orm, typer"`; goal: at most 1.3x.

`prospects list` is answered on SQLite by its bare-sqlite3 path (leadline/prospects/listing.py);
the same command through the Typer application (LEADLINE_FAST_CLI=0, what PostgreSQL uses) is
shown too: that path replaces the quick one once it meets the goal.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Leadline's own modules are byte-compiled first, as an installed package's are: under
PYTHONDONTWRITEBYTECODE a source checkout would otherwise compile some fifty modules on every run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import LEADLINE, fresh_sqlite, machine

HELP_GOAL, COMMAND_GOAL = 2.0, 1.3


TYPER_PATH = {"LEADLINE_FAST_CLI": "0"}


def run_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import leadline

    compileall.compile_dir(str(Path(leadline.__file__).parent), quiet=1)
    _, env = fresh_sqlite("cli-startup")
    subprocess.run([LEADLINE, "demo"], env=env, check=True, capture_output=True)
    listed = subprocess.run(
        [LEADLINE, "prospects", "list", "--limit", "1", "--json"], env=env, check=True, capture_output=True
    )
    prospect_id = json.loads(listed.stdout)[0]["id"]
    floors = {
        "typer": [sys.executable, "-c", "import typer"],
        "orm": [sys.executable, "-c", "import sqlalchemy.orm, typer"],
    }
    commands: dict[str, tuple[list[str], str, dict[str, str]]] = {
        "--help": (["--help"], "typer", {}),
        "dashboard --week last": (["dashboard", "--week", "last"], "orm", {}),
        "today": (["today"], "orm", {}),
        "calls list": (["calls", "list"], "orm", {}),
        "emails list": (["emails", "list"], "orm", {}),
        "prospects list --limit 10": (["prospects", "list", "--limit", "10"], "orm", {}),
        "prospects list --limit 10, Typer": (["prospects", "list", "--limit", "10"], "orm", TYPER_PATH),
        "prospects list --json": (["prospects", "list", "--json"], "orm", {}),
        "prospects list --json, Typer": (["prospects", "list", "--json"], "orm", TYPER_PATH),
        "prospects show ID": (["prospects", "show", prospect_id], "orm", {}),
    }
    for words, _, more in commands.values():  # warm the page cache; each must succeed
        run_once([LEADLINE, *words], {**env, **more})
    times: dict[str, list[float]] = {name: [] for name in [*floors, *commands]}
    for _ in range(args.runs):  # interleaved
        for name, command in floors.items():
            times[name].append(run_once(command, env))
        for name, (words, _, more) in commands.items():
            times[name].append(run_once([LEADLINE, *words], {**env, **more}))
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"machine: {machine()}")
    print(f"median of {args.runs} interleaved runs each")
    print(f'floor  python -c "import typer":                  {median["typer"]:7.1f} ms')
    print(f'floor  python -c "import sqlalchemy.orm, typer":  {median["orm"]:7.1f} ms')
    for name, (_, floor, _more) in commands.items():
        goal = HELP_GOAL if floor == "typer" else COMMAND_GOAL
        ratio = median[name] / median[floor]
        mark = "" if ratio <= goal else "  (over the goal)"
        print(f"leadline {name:34s} {median[name]:7.1f} ms  {ratio:4.2f}x {floor} floor; goal <= {goal}x{mark}")


if __name__ == "__main__":
    main()
