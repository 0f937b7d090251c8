"""The first page of every prospect list filter and sort at a million prospects (issue 21.2), beside
the same statements in bare ``sqlite3``.

The data set is the dashboard benchmark's generator (``benchmarks/dashboard.py``): 1,000,000
prospects by default, with tags on one in twenty and owners on one in four written here with bare
SQL. Each case is one call of ``prospects.service.search`` in a read-only unit of work, as
``GET /api/prospects`` makes it (50 rows and the exact total) and as the web list makes it (the
total counted up to 10,000); the floor is the same statements (the count, then the page: walked in
the sort's order when ``queries.walk_length`` says so) run through ``sqlite3`` on the same file.
Goal: each first page under 50 ms.

With ``--postgres URL`` the same data is copied into a fresh migrated PostgreSQL database
(``leadline_bench_list``; ``--reuse`` keeps it too) and measured the same way, the floor being the
same statements through ``psycopg`` (PostgreSQL plans its own way: no walk).

    .venv/bin/python benchmarks/list_filters.py [--prospects 1000000] [--emails 1000000] [--runs 5] [--reuse]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import time
from typing import Any

from _common import generated, machine

#: (label, filters, sort): every filter of the list on its own, the sorts, and a few together.
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("everything, newest first", {}, "-created"),
    ("everything, by name", {}, "name"),
    ("everything, by name descending", {}, "-name"),
    ("everything, by grid health", {}, "grid_health"),
    ("everything, by tier", {}, "tier"),
    ("stage contacted (80%)", {"status": "contacted"}, "created"),
    ("stage proposal (rare)", {"status": "proposal"}, "created"),
    ("tier 2", {"tier": 2}, "created"),
    ("trade roofing", {"trade": "roofing"}, "created"),
    ("trade roofing, by name", {"trade": "roofing"}, "name"),
    ("search 'plumb'", {"search": "plumb"}, "created"),
    ("search 'austin', by name", {"search": "austin"}, "name"),
    ("search 'tulsa', by name (its names come last)", {"search": "tulsa"}, "name"),
    ("stage replied (3%), by name", {"status": "replied"}, "name"),
    ("owner ann@, by grid health", {"owner": "ann@acme.test"}, "-grid_health"),
    ("tag vip, by name", {"tag": "vip"}, "name"),
    ("tag storm leads", {"tag": "storm leads"}, "created"),
    ("owner ann@", {"owner": "ann@acme.test"}, "created"),
    ("do not contact", {"do_not_contact": True}, "created"),
    ("tier 1, roofing, contacted", {"tier": 1, "trade": "roofing", "status": "contacted"}, "name"),
]


def prepare(path: str) -> None:
    """Tags and owners, which the dashboard's generator does not write."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT OR IGNORE INTO prospect_tags (prospect_id, tag) "
            "SELECT id, CASE abs(random()) % 3 WHEN 0 THEN 'storm leads' WHEN 1 THEN 'vip' ELSE 'spring push' END "
            "FROM prospects WHERE abs(random()) % 20 = 0"
        )
        connection.execute(
            "UPDATE prospects SET owner = CASE abs(random()) % 2 WHEN 0 THEN 'ann@acme.test' ELSE 'bob@acme.test' END "
            "WHERE abs(random()) % 4 = 0"
        )
        connection.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--postgres", help="Also on PostgreSQL: a server URL (a database is made there).")
    parser.add_argument("--no-sqlite", action="store_true", help="Only PostgreSQL.")
    args = parser.parse_args()
    print(machine())
    path = generated("list_filters", args.prospects, args.emails, reuse=args.reuse, prepare=prepare)
    folder = path.parent
    os.environ["LEADLINE_DATA_DIR"] = str(folder)
    if not args.no_sqlite:
        os.environ["LEADLINE_DATABASE_URL"] = f"sqlite:///{path}"
        connection = sqlite3.connect(str(path), isolation_level=None)
        print("\nSQLite")
        measure(args.runs, sqlite_floor(connection))
    if args.postgres:
        from sqlalchemy.engine import make_url

        from dashboard import copy_to_postgres, postgres_has

        url = make_url(args.postgres).set(database="leadline_bench_list").render_as_string(hide_password=False)
        if not (args.reuse and postgres_has(url, args.prospects)):
            start = time.perf_counter()
            copied = copy_to_postgres(str(path), args.postgres, None, name="leadline_bench_list",
                                      more=("prospect_tags",), totals=False)  # fmt: skip
            print(f"copied to PostgreSQL in {time.perf_counter() - start:.1f} s: {copied}")
        os.environ["LEADLINE_DATABASE_URL"] = url
        import psycopg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        print("\nPostgreSQL")
        with psycopg.connect(dsn) as pg:
            measure(args.runs, postgres_floor(pg))


