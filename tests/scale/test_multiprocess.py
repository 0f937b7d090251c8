"""Two `leadline serve` and two `leadline worker` processes on one PostgreSQL database and Redis,
everything at once: signed webhook batches (with SendGrid's duplicates, across both servers),
sequences sending through the local SendGrid, calls logged and booked through the API, the
dashboard read. At the end every counter equals a recount, no event was applied twice, no
email was sent twice, and no posted event is missing."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadline.activity.models import OutreachActivity
from leadline.calls.models import CallActivity
from leadline.db import unit_of_work
from leadline.emails.backends.sendgrid import CUSTOM_ARG
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.sequences.models import SequenceEnrollment
from leadline.webhooks import events as ev
from leadline.webhooks.models import WebhookEvent
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import make_token
from tests.factories import make_prospect
from tests.processes import free_port, start_server, start_worker, stop_all, wait_for
from tests.webhooks.conftest import event, send_to

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("processes")]


_TOKEN: dict[str, str] = {}


def api_headers() -> dict[str, str]:
    """A write token's header (made at the start of the test, in the database the processes share)."""
    return {"Authorization": f"Bearer {_TOKEN['value']}"}


def engagement(target: EmailActivity, rng: random.Random) -> list[dict[str, Any]]:
    """One email's life in SendGrid events, a few seconds to minutes after it was sent."""
    t0 = target.sent_at
    found = [event(target, "processed", t0), event(target, "delivered", t0 + timedelta(seconds=3))]
    for n in range(rng.randint(0, 4)):
        found.append(event(target, "open", t0 + timedelta(seconds=30 + 20 * n), sg_machine_open=rng.random() < 0.3))
    if rng.random() < 0.35:
        found.append(event(target, "click", t0 + timedelta(seconds=50)))
    return found


