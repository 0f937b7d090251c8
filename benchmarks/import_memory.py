"""Peak memory of `leadline prospects import` for 20,000 and 1,000,000 rows, and how long other
writers wait meanwhile.

Each import runs as a child process into a fresh migrated SQLite database; its peak RSS is the
child's ``ru_maxrss`` (``os.wait4``). Floor, measured in the same run: the same file read with
``csv`` and inserted with ``sqlite3.executemany`` in a streaming child process (the least a Python
process doing this work holds), and ``leadline prospects import`` of a 10-row file (the CLI's own
size). Goal: the 1,000,000-row import's peak within 20% of the 20,000-row one's.

While each import runs, this process takes SQLite's write lock every 200 ms as Leadline's writers
do (an engine of ``leadline.db``: ``BEGIN IMMEDIATE``, tried again every few ms while the lock is
taken; then ``ROLLBACK``) and records how long it waited: the longest wait is about the longest
write transaction of the import (goal: under about half a second). Before 2026-12-07 this writer
was bare ``sqlite3`` (SQLite's busy handler, waking every 100 ms), as Leadline's writers were then.

    .venv/bin/python benchmarks/import_memory.py [--rows 20000 1000000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

from _common import LEADLINE, WORK, fresh_sqlite, machine
from import_prospects import generate

FLOOR = textwrap.dedent(
    """
    import csv, itertools, json, re, sqlite3, sys
    from datetime import UTC, datetime
    connection = sqlite3.connect(sys.argv[2], isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA cache_size = -32000")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    slug = lambda name: re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    with open(sys.argv[1], newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = ((slug(r[0]), r[0], r[2], json.dumps(r[10].split("; ")), now, now) for r in reader)
        connection.execute("BEGIN")
        while chunk := list(itertools.islice(rows, 1000)):  # 1,000 rows a statement: FTS5 writes a segment per statement
            connection.execute(
                "INSERT INTO prospects (id, name, email, gaps, created_at, updated_at, status, sales_status, tier, "
                "emails_sent_count, emails_opened_count, calls_scheduled_count, calls_completed_count, "
                "do_not_contact) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, 'active', 'new', 3, 0, 0, 0, 0, 0)"] * len(chunk)),
                [value for row in chunk for value in row])
        connection.execute("COMMIT")
    """
)


def peak_rss(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{args} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return usage.ru_maxrss / 1024, seconds


class Prober(threading.Thread):
    """Takes the write lock every 200 ms and records how long each try waited."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path, self.waits, self.stop = path, [0.0], threading.Event()

    def run(self) -> None:
        from leadline.db import make_engine

        engine = make_engine(f"sqlite:///{self.path}")
        while not self.stop.wait(0.2):
            started = time.perf_counter()
            with engine.connect() as connection, connection.begin() as transaction:
                self.waits.append(time.perf_counter() - started)
                transaction.rollback()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    small = WORK / "prospects-10.csv"
    generate(small, 10)
    _, env = fresh_sqlite("memory-cli")
    cli, _ = peak_rss([LEADLINE, "prospects", "import", str(small)], env)
    print(f"machine: {machine()}")
    print(f"leadline prospects import, 10 rows (the CLI's own size): {cli:.0f} MB")
    figures = {}
    for rows in args.rows:
        path = WORK / f"prospects-{rows}.csv"
        if not path.exists():
            generate(path, rows)
        floor_db, _ = fresh_sqlite("memory-floor")
        floor, floor_seconds = peak_rss([sys.executable, "-c", FLOOR, str(path), floor_db], dict(os.environ))
        db, env = fresh_sqlite("memory-leadline")
        prober = Prober(db)
        prober.start()
        ours, seconds = peak_rss([LEADLINE, "prospects", "import", str(path)], env)
        prober.stop.set()
        prober.join()
        count = sqlite3.connect(db).execute("SELECT count(*) FROM prospects").fetchone()[0]
        assert count == rows, count
        figures[rows] = ours
        print(f"{rows:>9,} rows: floor (csv + sqlite3, streamed, one transaction) {floor:.0f} MB in "
              f"{floor_seconds:.1f} s; leadline {ours:.0f} MB in {seconds:.1f} s ({rows / seconds:,.0f} rows/s); "
              f"a writer beside it waited at most {max(prober.waits) * 1000:.0f} ms "
              f"({len(prober.waits) - 1} tries)")  # fmt: skip
    if len(figures) > 1:
        low, high = figures[min(figures)], figures[max(figures)]
        print(f"peak RSS {max(figures):,} rows / {min(figures):,} rows: {high / low:.2f}x (goal: at most 1.20x)")


if __name__ == "__main__":
    main()