Floor = Any  # (filters, sort, count_limit) -> (rows shown, total)


def sqlite_floor(connection: sqlite3.Connection) -> Floor:
    """Leadline's statements (the count, the walk when it walks, the page) through ``sqlite3``."""
    from leadline.prospects import queries

    def fetch(sql: str, params: dict[str, Any]) -> list[Any]:
        return connection.execute(sql, params).fetchall()

    def floor(filters: queries.Filters, sort: str, count_limit: int | None) -> tuple[int, int]:
        query = queries.build(filters, dialect="sqlite", sort=sort, limit=50, peek=True)
        count_sql, count_params = query.counting(count_limit)
        connection.execute("BEGIN")
        try:
            total = connection.execute(count_sql, count_params).fetchone()[0]
            rows = None
            walk = queries.walk_length(fetch, query, total, 51, "sqlite")
            if walk is not None:
                walked = queries.build(filters, dialect="sqlite", sort=sort, limit=50, peek=True, walk=walk)
                cursor = connection.execute(walked.sql, walked.params)
                names = [column[0] for column in cursor.description]
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                rows = rows if queries.walked_page(walked, rows) else None
            if rows is None:
                rows = connection.execute(query.sql, query.params).fetchall()
        finally:
            connection.execute("COMMIT")
        return min(len(rows), 50), int(total)

    return floor


def postgres_floor(connection: Any) -> Floor:
    """Leadline's statements (the count, then the page) through ``psycopg``, in one transaction."""
    from leadline.prospects import queries

    def native(sql: str) -> str:  # :name -> %(name)s (a literal % doubled)
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))

    def floor(filters: queries.Filters, sort: str, count_limit: int | None) -> tuple[int, int]:
        query = queries.build(filters, dialect="postgresql", sort=sort, limit=50, peek=True)
        count_sql, count_params = query.counting(count_limit)
        with connection.transaction():
            total = connection.execute(native(count_sql), count_params).fetchone()[0]
            rows = connection.execute(native(query.sql), query.params).fetchall()
        return min(len(rows), 50), int(total)

    return floor


def measure(runs: int, floor: Floor) -> None:
    """Every case, Leadline and the floor alternating (API: the exact total; web: counted to 10,000)."""
    from leadline.config import get_settings
    from leadline.db import dispose_engines, unit_of_work
    from leadline.prospects import queries, service
    from leadline.prospects.schemas import ProspectFilter
    from leadline.web.pages.prospects import COUNT_LIMIT

    get_settings.cache_clear()
    dispose_engines()
    settings = get_settings()

    def leadline(filters: queries.Filters, sort: str, count_limit: int | None) -> tuple[int, int]:
        with unit_of_work(settings, readonly=True) as session:
            page = service.search(session, filters, sort=sort, limit=50, count_limit=count_limit)
            return len(page.items), page.total

    print()
    print("| case | API: floor / leadline | web (count to 10,000): floor / leadline | rows | total |")
    print("|---|---|---|---|---|")
    slowest = {"api": 0.0, "web": 0.0}
    for label, given, sort in CASES:
        filters = ProspectFilter.model_validate(given).query()
        cells = []
        for kind, count_limit in (("api", None), ("web", COUNT_LIMIT)):
            mine: list[float] = []
            bare: list[float] = []
            leadline(filters, sort, count_limit), floor(filters, sort, count_limit)  # warm
            for _ in range(runs):
                start = time.perf_counter()
                got = leadline(filters, sort, count_limit)
                mine.append(time.perf_counter() - start)
                start = time.perf_counter()
                expected = floor(filters, sort, count_limit)
                bare.append(time.perf_counter() - start)
            assert got == expected, (label, kind, got, expected)
            slowest[kind] = max(slowest[kind], statistics.median(mine))
            cells.append(f"{statistics.median(bare) * 1000:.1f} / {statistics.median(mine) * 1000:.1f} ms")
            if kind == "api":
                shown, total = got  # the exact total; the web's stops at 10,001
        print(f"| {label} ({sort}) | {cells[0]} | {cells[1]} | {shown} | {total:,} |")
    print(
        f"\ngoal: each first page under 50 ms; slowest median: API {slowest['api'] * 1000:.1f} ms, "
        f"web {slowest['web'] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
