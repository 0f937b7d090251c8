"""A bulk tag change over 100,000 prospects: select every prospect (the preview: how many, who
would be skipped), then add a tag to all of them through ``prospects.bulk`` (the selection frozen
as the operation's items, batches of 500 rows per transaction, each prospect's value before kept
for Undo), and the Undo. Floor: the same tag rows written by bare ``sqlite3`` in one statement
(``INSERT INTO prospect_tags SELECT id, 'q3 push' FROM prospects``) and deleted again.

Goal: the selection and the tag change together under 5 s. Median of 3 runs, SQLite.

    .venv/bin/python benchmarks/bulk.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from _common import fresh_sqlite, machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TAG = "q3 push"


def fill(path: str, rows: int) -> None:
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO prospects (id, name, trade, email, tier, gaps, status, sales_status, emails_sent_count, "
        "emails_opened_count, calls_scheduled_count, calls_completed_count, do_not_contact, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, '[]', 'active', 'new', 0, 0, 0, 0, 0, '2025-01-01 00:00:00.000000', "
        "'2025-01-01 00:00:00.000000')",
        ((f"p{i:06d}", f"Business {i}", ("roofing", "plumbing")[i % 2], f"o{i}@biz{i}.com", 1 + i % 3)
         for i in range(rows)),
    )  # fmt: skip
    db.commit()
    db.close()


def floor(path: str) -> tuple[float, float]:
    db = sqlite3.connect(path)
    start = time.perf_counter()
    db.execute(f"INSERT INTO prospect_tags (prospect_id, tag) SELECT id, '{TAG}' FROM prospects")
    db.commit()
    added = time.perf_counter() - start
    start = time.perf_counter()
    db.execute(f"DELETE FROM prospect_tags WHERE tag = '{TAG}'")
    db.commit()
    removed = time.perf_counter() - start
    db.close()
    return added, removed


def leadline(url: str) -> tuple[float, float, float]:
    from leadline.config import Settings
    from leadline.db import dispose_engines, unit_of_work
    from leadline.prospects import bulk
    from leadline.prospects.schemas import BulkRequest

    settings = Settings(database_url=url)
    wanted = BulkRequest.model_validate({"allMatching": True, "filters": {}, "addTags": [TAG]})
    try:
        start = time.perf_counter()
        with unit_of_work(settings, readonly=True) as session:
            preview = bulk.preview(session, wanted)
        selected = time.perf_counter() - start
        start = time.perf_counter()
        operation_id = bulk.start(settings, wanted, actor="benchmark", background=False)
        tagged = time.perf_counter() - start
        with unit_of_work(settings, readonly=True) as session:
            result = bulk.read(session, operation_id)
        assert result.changed == preview.will_change == preview.total, (result, preview)
        start = time.perf_counter()
        bulk.undo(settings, operation_id, actor="benchmark", background=False)
        undone = time.perf_counter() - start
        return selected, tagged, undone
    finally:
        dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    path, _ = fresh_sqlite("bulk")
    fill(path, options.rows)
    ours, bare = [], []
    for _ in range(options.repeat):
        bare.append(floor(path))
        ours.append(leadline(f"sqlite:///{path}"))
    selected, tagged, undone = (statistics.median(run[i] for run in ours) for i in range(3))
    bare_add, bare_remove = (statistics.median(run[i] for run in bare) for i in range(2))
    print(machine())
    print(f"{options.rows:,} prospects, SQLite; median of {options.repeat}")
    print("| step | floor (bare SQL, one statement) | leadline | ratio |")
    print("|---|---|---|---|")
    print(f"| select all (count + who would be skipped) | - | {selected:.2f} s | - |")
    print(f"| add a tag to all | {bare_add:.2f} s | {tagged:.2f} s | {tagged / bare_add:.1f}x |")
    print(f"| select all + add a tag (goal < 5 s) | | {selected + tagged:.2f} s | |")
    print(f"| undo | {bare_remove:.2f} s | {undone:.2f} s | {undone / bare_remove:.1f}x |")


if __name__ == "__main__":
    main()
