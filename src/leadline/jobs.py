"""Background jobs on Huey: a name registry, queueing after commit, the periodic sweeps.

Jobs are plain functions ``fn(settings, *args)`` registered by name with :func:`job`
in each domain's ``jobs.py``. Services ask for work with ``defer(session, "name", ...)``:
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
from leadline.db import after_commit

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


def import_all() -> None:
    """Every domain's jobs module, so the registry is complete (worker and server call this)."""
    import leadline.analytics.jobs
    import leadline.emails.jobs
    import leadline.notify.jobs
    import leadline.sequences.jobs
    import leadline.tasks.jobs
    import leadline.webhooks.jobs  # noqa: F401


def run(settings: Settings, name: str, *args: Any) -> Any:
    """Run a registered job now, in this process."""
    import_all()
    try:
        fn = REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None
    return fn(settings, *args)


# --- the queue -------------------------------------------------------------------------------


def _queue_key(settings: Settings) -> str:
    return settings.redis_url or f"sqlite:{settings.data_dir / 'jobs.db'}"


def get_huey(settings: Settings) -> Any:
    """The Huey instance for ``settings`` (one per queue per process), with every job registered."""
    key = _queue_key(settings)
    with _lock:
        huey = _hueys.get(key)
        if huey is None:
            huey = _hueys[key] = _make_huey(settings)
        return huey


def _make_huey(settings: Settings) -> Any:
    from huey import RedisHuey, SqliteHuey, crontab

    import_all()
    if settings.redis_url:
        huey = RedisHuey("leadline", url=settings.redis_url, results=False, utc=True)
    else:
        from leadline.config import create_private

        settings.ensure_data_dir()
        create_private(settings.data_dir / "jobs.db")  # 0600, and so its -wal and -shm
        huey = SqliteHuey("leadline", filename=str(settings.data_dir / "jobs.db"), results=False, utc=True)

    def leadline_job(name: str, args: list[Any]) -> None:
        REGISTRY[name](settings, *args)

    huey._leadline_job = huey.task(name="leadline.job", retries=3, retry_delay=10)(leadline_job)
    huey._leadline_periodic = {}
    for item in PERIODIC:
        if item.at_hour is not None:
            schedule = _local_crontab(settings, item)
        else:
            schedule = crontab(minute=f"*/{item.every_minutes}")
        _periodic(huey, settings, item.name, schedule)
    return huey


class RedisLock:
    """A lock on Redis that expires, should its holder be killed (``SET NX EX``: any Redis version).

    Huey's own ``lock_task(ttl=...)`` needs hash-field expiry (Redis 7.4+); on older servers
    every locked periodic job failed, so no sweep ever ran on Redis 7.0 (Debian 12's).
    """

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, connection: Any, key: str, ttl: int) -> None:
        self.connection, self.key, self.ttl = connection, key, ttl
        self.token: str | None = None

    def __enter__(self) -> RedisLock:
        from uuid import uuid4

        from huey.exceptions import TaskLockedException

        token = uuid4().hex
        if not self.connection.set(self.key, token, nx=True, ex=self.ttl):
            raise TaskLockedException(f"unable to acquire lock {self.key}")
        self.token = token
        return self

    def __exit__(self, *_: object) -> None:
        # Only our own lock: after a run longer than the ttl, another worker may hold it now.
        if self.token is not None:
            self.connection.eval(self._RELEASE, 1, self.key, self.token)
            self.token = None


def periodic_lock(huey: Any, settings: Settings, name: str) -> RedisLock | None:
    if not settings.redis_url:
        return None
    return RedisLock(huey.storage.conn, f"{huey.name}.leadline.lock.{name}", ttl=600)


def _periodic(huey: Any, settings: Settings, name: str, schedule: Any) -> None:
    from huey.exceptions import TaskLockedException

    # Every consumer's scheduler queues each periodic job, so on Redis a lock (which expires,
    # should its holder be killed) lets one run at a time. Huey's SQLite storage has no
    # expiring locks, and a lock left by a killed worker would stop the sweep for good, so
    # there the runs may overlap: every job claims its work in the database and is safe so.
    def periodic_job() -> None:
        lock = periodic_lock(huey, settings, name)  # one per run: the worker threads share this function
        if lock is None:
            REGISTRY[name](settings)
            return
        try:
            with lock:
                REGISTRY[name](settings)
        except TaskLockedException:
            log.debug("periodic %s is already running elsewhere", name)

    huey._leadline_periodic[name] = huey.periodic_task(schedule, name=f"leadline.periodic.{name}")(periodic_job)


def _local_crontab(settings: Settings, item: Periodic) -> Any:
    """A daily/weekly schedule at a local hour (Huey's crontab runs in UTC)."""
    from datetime import UTC, datetime

    zone = settings.zone

    def due(moment: datetime) -> bool:
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
        if local.minute != 0 or local.hour != item.at_hour:
            return False
        return item.on_weekday is None or local.weekday() == item.on_weekday

    return due


def set_immediate(on: bool) -> None:
    """Run deferred jobs at once, in this thread, after commit (tests; single-shot CLI runs)."""
    _immediate["on"] = on


def enqueue(settings: Settings, name: str, *args: Any, delay: timedelta | None = None) -> None:
    """Queue job ``name``; if the queue cannot be reached, the periodic sweeps will find the work."""
    if _immediate["on"]:
        run(settings, name, *args)
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
    settings: Settings | None = session.info.get("settings")
    if settings is None:
        from leadline.config import get_settings

        settings = get_settings()
    after_commit(session, lambda: enqueue(settings, name, *args, delay=delay))


# --- consumers -------------------------------------------------------------------------------


def consumer(settings: Settings, *, threads: int | None = None, periodic: bool = True, embedded: bool = False) -> Any:
    from huey.consumer import Consumer

    class EmbeddedConsumer(Consumer):  # type: ignore[misc]
        def _set_signal_handlers(self) -> None:
            """The host process (the web server) keeps its own Ctrl+C and SIGTERM handling."""

    kind = EmbeddedConsumer if embedded else Consumer
    return kind(
        get_huey(settings), workers=threads or settings.worker_threads, worker_type="thread", periodic=periodic,
        scheduler_interval=1,
    )  # fmt: skip


class EmbeddedWorker:
    """The worker inside ``leadline serve``: Huey's scheduler and worker threads in the server process."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = consumer(settings, embedded=True)

    def start(self) -> None:
        self.consumer.start()

    def stop(self) -> None:
        self.consumer.stop(graceful=True)
