"""Background jobs on Huey, the side services use: a name registry and queueing after commit.

Jobs are plain functions ``fn(settings, *args)`` registered by name with :func:`job`
in each domain's ``jobs.py``; the worker (:mod:`leadline.worker`, the top layer) loads every
one of them and runs them. Services ask for work with ``defer(session, "name", ...)``:
the job is queued only after the transaction that asked for it commits (and dropped
if it rolls back). Every job checks the database before acting, so running one twice,
or after a crash, does no harm; and the periodic sweeps find any work whose queue entry
was lost (Redis restarted, a process killed): the database, not the queue, is the
record of what is left to do.

The queue is Huey's SQLite storage (``data/jobs.db``) by default, Redis when
``LEADLINE_REDIS_URL`` is set, so that any number of ``leadline worker`` processes on
any number of machines share it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from leadline.config import Settings
from leadline.db import after_commit, settings_of

log = logging.getLogger("leadline.jobs")

JobFunction = Callable[..., Any]


@dataclass(frozen=True)
class Periodic:
    name: str
    every_minutes: int = 1
    at_hour: int | None = None  # local hour (LEADLINE_TIMEZONE) for daily/weekly jobs
    on_weekday: int | None = None  # 0 = Monday


REGISTRY: dict[str, JobFunction] = {}
PERIODIC: list[Periodic] = []
_immediate = {"on": False}
_hueys: dict[str, Any] = {}
_lock = threading.Lock()


def job(name: str, *, periodic: Periodic | None = None) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(settings, *args)`` as the job ``name`` (and, optionally, run it on a schedule)."""

    def register(fn: JobFunction) -> JobFunction:
        REGISTRY[name] = fn
        if periodic is not None:
            PERIODIC.append(periodic)
        return fn

    return register


def run_registered(settings: Settings, name: str, *args: Any) -> Any:
    """Run job ``name`` now, in this process (the registry must hold it: see leadline.worker)."""
    try:
        fn = REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job named {name!r} (is leadline.worker imported?)") from None
    return fn(settings, *args)


# --- the queue -------------------------------------------------------------------------------


def _queue_key(settings: Settings) -> str:
    return settings.redis_url or f"sqlite:{settings.data_dir / 'jobs.db'}"


def get_huey(settings: Settings) -> Any:
    """The Huey instance for ``settings`` (one per queue per process), with the one generic task
    that runs a registered job by name (the worker adds the periodic sweeps to it)."""
    key = _queue_key(settings)
    with _lock:
        huey = _hueys.get(key)
        if huey is None:
            huey = _hueys[key] = _make_huey(settings)
        return huey


def _make_huey(settings: Settings) -> Any:
    from huey import RedisHuey, SqliteHuey

    if settings.redis_url:
        huey = RedisHuey("leadline", url=settings.redis_url, results=False, utc=True)
    else:
        from leadline.config import create_private

        settings.ensure_data_dir()
        create_private(settings.data_dir / "jobs.db")  # 0600, and so its -wal and -shm
        huey = SqliteHuey("leadline", filename=str(settings.data_dir / "jobs.db"), results=False, utc=True)

    def leadline_job(name: str, args: list[Any]) -> None:
        run_registered(settings, name, *args)

    huey._leadline_job = huey.task(name="leadline.job", retries=3, retry_delay=10)(leadline_job)
    huey._leadline_periodic = {}
    return huey


def set_immediate(on: bool) -> None:
    """Run deferred jobs at once (use ``leadline.worker.set_immediate``, where every job is registered)."""
    _immediate["on"] = on


def enqueue(settings: Settings, name: str, *args: Any, delay: timedelta | None = None) -> None:
    """Queue job ``name``; if the queue cannot be reached, the periodic sweeps will find the work."""
    if _immediate["on"]:
        run_registered(settings, name, *args)
        return
    try:
        task = get_huey(settings)._leadline_job
        if delay is not None and delay.total_seconds() > 0:
            task.schedule((name, list(args)), delay=max(1, int(delay.total_seconds()) + 1))
        else:
            task(name, list(args))
    except Exception as error:  # Redis down, the queue file locked: not fatal, the sweep catches up
        log.warning("could not queue job %s (%s); the periodic sweep will pick the work up", name, error)


def defer(session: Session, name: str, *args: Any, delay: timedelta | None = None) -> None:
    """Queue job ``name`` once the unit of work that owns ``session`` has committed."""
    settings = settings_of(session)
    after_commit(session, lambda: enqueue(settings, name, *args, delay=delay))
