"""The wiring, with real processes: `leadline worker` on the SQLite queue, two workers on Redis,
and `leadline serve` alone with its embedded worker. A sequence's follow-ups go out when their
delay passes, stop for whoever replied, and Slack gets each reply notification once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.webhooks.security import inbound_token
from tests.conftest import Cli, changed, configure, redis_reason, redis_url_for_worker, require_service, settings_env
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect
from tests.webhooks.test_inbound import default_mode

EXE = str(Path(sys.executable).with_name("leadline"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(settings, slack, monkeypatch) -> dict[str, str]:
    """Settings shared by this test and the processes it starts: the environment that says them."""
    configure(monkeypatch, settings, send_window_start="00:00", send_window_end="24:00",
              send_window_days="mon,tue,wed,thu,fri,sat,sun", log_level="warning")  # fmt: skip
    return {**os.environ, **settings_env(settings)}


def start(args: list[str], environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [EXE, *args], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def stop(processes: list[subprocess.Popen[str]]) -> str:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
    logs = []
    for process in processes:
        try:
            logs.append(process.communicate(timeout=30)[0])
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            logs.append(process.communicate()[0])
    return "\n".join(log[-3000:] for log in logs)


def wait_for(check: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def scenario(cli, settings, slack, post_reply: Any, processes: list[subprocess.Popen[str]]) -> None:
    people = [make_prospect(settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com", tier=1) for n in range(4)]
    result = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "4",
                 "--steps", "follow_up_1:6s")  # fmt: skip
    assert "for 4 prospects" in result.stdout, result.stdout + result.stderr  # the worker may send some of them
    with unit_of_work(settings, readonly=True) as session:
        first = session.scalar(select(EmailActivity).where(EmailActivity.prospect_id == people[0].id))
    assert post_reply(first).json()["status"] == "matched"
    try:

        def done() -> bool:
            follow_ups = [m for m in outbox_messages(settings) if m["Subject"].startswith("Re:")]
            return len(follow_ups) >= 3 and any(" replied" in t for t in slack.titles())

        assert wait_for(lambda: len(outbox_messages(settings)) >= 4, 30)

        finished = wait_for(done)
    finally:
        logs = stop(processes)
    assert finished, f"the workers did not finish in time:\n{logs}"
    time.sleep(1)
    messages = outbox_messages(settings)
    follow_ups = [m["To"] for m in messages if m["Subject"].startswith("Re:")]
    assert len(messages) == 7 and sorted(follow_ups) == sorted(f"Pat Doe <{p.email}>" for p in people[1:])
    assert [t.split(":")[0] for t in slack.titles() if " replied" in t] == ["Shop 0 replied"]
    rows = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}
    assert rows[people[0].id]["stopReason"] == "replied"
    assert {rows[p.id]["status"] for p in people[1:]} == {"completed"}


def _reply_in_process(hook: Any) -> Any:
    def post(first: EmailActivity) -> Any:
        body, content_type = default_mode(first, "Yes, call me Friday.")
        return hook.client.post(f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}", content=body,
                                headers={"content-type": content_type})  # fmt: skip

    return post


@pytest.mark.slow
def test_one_worker_on_the_sqlite_queue(cli, env, slack, hook, settings):
    workers = [start(["worker", "--threads", "2"], env)]
    scenario(cli, settings, slack, _reply_in_process(hook), workers)


@pytest.mark.slow
@pytest.mark.redis
def test_two_workers_on_redis(env, slack, hook, settings):
    require_service(redis_reason())
    import redis

    url = redis_url_for_worker()
    redis.Redis.from_url(url).flushdb()
    settings = changed(settings, redis_url=url)
    cli = Cli(settings)
    environment = {**env, **settings_env(settings)}
    workers = [start(["worker", "--threads", "2"], environment) for _ in range(2)]
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with TestClient(create_app(settings)) as client:
        hook.client = client
        hook.settings = settings
        scenario(cli, settings, slack, _reply_in_process(hook), workers)
    redis.Redis.from_url(url).flushdb()


@pytest.mark.slow
def test_serve_alone_runs_the_worker(cli, env, slack, settings):
    port = free_port()
    server = start(["serve", "--port", str(port)], env)
    assert wait_for(lambda: _up(port), 60), stop([server])

    def post(first: EmailActivity) -> Any:
        body, content_type = default_mode(first, "Yes, call me Friday.")
        return httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid/inbound/{inbound_token(settings)}",
                          content=body, headers={"content-type": content_type}, timeout=30)  # fmt: skip

    scenario(cli, settings, slack, post, [server])


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(cli, fake_sendgrid, env, settings):
    """kill -9 a worker while SendGrid is answering; a second worker sends the rest, and the one
    the first worker had in flight is not sent again: it becomes 'unknown' and its sequence stops
    with that reason, so a person can check it."""
    from leadline import clock
    from leadline.emails.backends.sendgrid import CUSTOM_ARG
    from leadline.emails.flows import mark_stale_sends
    from leadline.sequences import flows

    environment = {**os.environ, **settings_env(changed(settings, sendgrid_timeout_seconds=10))}
    fake_sendgrid.latency = 1.0
    people = [make_prospect(settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com", tier=1) for n in range(5)]
    soon = (clock.utc_now() + timedelta(seconds=2)).isoformat()
    result = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "5", "--at", soon)
    assert result.exit_code == 0, result.stderr
    first = start(["worker", "--threads", "1"], environment)
    try:
        assert wait_for(lambda: len(fake_sendgrid.requests) >= 2, 60), stop([first])
        time.sleep(0.3)  # the second request is on the wire, its answer (1 s) not yet back
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = len(fake_sendgrid.requests)
        second = start(["worker", "--threads", "1"], environment)

        def settled() -> bool:
            statuses = _statuses(settings)
            return len(statuses) == 5 and statuses.count("sent") + statuses.count("sending") == 5

        settled_in_time = wait_for(settled, 90)
    finally:
        logs = stop([p for p in (first, locals().get("second")) if p is not None])
    assert settled_in_time, f"{_statuses(settings)}\n{logs}"
    sent_ids = [json.loads(r.body)["personalizations"][0]["custom_args"][CUSTOM_ARG] for r in fake_sendgrid.requests]
    assert len(sent_ids) == len(set(sent_ids)), f"an email reached SendGrid twice\n{logs}"
    assert killed_at == 2 and len(sent_ids) == 5  # the in-flight one reached SendGrid once, never again
    statuses = _statuses(settings)
    assert statuses.count("sent") == 4 and statuses.count("sending") == 1, statuses
    # Ten minutes on, the sweeps settle the one the dead worker left in flight.
    clock.set_frozen(clock.utc_now() + timedelta(minutes=11))
    try:
        assert mark_stale_sends(settings, actor="test") == 1
        flows.reconcile(settings)
    finally:
        clock.set_frozen(None)
    rows = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}
    assert len(rows) == len(people)
    (stuck,) = [r for r in rows.values() if r["status"] == "stopped"]
    assert "outcome is unknown" in stuck["stopReason"]
    assert sorted(_statuses(settings)) == ["sent"] * 4 + ["unknown"]
    going = [r for r in rows.values() if r["status"] != "stopped"]
    assert len(going) == 4
    assert {(r["status"], r["step"]) for r in going} == {("active", 1)}  # the first email out, follow-ups to come


def _statuses(settings) -> list[str]:
    with unit_of_work(settings, readonly=True) as session:
        return list(session.scalars(select(EmailActivity.status)).all())
