"""Health: ``GET /healthz`` for load balancers and monitoring, ``leadline doctor`` for a person.

One check, cheap enough to run every few seconds, that takes no lock a writer waits for:

* **database** reachable: one read (the schema version) on its own connection. On SQLite that
  read runs outside any write transaction (a reader never waits for a writer in WAL mode).
* **writes** possible: on SQLite, a separate connection asks for the write lock for at most
  :data:`PROBE_WAIT` seconds, makes a write that changes nothing (``UPDATE ... WHERE 0``, which a
  read-only file refuses) and rolls back at once: the lock is held for well under a millisecond.
  A writer holding the lock longer, a read-only file, and a disk with under :data:`LOW_DISK`
  bytes free are reported. On PostgreSQL: a server in recovery or read-only.
* **queue**: reachable, jobs waiting and scheduled.
* **worker**: the last heartbeat a worker wrote to the queue (every :data:`HEARTBEAT_EVERY`
  seconds; see :func:`start_heartbeat`).

``status`` is ``ok``, ``degraded`` (the server answers and reads work, but something above is
wrong: writes fail or wait, the queue is away, the worker stopped) or ``down`` (the database
cannot be read). /healthz answers 200 for ok and degraded (taking every web server out of a
load balancer because their shared database is locked or full would only add an outage), 503
for down; ``/healthz?strict=1`` answers 503 for degraded too, for monitors that read only the code.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from leadline import __version__
from leadline.config import Settings
from leadline.db import get_engine, take_write_lock
from leadline.jobs import get_huey
from leadline.migrate import head_revision

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("leadline.health")
router = APIRouter(tags=["health"])

PROBE_WAIT = 0.5  # seconds the write probe waits for the write lock (transactions stay well under)
LOW_DISK = 16 * 1024 * 1024  # bytes free under which the database's disk counts as full
HEARTBEAT_KEY = "leadline.worker.heartbeat"
QUEUE_MARK_KEY = "leadline.queue.mark"  # set by the first heartbeat; gone: the queue was emptied
HEARTBEAT_EVERY = 15.0  # seconds
HEARTBEAT_RETRY = 1.0  # seconds between tries while the queue cannot be reached
HEARTBEAT_STALE = 120.0  # seconds without a heartbeat after which the worker counts as stopped


@dataclass
class Report:
    database: str = "ok"  # ok | down
    writes: str = "ok"  # ok | locked | read-only | disk full | failing | unknown
    schema: str | None = None
    queue: dict[str, Any] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    took_ms: float = 0.0

    @property
    def status(self) -> str:
        if self.database != "ok":
            return "down"
        return "degraded" if self.problems else "ok"

    def as_dict(self, *, public: bool = False) -> dict[str, Any]:
        """``public``: for /healthz, which anyone may read: without the worker's host name and pid."""
        worker = {k: v for k, v in self.worker.items() if k not in ("host", "pid")} if public else self.worker
        return {
            "status": self.status, "database": self.database, "writes": self.writes, "schema": self.schema,
            "queue": self.queue, "worker": worker, "problems": self.problems, "version": __version__,
            "tookMs": round(self.took_ms, 1),
        }  # fmt: skip


def check(settings: Settings) -> Report:
    """Everything /healthz and ``leadline doctor`` report; never raises."""
    started = time.perf_counter()
    report = Report()
    try:
        if settings.is_sqlite:
            _sqlite(settings, report)
        else:
            _postgres(settings, report)
    except Exception as error:  # whatever the database says, the check answers
        report.database, report.writes = "down", "unknown"
        report.problems.append(f"the database cannot be read: {_line(error)}")
    if report.database == "ok" and report.schema is not None:
        head = _head()
        if report.schema != head:
            report.problems.append(
                f"the database schema is at {report.schema} but this Leadline needs {head}: run `leadline db upgrade`"
            )
    _queue_and_worker(settings, report)
    report.took_ms = (time.perf_counter() - started) * 1000
    return report


@cache
def _head() -> str | None:
    return head_revision()  # reads every migration file: once per process


def _line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def _sqlite_file(settings: Settings) -> Path | None:
    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite(settings: Settings, report: Report) -> None:
    path = _sqlite_file(settings)
    if path is None:  # in memory (tests): the engine's own connection is the database
        _through_engine(settings, report)
        return
    if not path.is_file():
        report.database, report.writes = "down", "unknown"
        report.problems.append("there is no database file: run `leadline init`")
        return
    _disk(path, report)
    # mode=rw: never create the file; a file that cannot be opened for writing opens read-only.
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=PROBE_WAIT, isolation_level=None, check_same_thread=False)
    try:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error as error:
            report.database = "down"
            report.writes = "unknown" if report.writes == "ok" else report.writes
            report.problems.append(f"the database cannot be read: {_line(error)}")
            return
        report.schema = str(row[0]) if row else None
        try:
            # Beside a busy writer (an import leaves the lock free for 20 ms between its transactions) the
            # probe tries every few ms, as Leadline's writers do, not on SQLite's busy handler.
            connection.execute("PRAGMA busy_timeout = 0")
            if not take_write_lock(connection, PROBE_WAIT):
                raise sqlite3.OperationalError("database is locked")
            connection.execute("UPDATE alembic_version SET version_num = version_num WHERE 0")
        except sqlite3.OperationalError as error:
            if report.writes == "ok":  # a full disk is already said
                _write_failure(report, str(error))
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
    finally:
        connection.close()


