"""Faults, with real processes: a web server killed in the middle of a batch, PostgreSQL stopped
and started again while batches arrive, Redis stopped while jobs are queued. A worker killed
in the middle of a send is tests/automation/test_worker_processes.py
(test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice)."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from leadline import clock, worker
from leadline.activity.models import OutreachActivity
from leadline.db import dispose_engines, unit_of_work
from leadline.emails.backends.sendgrid import CUSTOM_ARG
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.sequences.models import SequenceEnrollment
from leadline.webhooks import events as ev
from leadline.webhooks.models import WebhookEvent
from leadline.webhooks.service import APPLY_BATCH
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import _settings_for, changed, require_service, settings_env
from tests.factories import make_prospect
from tests.processes import (
    free_port,
    postgres_binaries_reason,
    private_postgres,
    start_server,
    start_worker,
    stop_all,
    wait_for,
)
from tests.webhooks.conftest import event, send_to

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("processes")]


def engagement(target: EmailActivity, opens: int) -> list[dict[str, Any]]:
    t0 = target.sent_at
    found = [event(target, "processed", t0), event(target, "delivered", t0 + timedelta(seconds=3))]
    found += [event(target, "open", t0 + timedelta(seconds=30 + n), sg_machine_open=n % 5 == 0) for n in range(opens)]
    return [*found, event(target, "click", t0 + timedelta(seconds=40))]


def check_exactly_once(settings, unique: list[dict[str, Any]]) -> None:
    """Every distinct event stored once and applied; each email's state and each prospect's
    counters equal a recount; one timeline entry per event."""
    distinct = {e["sg_event_id"] for e in unique}
    with unit_of_work(settings, readonly=True) as session:
        stored = Counter(session.scalars(select(WebhookEvent.event_id)))
        assert set(stored) == distinct and max(stored.values()) == 1
        assert Counter(session.scalars(select(WebhookEvent.status))) == {"applied": len(distinct)}
        timeline = session.scalar(
            select(func.count()).where(
                OutreachActivity.type == "email", OutreachActivity.details["event"].as_string().is_not(None)
            )
        )
        assert timeline == sum(1 for e in unique if e["event"] != "processed")
        for row in session.scalars(select(EmailActivity)):
            seen = [
                ev.Seen(k, t, at, p)
                for k, t, at, p in session.execute(
                    select(WebhookEvent.event_id, WebhookEvent.event_type, WebhookEvent.occurred_at,
                           WebhookEvent.payload).where(WebhookEvent.email_activity_id == row.id)
                )
            ]  # fmt: skip
            expected = ev.email_state(seen, replied=False, base_status="sent")
            assert (row.status, row.open_count, row.machine_open_count, row.click_count) == (
                expected["status"], expected["open_count"], expected["machine_open_count"], expected["click_count"]
            ), row.id  # fmt: skip
            prospect = session.get(Prospect, row.prospect_id)
            assert prospect is not None
            assert (prospect.emails_sent_count, prospect.emails_opened_count) == (1, 1 if row.opened_at else 0)


def _stored(settings) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)


def test_a_server_killed_mid_batch_the_retry_to_another_completes_it_once(settings, signing_key, env, tmp_path):
    targets = send_to(settings, 40)
    unique = [e for target in targets for e in engagement(target, 60)]  # 2,520 events: a big batch
    random.Random(3).shuffle(unique)
    body = frame(unique)
    first = start_server(env, free_port(), tmp_path)
    port = int(first.args[first.args.index("--port") + 1])
    outcome: dict[str, Any] = {}

    def post() -> None:
        try:
            outcome["response"] = httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid", content=body,
                                             headers=signed_headers(signing_key, body), timeout=60)  # fmt: skip
        except httpx.HTTPError as error:
            outcome["error"] = error

    poster = threading.Thread(target=post)
    poster.start()
    try:
        # The events are committed (what a 200 would promise); the server is applying them: kill it.
        assert wait_for(lambda: _stored(settings) > 0 or not poster.is_alive(), 30, 0.01), first.tail()
        first.send(signal.SIGKILL)
        first.popen.wait(10)
        poster.join(60)
    finally:
        stop_all([first], signal.SIGKILL)
    assert "error" in outcome, f"the batch finished before the kill: {outcome}"  # SendGrid would post it again
    with unit_of_work(settings, readonly=True) as session:
        applied = session.scalar(select(func.count()).where(WebhookEvent.applied_at.is_not(None)))
    # Each part of the post (APPLY_BATCH events) is stored and applied in one transaction: the kill cut
    # the post between two parts (or after the last commit and before the answer). No 2xx was given,
    # so SendGrid posts it again, and the retry finds the parts stored as duplicates.
    steps = set(range(APPLY_BATCH, len(unique), APPLY_BATCH)) | {len(unique)}
    stored = _stored(settings)
    assert stored == applied and applied in steps, (stored, applied)

    second = start_server(env, free_port(), tmp_path)
    try:
        port = int(second.args[second.args.index("--port") + 1])
        retry = httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid", content=body,
                           headers=signed_headers(signing_key, body), timeout=60)  # fmt: skip
    finally:
        logs = stop_all([second])
    assert retry.status_code == 200, logs
    assert retry.json() == {
        "received": len(unique), "new": len(unique) - stored, "duplicates": stored, "applied": len(unique) - stored,
        "unmatched": 0, "failed": 0,
    }  # fmt: skip
    check_exactly_once(settings, unique)


def test_postgres_stopped_and_started_while_batches_arrive(settings, tmp_path, monkeypatch):
    require_service(postgres_binaries_reason())
    from cryptography.hazmat.primitives.asymmetric import ec

    from leadline.migrate import upgrade
    from leadline.webhooks.signature import public_key_text

    key = ec.generate_private_key(ec.SECP256R1())
    with private_postgres() as pg:
        admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE leadline"))
        admin.dispose()
        settings = _settings_for(pg.url("leadline"), tmp_path, monkeypatch)
        upgrade(settings)
        settings = changed(settings, sendgrid_webhook_public_key=public_key_text(key), embedded_worker=False,
                           log_level="warning")  # fmt: skip
        env = {**os.environ, **settings_env(settings)}
        try:
            targets = send_to(settings, 20)
            unique = [e for target in targets for e in engagement(target, 8)]
            rng = random.Random(5)
            posted = unique + rng.sample(unique, len(unique) // 3)
            rng.shuffle(posted)
            batches = [posted[i : i + 12] for i in range(0, len(posted), 12)]
            ports = [free_port(), free_port()]
            servers = [start_server(env, port, tmp_path) for port in ports]
            codes: Counter[int | str] = Counter()
            health: Counter[int | str] = Counter()

            def sendgrid(index: int) -> None:
                """SendGrid: post each batch until it gets a 2xx, retrying a moment later."""
                with httpx.Client(timeout=30) as client:
                    for n, batch in enumerate(batches[index::2]):
                        body = frame(batch)
                        while True:
                            try:
                                response = client.post(f"http://127.0.0.1:{ports[(index + n) % 2]}/webhooks/sendgrid",
                                                       content=body, headers=signed_headers(key, body))  # fmt: skip
                                codes[response.status_code] += 1
                                if response.status_code == 200:
                                    break
                            except httpx.HTTPError as error:
                                codes[type(error).__name__] += 1
                            time.sleep(0.3)
                        time.sleep(0.05)

            senders = [threading.Thread(target=sendgrid, args=(i,)) for i in range(2)]
            for sender in senders:
                sender.start()
            assert wait_for(lambda: codes[200] >= 8, 30)
            pg.stop("fast")  # every connection is cut, in the middle of whatever it was doing
            assert wait_for(lambda: codes[503] >= 4, 20), codes
            try:
                health[httpx.get(f"http://127.0.0.1:{ports[0]}/healthz", timeout=10).status_code] += 1
            finally:
                time.sleep(1)
                pg.start()
            for sender in senders:
                sender.join(60)
            logs = stop_all(servers)
            assert not any(s.is_alive() for s in senders), f"{codes}\n{logs}"
            assert health == {503: 1}
            assert set(codes) <= {200, 503}, f"{codes}\n{logs}"  # unavailable: SendGrid retries; never a 500
            # Events stored and acknowledged just before their apply lost the database: the
            # sweep (every minute, for events received over a minute ago) applies them.
            clock.set_frozen(clock.utc_now() + timedelta(minutes=2))
            worker.run(settings, "webhooks.sweep")
            clock.set_frozen(None)
            check_exactly_once(settings, unique)
        finally:
            dispose_engines()


def _statuses(settings) -> Counter[str]:
    with unit_of_work(settings, readonly=True) as session:
        return Counter(session.scalars(select(EmailActivity.status)))


@pytest.mark.redis
def test_redis_stopped_while_jobs_are_queued_the_work_is_done_when_it_is_back(
    settings, redis, fake_sendgrid, cli, env, tmp_path
):
    people = [make_prospect(settings, name=f"Queue Shop {n}", email=f"q{n}@queueshop{n}.com", tier=1) for n in range(5)]
    workers = [start_worker(env, tmp_path, str(n)) for n in (1, 2)]
    try:
        started = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "5",
                      "--steps", "follow_up_1:8s")  # fmt: skip
        assert started.exit_code == 0, started.stderr
        assert wait_for(lambda: len(fake_sendgrid.requests) >= 5, 30), stop_all(workers)
        # The follow-ups are queued in Redis, due in 8 s. Redis goes away, and its queue with it.
        redis.stop()
        at = clock.utc_now() + timedelta(seconds=12)  # in the future however slow the CLI starts
        scheduled = cli("emails", "send", "--template", "solution", "--prospect", people[0].id, "--force", "--at", at)
        assert scheduled.exit_code == 0, scheduled.stderr  # the send is in the database; the queue can wait
        time.sleep(max(3.0, (at - clock.utc_now()).total_seconds() + 1))  # the follow-ups (8 s) and it are due
        assert all(w.popen.poll() is None for w in workers), stop_all(workers)  # they wait for Redis, alive
        assert len(fake_sendgrid.requests) == 5  # nothing due was sent while the queue was away
        redis.start()  # empty: nothing that was queued is there any more
        # The workers' heartbeats (every 15 s, each second while it fails) find the queue back, or emptied,
        # and queue the sweeps at once, which find the six sends due (5 follow-ups, 1 scheduled) in the
        # database, unless the next minute's sweeps come first.
        whole_logs = lambda: "".join(w.log.read_text(errors="replace") for w in workers)  # noqa: E731
        caught_up = wait_for(lambda: "the job queue is back" in whole_logs(), 30, 0.5)
        done = wait_for(lambda: len(fake_sendgrid.requests) >= 11, 100, 0.5)
        wait_for(lambda: _statuses(settings) == {"sent": 11}, 30, 0.5)  # the last send is recorded, not in hand
    finally:
        logs = stop_all(workers)
    sent = [json.loads(r.body)["personalizations"][0]["custom_args"][CUSTOM_ARG] for r in fake_sendgrid.requests]
    assert done, f"{len(sent)} sent\n{logs}"
    assert caught_up, logs  # (the tail of each log is Redis's tracebacks)
    assert len(sent) == len(set(sent)) == 11, Counter(sent).most_common(2)  # 5 first emails, 5 follow-ups, 1 scheduled
    with unit_of_work(settings, readonly=True) as session:
        statuses = Counter(session.scalars(select(EmailActivity.status)))
        assert statuses == {"sent": 11}
        assert Counter(session.scalars(select(SequenceEnrollment.status))) == {"completed": 5}
