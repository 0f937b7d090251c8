"""Finding likely duplicates over 200,000 prospects: the first and the twentieth page of groups
(every reason, 50 groups a page), one reason's first page, and one prospect's possible duplicates
(what its page shows), with the key indexes (migration 0017) and without them (dropped: the keys
computed for every prospect, as a query without its index would).

The prospects are inserted with bare ``sqlite3`` (about 1% share a business with another) into a
fresh migrated SQLite file; each figure is the median of 5 warm runs of the service function.

    .venv/bin/python benchmarks/duplicates.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import fresh_sqlite, machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def fill(path: str, rows: int) -> None:
    rng = random.Random(7)
    db = sqlite3.connect(path)
    values = []
    for i in range(rows):
        n = i if rng.random() > 0.01 else rng.randrange(rows)  # a second record of business n
        values.append((
            f"p{i}", f"Business {n} Plumbing", f"({200 + n % 700}) {n // 700 % 1000:03d}-{n % 10000:04d}"
            if rng.random() > 0.2 else None, f"https://www.biz{n}.com/" if rng.random() > 0.3 else None,
            f"City{n % 500}", f"o{i}@biz{i}.com",
        ))  # fmt: skip
    db.executemany(
        "INSERT INTO prospects (id, name, phone, website, city, email, tier, gaps, status, sales_status, "
        "emails_sent_count, emails_opened_count, calls_scheduled_count, calls_completed_count, do_not_contact, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 3, '[]', 'active', 'new', 0, 0, 0, 0, 0, "
        "'2025-01-01 00:00:00.000000', '2025-01-01 00:00:00.000000')",
        values,
    )
    db.commit()
    db.close()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(url: str, repeat: int) -> dict[str, float]:
    from leadline.config import Settings
    from leadline.db import dispose_engines, unit_of_work
    from leadline.prospects import merging

    settings = Settings(database_url=url)
    try:
        with unit_of_work(settings, readonly=True) as session:
            return {
                "first page": median_ms(lambda: merging.duplicates(session, limit=50), repeat),
                "page 20": median_ms(lambda: merging.duplicates(session, limit=50, page=20), repeat),
                "website, first page": median_ms(lambda: merging.duplicates(session, reason="website"), repeat),
                "one prospect's": median_ms(lambda: merging.candidates(session, "p12345"), repeat),
            }
    finally:
        dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    path, _ = fresh_sqlite("duplicates")
    fill(path, options.rows)
    url = f"sqlite:///{path}"
    indexed = measure(url, options.repeat)
    from leadline.prospects import dupkeys

    db = sqlite3.connect(path)
    for name in dupkeys.INDEXES:
        db.execute(f"DROP INDEX {name}")
    db.commit()
    db.close()
    bare = measure(url, max(1, options.repeat // 2))
    print(machine())
    print(f"{options.rows:,} prospects; median ms")
    print("| query | with the key indexes | without |")
    print("|---|---|---|")
    for name, value in indexed.items():
        print(f"| {name} | {value:,.0f} ms | {bare[name]:,.0f} ms |")


if __name__ == "__main__":
    main()
