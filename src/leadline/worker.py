"""The worker: every domain's jobs loaded, the periodic sweeps scheduled, Huey's consumer.

The top layer beside the shells: it imports each domain's ``jobs`` module (which registers
its jobs with :mod:`leadline.jobs`), so a job queued by any process can run here. ``leadline
worker`` runs :func:`consumer` on its own; ``leadline serve`` runs an :class:`EmbeddedWorker`.
"""

from __future__ import annotations

import logging
from typing import Any

import leadline.analytics.jobs
import leadline.booking.jobs
import leadline.emails.jobs
import leadline.notify.jobs
import leadline.prospects.jobs
import leadline.sequences.jobs
import leadline.tasks.jobs
import leadline.webhooks.jobs  # noqa: F401  (each registers its jobs)
from leadline import jobs
from leadline.config import Settings
from leadline.health import start_heartbeat
from leadline.jobs import PERIODIC, REGISTRY, Periodic, get_huey, run_registered

log = logging.getLogger("leadline.worker")


def set_immediate(on: bool) -> None:
    """Run deferred jobs at once, in this thread, after commit (tests): here every job is registered."""
    jobs.set_immediate(on)


def run(settings: Settings, name: str, *args: Any) -> Any:
    """Run a registered job now, in this process."""
    return run_registered(settings, name, *args)


def scheduled_huey(settings: Settings) -> Any:
    """The queue with the periodic sweeps added (once per queue per process)."""
    from huey import crontab

    huey = get_huey(settings)
    if not huey._leadline_periodic:
        for item in PERIODIC:
            schedule = (
                _local_crontab(settings, item)
                if item.at_hour is not None
                else crontab(minute=f"*/{item.every_minutes}")
            )
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


def catch_up(huey: Any) -> None:
    """Queue every sweep that runs each few minutes now, not at its next turn: the queue is back after
    an outage, or was emptied, and the jobs it held (follow-ups, scheduled sends, notifications) may be
    gone. The sweeps find that work in the database; the daily and weekly jobs keep their hour."""
    for item in PERIODIC:
        if item.at_hour is None and item.name in huey._leadline_periodic:
            huey._leadline_periodic[item.name]()


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


# --- consumers -------------------------------------------------------------------------------


def consumer(settings: Settings, *, threads: int | None = None, periodic: bool = True, embedded: bool = False) -> Any:
    import threading

    from huey.consumer import Consumer

    class BeatingConsumer(Consumer):  # type: ignore[misc]
        """Writes a heartbeat to the queue while it runs (/healthz and `leadline doctor` read it)."""

        _beating: threading.Event | None = None

        def start(self) -> None:
            super().start()
            self._beating = threading.Event()
            start_heartbeat(self.huey, self._beating, on_return=lambda: catch_up(self.huey))

        def stop(self, graceful: bool = False) -> None:
            if self._beating is not None:
                self._beating.set()
            super().stop(graceful=graceful)

    class EmbeddedConsumer(BeatingConsumer):
        def _set_signal_handlers(self) -> None:
            """The host process (the web server) keeps its own Ctrl+C and SIGTERM handling."""

    kind = EmbeddedConsumer if embedded else BeatingConsumer
    return kind(
        scheduled_huey(settings), workers=threads or settings.worker_threads, worker_type="thread", periodic=periodic,
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
