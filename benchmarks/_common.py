"""Helpers shared by the benchmarks: a fresh migrated database, timing, the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
LEADLINE = str(Path(sys.executable).with_name("leadline"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def fresh_sqlite(name: str) -> tuple[str, dict[str, str]]:
    """A migrated SQLite database in benchmarks/_work; returns (path, env for leadline)."""
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leadline.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    env = {**os.environ, "LEADLINE_DATABASE_URL": f"sqlite:///{path}", "LEADLINE_DATA_DIR": str(folder)}
    subprocess.run([LEADLINE, "init"], env=env, check=True, capture_output=True)
    return str(path), env


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(runs: int, fn: Callable[[], object]) -> float:
    return statistics.median(timed(fn) for _ in range(runs))


def generated(
    name: str, prospects: int, emails: int, *, reuse: bool, prepare: Callable[[str], object] | None = None
) -> Path:
    """The dashboard generator's year of outbound sales in benchmarks/_work/NAME (``prepare`` adds what
    a benchmark needs beyond it); with ``reuse``, the file an earlier run generated, if there is one."""
    from dashboard import generate  # dashboard.py imports this module

    folder = WORK / name
    path, stamp = folder / "leadline.db", folder / "generated.json"
    if reuse and stamp.is_file() and path.is_file():
        print(f"reusing {path}: {stamp.read_text()}")
        return path
    path_text, _ = fresh_sqlite(name)
    started = time.perf_counter()
    counts = generate(path_text, prospects, emails, datetime.now(UTC))
    if prepare is not None:
        prepare(path_text)
    stamp.write_text(json.dumps(counts))
    print(f"generated {counts} in {time.perf_counter() - started:.0f} s")
    return path


def insert_rows(connection: Any, sql: str, rows: Iterable[tuple[Any, ...]], per_statement: int = 1_000) -> None:
    """``connection.executemany(sql, rows)`` for an ``INSERT ... VALUES (...)``, with many rows a
    statement. The search index is an FTS5 table fed by triggers (prospects, emails, calls,
    customers), and FTS5 writes a segment at every statement that fires one: row by row, generating
    a large data set took hours (what Leadline's own ``db.bulk_insert`` does for the same reason)."""
    head, _, one = sql.partition(" VALUES ")
    iterator = iter(rows)
    while chunk := list(islice(iterator, per_statement)):
        connection.execute(f"{head} VALUES " + ", ".join([one] * len(chunk)), [v for row in chunk for v in row])
