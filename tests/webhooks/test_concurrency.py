"""Many signed batches, posted in parallel by several clients to two server processes."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from leadline.activity.models import OutreachActivity
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.webhooks import events as ev
from leadline.webhooks.models import WebhookEvent
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import changed, settings_env
from tests.webhooks.conftest import event, send_to


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    exe = str(Path(sys.executable).with_name("leadline"))
    process = subprocess.Popen(
        [exe, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on {port} did not start: {process.communicate()[0][-2000:]}")


@pytest.mark.slow
def test_parallel_batches_to_two_servers_lose_nothing_and_count_nothing_twice(settings):
    settings = changed(settings, daily_send_limit=1000)
    key = ec.generate_private_key(ec.SECP256R1())
    targets = send_to(settings, 30)
    rng = random.Random(7)
    unique = []
    for target in targets:
        t0 = target.sent_at
        unique += [event(target, "processed", t0), event(target, "delivered", t0 + timedelta(seconds=5))]
        for n in range(rng.randint(0, 6)):
            unique.append(event(target, "open", t0 + timedelta(hours=n + 1), sg_machine_open=rng.random() < 0.3))
        if rng.random() < 0.3:
            unique.append(event(target, "click", t0 + timedelta(hours=2)))
        if rng.random() < 0.1:
            unique.append(event(target, "bounce", t0 + timedelta(seconds=9), type=rng.choice(["bounce", "blocked"])))
    posted = unique * 2 + rng.sample(unique, len(unique) // 2)  # SendGrid's retries and re-batching
    rng.shuffle(posted)
    batches = [posted[i : i + 25] for i in range(0, len(posted), 25)]
    env = {
        **os.environ,
        **settings_env(changed(settings, sendgrid_webhook_public_key=public_key_text(key), log_level="warning")),
    }
    ports = [free_port(), free_port()]
    servers = [start_server(env, port) for port in ports]
    try:

        def post(index: int) -> int:
            body = frame(batches[index])
            url = f"http://127.0.0.1:{ports[index % 2]}/webhooks/sendgrid"
            response = httpx.post(url, content=body, headers=signed_headers(key, body), timeout=120)
            return response.status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(post, range(len(batches))))
    finally:
        for server in servers:
            server.terminate()
        logs = [server.communicate(timeout=30)[0] for server in servers]
    assert Counter(codes) == {200: len(batches)}, "\n".join(log[-3000:] for log in logs)
    with unit_of_work(settings, readonly=True) as session:
        stored = session.scalar(select(func.count()).select_from(WebhookEvent))
        applied = session.scalar(select(func.count()).where(WebhookEvent.status == "applied"))
        timeline = session.scalar(
            select(func.count()).where(
                OutreachActivity.type == "email", OutreachActivity.details["event"].as_string().is_not(None)
            )
        )
        assert stored == len(unique) and applied == len(unique)
        assert timeline == sum(1 for e in unique if e["event"] != "processed")  # one entry per event, never two
        for target in targets:
            row = session.get(EmailActivity, target.id)
            seen = [
                ev.Seen(k, t, at, p)
                for k, t, at, p in session.execute(
                    select(
                        WebhookEvent.event_id, WebhookEvent.event_type, WebhookEvent.occurred_at, WebhookEvent.payload
                    ).where(WebhookEvent.email_activity_id == target.id)
                )
            ]
            expected = ev.email_state(seen, replied=False, base_status="sent")
            assert (row.status, row.open_count, row.machine_open_count, row.click_count) == (
                expected["status"], expected["open_count"], expected["machine_open_count"], expected["click_count"]
            )  # fmt: skip
            prospect = session.get(Prospect, target.prospect_id)
            assert prospect.emails_opened_count == (1 if row.opened_at else 0)
            assert prospect.emails_sent_count == 1