def _disk(path: Path, report: Report) -> None:
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return
    free = info.f_bavail * info.f_frsize
    if free < LOW_DISK:
        report.writes = "disk full"
        report.problems.append(f"the database's disk is full: {free / 1e6:.1f} MB free; writes fail")


def _write_failure(report: Report, message: str) -> None:
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        report.writes = "locked"
        report.problems.append(
            f"writers are locked out: another connection has held the write lock for over {PROBE_WAIT:g} s"
        )
    elif "readonly" in lowered or "read-only" in lowered:
        report.writes = "read-only"
        report.problems.append("the database file is read-only: every write fails")
    elif "full" in lowered:
        report.writes = "disk full"
        report.problems.append("the database's disk is full: writes fail")
    else:
        report.writes = "failing"
        report.problems.append(f"a write to the database fails: {message.splitlines()[0][:300]}")


def _through_engine(settings: Settings, report: Report) -> None:
    from sqlalchemy import text

    engine = get_engine(settings)
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="DEFERRED")  # a read takes no write lock
    with engine.connect() as connection:
        report.schema = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if engine.dialect.name == "postgresql":
            read_only = connection.execute(
                text("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'")
            ).scalar()
            if read_only:
                report.writes = "read-only"
                report.problems.append("the PostgreSQL server is read-only (a standby, or in recovery)")
        connection.rollback()


def _postgres(settings: Settings, report: Report) -> None:
    _through_engine(settings, report)


# --- the queue and the worker's heartbeat ---------------------------------------------------------


def _queue_and_worker(settings: Settings, report: Report) -> None:
    from huey.constants import EmptyData

    where = "Redis" if settings.redis_url else "SQLite"
    if not settings.redis_url and not (settings.data_dir / "jobs.db").is_file():
        report.queue = {"state": "ok", "kind": where, "pending": 0, "scheduled": 0}  # not made yet: nothing queued
        report.worker = {"state": "none seen", "lastHeartbeat": None}
        return
    try:
        huey = get_huey(settings)
        report.queue = {"state": "ok", "kind": where, "pending": huey.pending_count(),
                        "scheduled": huey.scheduled_count()}  # fmt: skip
        raw = huey.storage.peek_data(HEARTBEAT_KEY)
    except Exception as error:
        report.queue = {"state": "down", "kind": where}
        report.worker = {"state": "unknown", "lastHeartbeat": None}
        why = _line(error).rstrip(".")
        report.problems.append(
            f"the job queue ({where}) cannot be reached: {why}; jobs wait, the sweeps catch up later"
        )
        return
    beat = _decode(raw) if raw is not EmptyData else None
    if beat is None:
        report.worker = {"state": "none seen", "lastHeartbeat": None}
        return
    age = max(0.0, time.time() - float(beat.get("at", 0)))
    report.worker = {
        "state": "ok" if age <= HEARTBEAT_STALE else "stopped",
        "lastHeartbeat": datetime.fromtimestamp(float(beat.get("at", 0)), UTC).isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "ageSeconds": round(age),
        "host": beat.get("host"),
        "pid": beat.get("pid"),
    }  # fmt: skip
    if age > HEARTBEAT_STALE:
        report.problems.append(
            f"no worker has reported for {round(age)} s (its last heartbeat): sequences, scheduled sends "
            "and sweeps are not running; start `leadline worker`"
        )


def _decode(raw: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(bytes(raw))
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def beat(huey: Any) -> None:
    """Write the worker's heartbeat to the queue (the server reads it from there)."""
    value = {"at": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
    huey.storage.put_data(HEARTBEAT_KEY, json.dumps(value).encode())


def start_heartbeat(
    huey: Any,
    stop: threading.Event,
    every: float = HEARTBEAT_EVERY,
    *,
    on_return: Callable[[], None] | None = None,
    retry_every: float = HEARTBEAT_RETRY,
) -> threading.Thread:
    """A daemon thread that writes a heartbeat now and every ``every`` seconds until ``stop`` is set.

    While the queue cannot be reached it tries again every ``retry_every`` seconds. ``on_return`` runs
    when the queue may have lost what it held: at the first beat after a failed one, and at a beat that
    finds the queue's mark gone (a Redis restarted empty or flushed between two beats, the outage
    unseen). The mark is set only where it is missing, in one step (``put_if_empty``): of the workers,
    the one that sets it again catches up, however a flush falls between their beats.
    """

    def loop() -> None:
        failing = False
        marked = False
        while True:
            try:
                emptied = huey.storage.put_if_empty(QUEUE_MARK_KEY, b"1") and marked
                marked = True
                beat(huey)
                if (failing or emptied) and on_return is not None:
                    log.warning("the job queue is back%s: catching up now", " (it was emptied)" if emptied else "")
                    on_return()
                failing = False
            except Exception as error:  # the queue is away: say so once, keep trying
                if not failing:
                    log.warning("could not write the worker's heartbeat to the queue: %s", _line(error))
                failing = True
            if stop.wait(retry_every if failing else every):
                return

    thread = threading.Thread(target=loop, name="leadline-heartbeat", daemon=True)
    thread.start()
    return thread


# --- GET /healthz -------------------------------------------------------------------------------


@router.get("/healthz", summary="Health: database, writes, queue, worker (200 ok/degraded, 503 down)")
def healthz(request: Request, strict: bool = False) -> JSONResponse:
    report = check(request.app.state.settings)
    failing = report.status == "down" or (strict and report.status != "ok")
    headers = {"Retry-After": "30", "Cache-Control": "no-store"} if failing else {"Cache-Control": "no-store"}
    return JSONResponse(report.as_dict(public=True), status_code=503 if failing else 200, headers=headers)
