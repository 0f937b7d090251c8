"""The wiring, with real processes: `leadline worker` on the SQLite queue, two workers on Redis,
and `leadline serve` alone with its embedded worker. A sequence's follow-ups go out when their
delay passes, stop for whoever replied, and Slack gets each reply notification once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadline.config import get_settings
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.webhooks.security import inbound_token
from tests.conftest import redis_reason, redis_url_for_worker, require_service
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
    """Settings shared by this test and the processes it starts."""
    extra = {
        "LEADLINE_SEND_WINDOW_START": "00:00",
        "LEADLINE_SEND_WINDOW_END": "23:59",
        "LEADLINE_SEND_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "LEADLINE_LOG_LEVEL": "warning",
    }
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return {k: v for k, v in os.environ.items()}


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
    people = [make_prospect(name=f"Shop {n}", email=f"o{n}@shop{n}.com", tier=1) for n in range(4)]
    result = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "4",
                 "--steps", "follow_up_1:6s")  # fmt: skip
    assert "for 4 prospects" in result.stdout, result.stdout + result.stderr  # the worker may send some of them
    with unit_of_work(readonly=True) as session:
        first = session.scalar(select(EmailActivity).where(EmailActivity.prospect_id == people[0].id))
    assert post_reply(first).json()["status"] == "matched"
    try:

        def done() -> bool:
            follow_ups = [m for m in outbox_messages(settings) if m["Subject"].startswith("Re:")]
            return len(follow_ups) >= 3 and any(t.endswith("replied") for t in slack.titles())

        assert wait_for(lambda: len(outbox_messages(settings)) >= 4, 30)

        finished = wait_for(done)
    finally:
        logs = stop(processes)
    assert finished, f"the workers did not finish in time:\n{logs}"
    time.sleep(1)
    messages = outbox_messages(settings)
    follow_ups = [m["To"] for m in messages if m["Subject"].startswith("Re:")]
    assert len(messages) == 7 and sorted(follow_ups) == sorted(f"Pat Doe <{p.email}>" for p in people[1:])
    assert [t for t in slack.titles() if t.endswith("replied")] == ["Shop 0 replied"]
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
def test_two_workers_on_redis(cli, env, slack, hook, settings, monkeypatch):
    require_service(redis_reason())
    import redis

    url = redis_url_for_worker()
    redis.Redis.from_url(url).flushdb()
    monkeypatch.setenv("LEADLINE_REDIS_URL", url)
    get_settings.cache_clear()
    environment = {**env, "LEADLINE_REDIS_URL": url}
    workers = [start(["worker", "--threads", "2"], environment) for _ in range(2)]
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with TestClient(create_app(get_settings())) as client:
        hook.client = client
        hook.settings = get_settings()
        scenario(cli, settings, slack, _reply_in_process(hook), workers)
    redis.Redis.from_url(url).flushdb()


@pytest.mark.slow
def test_serve_alone_runs_the_worker(cli, env, slack, settings):
    port = free_port()
    server = start(["serve", "--port", str(port)], env)
    assert wait_for(lambda: _up(port), 60), stop([server])

    def post(first: EmailActivity) -> Any:
        body, content_type = default_mode(first, "Yes, call me Friday.")
        return httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid/inbound/{inbound_token(get_settings())}",
                          content=body, headers={"content-type": content_type}, timeout=30)  # fmt: skip

    scenario(cli, settings, slack, post, [server])


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
