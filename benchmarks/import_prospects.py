"""Import 100,000 generated prospect rows from CSV; compare with bare sqlite3.

The floor is the same work done with the standard library only: read the same CSV with
``csv`` and insert the same rows (the same slug ids) with bare ``sqlite3``, 1,000 rows per
statement, in one transaction, into a migrated database (same table, same indexes). Leadline's figure is the whole
``leadline prospects import FILE`` command: validation, ids, de-duplication, the
timeline entry per prospect. Goal: at least 60% of the floor (issue 21; it was 35%).

    .venv/bin/python benchmarks/import_prospects.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
from datetime import UTC, datetime

from _common import LEADLINE, WORK, fresh_sqlite, machine, timed

TRADES = ["plumbing", "hvac", "electrical", "roofing", "landscaping", "pest control", "painting"]
CITIES = ["Austin", "Denver", "Phoenix", "Charlotte", "Nashville", "Tampa", "Boise", "Omaha"]


def generate(path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Business Name", "Contact", "Email", "Phone", "Website", "City", "Trade", "Tier",
                         "Grid Health", "Critical Gaps", "Gaps", "Top Competitor", "Competitor Health"])  # fmt: skip
        for n in range(rows):
            trade = rng.choice(TRADES)
            health = rng.randint(20, 90)
            writer.writerow([
                f"{rng.choice(CITIES)} {trade.title()} {n}", f"Owner {n}", f"owner{n}@business{n}.com",
                f"(512) 555-{n % 10000:04d}", f"business{n}.com", rng.choice(CITIES), trade, rng.randint(1, 3),
                health, rng.randint(0, 6), "No online booking; Few reviews", f"Rival {n}", min(99, health + 20),
            ])  # fmt: skip


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


#: Rows per INSERT of the floor. Not ``executemany``: the search index is fed by a trigger, and
#: FTS5 writes a segment at each statement, so row by row the floor itself fell to a few hundred
#: rows a second as the index grew (the floors recorded before 2026-12-06's second run are that).
FLOOR_ROWS_PER_STATEMENT = 1_000


def chunks(rows, size: int):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def floor(csv_path, db_path) -> float:
    """Bare sqlite3: parse the CSV, insert every row, 1,000 rows per statement, in one transaction."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA cache_size = -32000")  # Leadline bounds its cache at 8 MB: a stricter floor
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def run() -> None:
        with csv_path.open(newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            rows = (
                (slug(r[0]), r[0], r[6], r[1], r[2], r[3], "https://" + r[4], r[5], int(r[7]), float(r[8]), int(r[9]),
                 json.dumps(r[10].split("; ")), r[11], float(r[12]), now, now)
                for r in reader
            )  # fmt: skip
            connection.execute("BEGIN")
            for chunk in chunks(rows, FLOOR_ROWS_PER_STATEMENT):
                connection.execute(
                    "INSERT INTO prospects (id, name, trade, contact_name, email, phone, website, city, tier, "
                    "grid_health, critical_gaps, gaps, top_competitor, competitor_health, created_at, updated_at, "
                    "status, sales_status, emails_sent_count, emails_opened_count, calls_scheduled_count, "
                    "calls_completed_count, do_not_contact) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 'new', 0, 0, 0, 0, 0)"]
                                * len(chunk)),
                    [value for row in chunk for value in row],
                )  # fmt: skip
            connection.execute("COMMIT")

    seconds = timed(run)
    connection.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs of each")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    csv_path = WORK / f"prospects-{args.rows}.csv"
    generate(csv_path, args.rows)

    floors, ours_runs = [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine weather
        floor_db, _ = fresh_sqlite("import-floor")
        os.sync()  # start each run with no dirty pages from the last one
        floors.append(floor(csv_path, floor_db))
        _, env = fresh_sqlite("import-leadline")
        os.sync()
        ours_runs.append(
            timed(
                lambda env=env: subprocess.run(
                    [LEADLINE, "prospects", "import", str(csv_path)], env=env, check=True, capture_output=True
                )
            )
        )
    floor_seconds, seconds = statistics.median(floors), statistics.median(ours_runs)
    print("runs (s): floor", [round(f, 2) for f in floors], "leadline", [round(o, 2) for o in ours_runs])
    count = (
        sqlite3.connect(env["LEADLINE_DATABASE_URL"].split("///", 1)[1])
        .execute("SELECT count(*) FROM prospects")
        .fetchone()[0]
    )
    assert count == args.rows, count
    ours, base = args.rows / seconds, args.rows / floor_seconds
    print(f"machine: {machine()}")
    print(f"rows: {args.rows:,}; median of {args.repeat} runs each")
    print(f"floor (csv + sqlite3, 1,000 rows a statement, one transaction): {base:,.0f} rows/s ({floor_seconds:.2f} s)")
    print(f"leadline prospects import:                                     {ours:,.0f} rows/s ({seconds:.2f} s)")
    print(f"ratio: {ours / base:.0%} of the floor (goal: at least 60%)")


if __name__ == "__main__":
    main()