def as_posted(unique: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """SendGrid's deliveries of these events: each at least once, many twice or three times, re-batched."""
    posted = unique * 2 + rng.sample(unique, len(unique) // 2)
    rng.shuffle(posted)
    return [posted[i : i + 20] for i in range(0, len(posted), 20)]


def test_two_servers_two_workers_under_load_count_everything_once(
    settings, redis, signing_key, fake_sendgrid, cli, env, tmp_path
):
    rng = random.Random(9)
    _TOKEN["value"] = make_token(settings, name="load")
    contacted = send_to(settings, 40)  # emailed before the load starts (through the local SendGrid)
    followed = [
        make_prospect(settings, name=f"Seq Shop {n}", email=f"seq{n}@seqshop{n}.com", tier=2) for n in range(12)
    ]
    ports = [free_port(), free_port()]
    procs = [start_server(env, port, tmp_path) for port in ports]
    procs += [start_worker(env, tmp_path, str(n)) for n in (1, 2)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    key = signing_key
    codes: Counter[str] = Counter()
    posted_ids: set[str] = set()
    errors: list[str] = []
    lock = threading.Lock()

    def post_batch(index: int, batch: list[dict[str, Any]]) -> None:
        body = frame(batch)
        response = httpx.post(f"{urls[index % 2]}/webhooks/sendgrid", content=body,
                              headers=signed_headers(key, body), timeout=120)  # fmt: skip
        with lock:
            codes[f"webhook {response.status_code}"] += 1
            posted_ids.update(e["sg_event_id"] for e in batch)

    def log_call(index: int, prospect_id: str, body: dict[str, Any]) -> None:
        response = httpx.post(f"{urls[index % 2]}/api/calls", json={"prospectId": prospect_id, **body},
                              headers=api_headers(), timeout=60)  # fmt: skip
        with lock:
            codes[f"call {response.status_code}"] += 1
            if response.status_code != 201:
                errors.append(response.text[:300])

    def dashboard(index: int) -> None:
        response = httpx.get(f"{urls[index % 2]}/api/dashboard", headers=api_headers(), timeout=60)
        with lock:
            codes[f"dashboard {response.status_code}"] += 1

    def second_wave() -> list[dict[str, Any]]:
        """Events for the sequences' first emails, once the workers have sent them."""
        ids = [p.id for p in followed]
        assert wait_for(lambda: _sent_count(settings, ids) >= len(ids), 60), "the workers did not send the first emails"
        with unit_of_work(settings, readonly=True) as session:
            firsts = list(session.scalars(select(EmailActivity).where(EmailActivity.prospect_id.in_(ids))))
        unique = [e for target in firsts for e in engagement(target, rng)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda a: post_batch(*a), enumerate(as_posted(unique, rng))))
        return unique

    try:
        started = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "12",
                      "--steps", "follow_up_1:5s")  # fmt: skip
        assert started.exit_code == 0 and "for 12 prospects" in started.stdout, started.stdout + started.stderr
        unique = [e for target in contacted for e in engagement(target, rng)]
        work: list[Any] = [lambda i=i, b=b: post_batch(i, b) for i, b in enumerate(as_posted(unique, rng))]
        callers = rng.sample(contacted, 10)
        for n, target in enumerate(callers):  # three calls logged for each, on both servers at once
            for k in range(3):
                body = {"outcome": "follow_up", "duration": 300 + k, "objections": ["cost"], "notes": f"call {k}"}
                work.append(lambda n=n, k=k, t=target, b=body: log_call(n + k, t.prospect_id, b))
            when = (datetime.now(UTC) + timedelta(days=2 + n)).isoformat()
            work.append(lambda n=n, t=target, w=when: log_call(n, t.prospect_id, {"scheduledAt": w}))
        work += [lambda i=i: dashboard(i) for i in range(10)]
        rng.shuffle(work)
        with ThreadPoolExecutor(max_workers=7) as pool:
            wave = pool.submit(second_wave)
            list(pool.map(lambda job: job(), work))
            unique += wave.result()
        ids = [p.id for p in followed]
        finished = wait_for(lambda: _sequences_done(settings, ids), 60)
    finally:
        logs = stop_all(procs)
    assert finished, f"the sequences did not finish: {_sequence_states(settings)}\n{logs}"
    assert set(codes) == {"webhook 200", "call 201", "dashboard 200"}, f"{codes} {errors}\n{logs}"
    assert codes["call 201"] == 40 and codes["dashboard 200"] == 10

    distinct = {e["sg_event_id"] for e in unique}
    assert posted_ids == distinct and len(distinct) >= 200 and codes["webhook 200"] * 20 >= 2 * len(distinct)
    sends = [json.loads(r.body)["personalizations"][0]["custom_args"][CUSTOM_ARG] for r in fake_sendgrid.requests]
    with unit_of_work(settings, readonly=True) as session:
        # Nothing missing, nothing twice: one stored row per distinct event, every one applied.
        stored = Counter(session.scalars(select(WebhookEvent.event_id)))
        assert set(stored) == distinct and max(stored.values()) == 1
        assert set(session.scalars(select(WebhookEvent.status))) == {"applied"}
        timeline = session.scalar(
            select(func.count()).where(
                OutreachActivity.type == "email", OutreachActivity.details["event"].as_string().is_not(None)
            )
        )
        assert timeline == sum(1 for e in unique if e["event"] != "processed")  # one entry per event, never two
        # Every email's state is what its events say.
        emails = list(session.scalars(select(EmailActivity)))
        for row in emails:
            seen = [
                ev.Seen(k, t, at, p)
                for k, t, at, p in session.execute(
                    select(WebhookEvent.event_id, WebhookEvent.event_type, WebhookEvent.occurred_at,
                           WebhookEvent.payload).where(WebhookEvent.email_activity_id == row.id)
                )
            ]  # fmt: skip
            if not seen:
                continue
            expected = ev.email_state(seen, replied=False, base_status="sent")
            assert (row.status, row.open_count, row.machine_open_count, row.click_count) == (
                expected["status"], expected["open_count"], expected["machine_open_count"], expected["click_count"]
            ), row.id  # fmt: skip
        # No email sent twice; every email sent is one Leadline knows as sent, and the other way round.
        assert len(sends) == len(set(sends)) == 40 + 12 * 2, Counter(sends).most_common(3)
        assert set(sends) == {e.id for e in emails if e.sent_at is not None}
        # Every prospect's counters equal a recount of its rows.
        for prospect in session.scalars(select(Prospect)):
            mine = [e for e in emails if e.prospect_id == prospect.id]
            calls = list(session.scalars(select(CallActivity).where(CallActivity.prospect_id == prospect.id)))
            assert (prospect.emails_sent_count, prospect.emails_opened_count) == (
                sum(1 for e in mine if e.sent_at), sum(1 for e in mine if e.opened_at)
            ), prospect.id  # fmt: skip
            assert prospect.calls_completed_count == sum(1 for c in calls if c.status == "completed"), prospect.id
            assert prospect.calls_scheduled_count == sum(1 for c in calls if c.status != "cancelled"), prospect.id
            if any(t.prospect_id == prospect.id for t in callers):
                # Three calls logged; the booking is still to come, or a log completed it (the
                # earliest booked call is the one a log completes): 3 rows or 4, never a call lost.
                kinds = Counter(c.status for c in calls)
                assert kinds["completed"] == 3 and len(calls) == 3 + kinds["scheduled"] <= 4, (prospect.id, kinds)
            else:
                assert calls == []
    # The dashboard's figures are the same recount.
    board = _dashboard(env, tmp_path)
    start, end = (datetime.fromisoformat(board["week"][k]) for k in ("start", "end"))
    week = [e for e in emails if e.sent_at and start <= e.sent_at < end]
    assert board["prospects"]["total"] == 52
    assert board["outreach"]["sent"] == len(week)
    assert board["engagement"]["opened"]["count"] == sum(1 for e in week if e.opened_at)
    assert board["engagement"]["clicked"]["count"] == sum(1 for e in week if e.click_count)
    assert board["outreach"]["delivered"]["count"] == sum(1 for e in week if e.delivered_at)
    assert board["calls"]["completed"] == 30


def _sent_count(settings, prospect_ids: list[str]) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    EmailActivity.prospect_id.in_(prospect_ids), EmailActivity.sent_at.is_not(None)
                )
            )
            or 0
        )


def _sequence_states(settings) -> Counter[str]:
    with unit_of_work(settings, readonly=True) as session:
        return Counter(session.scalars(select(SequenceEnrollment.status)))


def _sequences_done(settings, prospect_ids: list[str]) -> bool:
    return (
        _sequence_states(settings) == Counter({"completed": len(prospect_ids)})
        and _sent_count(settings, prospect_ids) == 24
    )


def _dashboard(env: dict[str, str], folder: Path) -> dict[str, Any]:
    """A fresh server's answer, so nothing held by the load's servers can hide a wrong count."""
    port = free_port()
    proc = start_server(env, port, folder)
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/dashboard", headers=api_headers(), timeout=60)
        assert response.status_code == 200, response.text
        return dict(response.json())
    finally:
        stop_all([proc])
