"""How fast `leadline prospects list --limit 10` answers on the demo database.

Compared, in the same run, with `python -c "import sqlite3"` (the floor: starting
Python and loading the sqlite3 module). Goal: at most 10 times the floor (median of
several runs). The full Typer CLI is shown too, for scale (LEADLINE_FAST_CLI=0).

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _common import LEADLINE, fresh_sqlite, machine


def run_times(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    _, env = fresh_sqlite("cli-startup")
    subprocess.run([LEADLINE, "demo"], env=env, check=True, capture_output=True)
    command = [LEADLINE, "prospects", "list", "--limit", "10"]
    floor_cmd = [sys.executable, "-c", "import sqlite3"]
    run_times(command, env, 2)  # warm the page cache
    floor, fast, full = [], [], []
    for _ in range(args.runs):  # interleaved: the same machine weather for each
        floor += run_times(floor_cmd, env, 1)
        fast += run_times(command, env, 1)
        full += run_times(command, {**env, "LEADLINE_FAST_CLI": "0"}, 1)
    f, ours, typer_path = (statistics.median(x) * 1000 for x in (floor, fast, full))
    print(f"machine: {machine()}")
    print(f"median of {args.runs} runs each")
    print(f'floor  python -c "import sqlite3":          {f:6.1f} ms')
    print(f"leadline prospects list --limit 10:         {ours:6.1f} ms  ({ours / f:.1f}x the floor; goal <= 10x)")
    print(f"  same command through the full Typer CLI:  {typer_path:6.1f} ms  ({typer_path / f:.1f}x)")


if __name__ == "__main__":
    main()
