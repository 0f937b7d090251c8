"""kill -9 while a server stores and applies a big SendGrid batch, on SQLite and PostgreSQL: the batch
is stored and applied 500 events per transaction (short transactions, docs/architecture.md), so the
kill leaves whole parts stored and applied and the rest not, before any answer; SendGrid's retry to
the restarted server stores and applies the rest, each event exactly once (counters equal a recount,
one timeline entry each)."""

from __future__ import annotations

import os
import random
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.webhooks.models import WebhookEvent
from leadline.webhooks.service import APPLY_BATCH
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import configure, settings_env
from tests.processes import free_port, start_server, stop_all, wait_for
from tests.scale.test_faults import check_exactly_once, engagement
from tests.webhooks.conftest import send_to

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]


def _counts(settings: Settings) -> tuple[int, int]:
    with unit_of_work(settings, readonly=True) as session:
        stored = session.scalar(select(func.count()).select_from(WebhookEvent)) or 0
        applied = session.scalar(select(func.count()).where(WebhookEvent.applied_at.is_not(None))) or 0
    return int(stored), int(applied)


def test_a_server_killed_while_applying_a_batch_the_retry_applies_each_event_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    configure(monkeypatch, settings, sendgrid_webhook_public_key=public_key_text(key), embedded_worker=False,
              log_level="warning")  # fmt: skip
    env = {**os.environ, **settings_env(settings)}
    targets = send_to(settings, 40)
    unique = [e for target in targets for e in engagement(target, 60)]  # 2,520 events: six transactions
    random.Random(5).shuffle(unique)
    body = frame(unique)
    first = start_server(env, free_port(), tmp_path)
    port = int(first.args[first.args.index("--port") + 1])
    outcome: dict[str, Any] = {}

    def post() -> None:
        try:
            outcome["response"] = httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid", content=body,
                                             headers=signed_headers(key, body), timeout=60)  # fmt: skip
        except httpx.HTTPError as error:
            outcome["error"] = error

    poster = threading.Thread(target=post)
    poster.start()
    try:
        assert wait_for(lambda: _counts(settings)[0] > 0 or not poster.is_alive(), 30, 0.01), first.tail()
        first.send(signal.SIGKILL)
        first.popen.wait(10)
        poster.join(60)
    finally:
        stop_all([first], signal.SIGKILL)
    assert "error" in outcome, f"the batch finished before the kill: {outcome}"  # SendGrid posts it again
    stored, applied = _counts(settings)
    # Each part (APPLY_BATCH events) is stored and applied in one transaction: whole parts are there,
    # each applied, and the rest is not (no 2xx was given: SendGrid posts the batch again).
    steps = set(range(APPLY_BATCH, len(unique), APPLY_BATCH)) | {len(unique)}
    assert stored == applied and applied in steps, (stored, applied)

    second = start_server(env, free_port(), tmp_path)
    try:
        port = int(second.args[second.args.index("--port") + 1])
        retry = httpx.post(f"http://127.0.0.1:{port}/webhooks/sendgrid", content=body,
                           headers=signed_headers(key, body), timeout=60)  # fmt: skip
    finally:
        logs = stop_all([second])
    assert retry.status_code == 200, logs
    assert retry.json()["applied"] == len(unique) - applied and retry.json()["failed"] == 0, retry.json()
    check_exactly_once(settings, unique)
