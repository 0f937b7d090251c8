"""The every-minute sweeps on Redis: one worker at a time runs each, they do run, and they run at once
when the queue comes back after an outage or was emptied (what it held may be gone).

Huey's own expiring lock needs Redis 7.4+; on Redis 7.0 (Debian 12's) every locked
periodic job failed, so on Redis no sweep ever ran. Leadline's lock is plain SET NX EX.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from huey.exceptions import TaskLockedException
from sqlalchemy import select

from leadline import clock, health, jobs, worker
from leadline.db import unit_of_work
from leadline.webhooks import service
from leadline.webhooks.models import WebhookEvent
from tests.conftest import changed, require_service
from tests.processes import private_redis, redis_server_reason, wait_for
from tests.webhooks.conftest import event, send_to


@pytest.fixture
def redis_settings(settings):
    require_service(redis_server_reason())
    with private_redis() as redis:
        yield changed(settings, redis_url=redis.url)
    jobs._hueys.pop(redis.url, None)


@pytest.mark.redis
def test_one_runner_at_a_time_and_the_lock_expires(redis_settings):
    huey = worker.scheduled_huey(redis_settings)
    first = worker.periodic_lock(huey, redis_settings, "webhooks.sweep")
    with first:
        with pytest.raises(TaskLockedException), worker.periodic_lock(huey, redis_settings, "webhooks.sweep"):
            pass
        assert 0 < huey.storage.conn.ttl(first.key) <= 600  # a killed holder frees it within ten minutes
        with worker.periodic_lock(huey, redis_settings, "notify.sweep"):  # another job is not held up
            pass
    assert huey.storage.conn.get(first.key) is None
    with worker.periodic_lock(huey, redis_settings, "webhooks.sweep"):
        pass


@pytest.mark.redis
def test_the_webhook_sweep_runs_on_redis_and_applies_what_was_left(settings, redis_settings):
    (target,) = send_to(settings, 1)
    with unit_of_work(settings) as session:  # stored, but the process died before applying it
        stored = service.ingest(session, [event(target, "delivered")])
    clock.set_frozen(clock.utc_now() + timedelta(minutes=2))
    huey = worker.scheduled_huey(redis_settings)
    huey.execute(huey._leadline_periodic["webhooks.sweep"].s())
    with unit_of_work(settings, readonly=True) as session:
        status = session.scalar(select(WebhookEvent.status).where(WebhookEvent.id == stored.new_ids[0]))
    assert status == "applied"


@pytest.mark.redis
def test_a_queue_back_from_an_outage_or_emptied_gets_every_sweep_at_once(settings):
    require_service(redis_server_reason())
    sweeps = {f"leadline.periodic.{item.name}" for item in jobs.PERIODIC if item.at_hour is None}
    with private_redis() as redis:
        huey = worker.scheduled_huey(changed(settings, redis_url=redis.url))
        queued = lambda: sorted(task.name for task in huey.pending())  # noqa: E731
        stop = threading.Event()
        health.start_heartbeat(huey, stop, every=0.2, retry_every=0.1, on_return=lambda: worker.catch_up(huey))
        try:
            assert wait_for(lambda: huey.storage.peek_data(health.HEARTBEAT_KEY) is not None, 10, 0.05)
            stop.wait(0.6)  # three beats with the queue as it was: nothing to catch up
            assert queued() == []
            huey.storage.conn.flushdb()  # emptied between two beats, the outage unseen
            assert wait_for(lambda: queued() == sorted(sweeps), 10, 0.05), queued()
            huey.storage.flush_queue()
            redis.stop()
            stop.wait(0.5)  # beats fail while it is away
            redis.start()
            assert wait_for(lambda: queued() == sorted(sweeps), 10, 0.05), queued()
            stop.wait(0.6)
            assert queued() == sorted(sweeps)  # once: the beats after that find the queue as they left it
        finally:
            stop.set()
            jobs._hueys.pop(redis.url, None)
