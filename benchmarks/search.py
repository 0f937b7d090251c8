"""Search as you type at 100,000 prospects (issue 17.7), against the same queries in bare ``sqlite3``.

The data set is the dashboard benchmark's generator (``benchmarks/dashboard.py``) at 100,000
prospects and 300,000 emails, with notes written on its calls. Each keystroke of a few
typed words ("ro", "roo", "roof", ...; a city; a phone's digits; a word found nowhere) is one
call of ``leadline.search.service.search`` in a read-only unit of work, as ``/search`` makes it;
the floor is the same statements (for prospects, customers, email subjects and call notes: the
first 40 ids from the text index of migration 0018, then their rows; the service ranks them and
shows 8 of each kind) through the bare driver on the same file. Goal: under 100 ms per keystroke.

    .venv/bin/python benchmarks/search.py [--prospects 100000] [--emails 300000] [--runs 5] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
from pathlib import Path

from _common import generated, machine
from leadline.search.index import CANDIDATES, LIMIT

TYPED = ["roofing", "austin", "5550", "owner 4321", "case stu", "zqxjv"]
PER_KIND = CANDIDATES  # the ids each kind reads from the index (the service shows the best 8 of them)


def keystrokes(word: str) -> list[str]:
    return [word[:n] for n in range(3, len(word) + 1)]  # the box searches from the third character


def _ids(table: str, term: str) -> tuple[str, str]:
    """The index lookup, as migration 0018 built the index (see leadline/search/index.py)."""
    return (f"SELECT r.ref_id FROM search_{table} f JOIN search_refs r ON r.entry = f.rowid "
            f"WHERE search_{table} MATCH ? LIMIT {PER_KIND}", '"' + term.replace('"', '""') + '"')  # fmt: skip


def floor_statements(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """What the service asks, written by hand: each kind's ids from the index, then their rows
    (a phone is looked up by its digits when the text is a phone)."""
    low = " ".join(text.split()).lower()
    digits = "".join(ch for ch in text if ch.isdigit())
    phone_like = len(digits) >= 4 and all(ch.isdigit() or ch in " -()+." for ch in text)
    statements = []
    for table, columns, term in (
        ("prospects", "id, name, contact_name, city, sales_status", digits if phone_like else low),
        ("customers", "id, company_name, contact_name, status", low),
        ("email_activities", "id, subject, prospect_id, to_email, status", low),
    ):
        ids, value = _ids(table, term)
        statements.append((f"SELECT {columns} FROM {table} WHERE id IN ({ids})", (value,)))
    ids, value = _ids("call_activities", low)
    statements.append((
        "SELECT c.id, p.name, c.notes, c.status, c.scheduled_at FROM call_activities c JOIN prospects p "
        f"ON p.id = c.prospect_id WHERE c.id IN ({ids}) ORDER BY c.scheduled_at DESC", (value,)))  # fmt: skip
    return statements


def _call_notes(path: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE call_activities SET notes = CASE abs(random()) % 3 WHEN 0 THEN 'Asked for case studies "
            "from plumbers in ' || (SELECT city FROM prospects WHERE id = prospect_id) WHEN 1 THEN "
            "'Price is the worry; send ROI numbers' ELSE 'Busy season, call back in two weeks' END"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    print(machine())
    path = generated("search", args.prospects, args.emails, reuse=args.reuse, prepare=_call_notes)
    folder = path.parent

    os.environ["LEADLINE_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["LEADLINE_DATA_DIR"] = str(folder)
    from leadline.config import get_settings
    from leadline.db import unit_of_work
    from leadline.search import service

    settings = get_settings()
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA cache_size = -32000")

    def leadline(text: str) -> int:
        with unit_of_work(settings, readonly=True) as session:
            return len(service.search(session, text))

    def floor(text: str) -> int:
        connection.execute("BEGIN")
        try:
            # each kind's rows read, of which the page shows the first LIMIT (the service's ranking is its own work)
            return sum(
                min(len(connection.execute(sql, params).fetchall()), LIMIT) for sql, params in floor_statements(text)
            )
        finally:
            connection.execute("COMMIT")

    print()
    print("| typed | keystrokes | floor median / slowest | leadline median / slowest | ratio | hits |")
    print("|---|---|---|---|---|---|")
    everything: list[float] = []
    floors: list[float] = []
    for word in TYPED:
        mine: list[float] = []
        bare: list[float] = []
        for text in keystrokes(word):
            leadline(text), floor(text)  # warm
            for _ in range(args.runs):
                start = time.perf_counter()
                hits = leadline(text)
                mine.append(time.perf_counter() - start)
                start = time.perf_counter()
                bare_hits = floor(text)
                bare.append(time.perf_counter() - start)
            assert hits == bare_hits, (text, hits, bare_hits)
        everything += mine
        floors += bare
        print(f"| {word} | {len(keystrokes(word))} | {statistics.median(bare) * 1000:.1f} / {max(bare) * 1000:.1f} ms"
              f" | {statistics.median(mine) * 1000:.1f} / {max(mine) * 1000:.1f} ms"
              f" | {statistics.median(mine) / statistics.median(bare):.2f}x | {hits} |")  # fmt: skip
    print(f"| all | | {statistics.median(floors) * 1000:.1f} / {max(floors) * 1000:.1f} ms | "
          f"{statistics.median(everything) * 1000:.1f} / {max(everything) * 1000:.1f} ms | "
          f"{statistics.median(everything) / statistics.median(floors):.2f}x | |")  # fmt: skip
    print(
        f"\ngoal: every keystroke under 100 ms; slowest {max(everything) * 1000:.1f} ms, "
        f"{Path(path).stat().st_size / 1e6:.0f} MB database"
    )


if __name__ == "__main__":
    main()
