"""Issue 19: no email is ever sent by a paused sender. Two ``leadline worker`` processes send
scheduled emails and sequence steps for one sender (one send a second: its minimum gap) while
hard bounces arrive through the signed Event Webhook; the bounce that takes the sender over its
threshold pauses it in the transaction that records it, and from that moment no process claims
another send for it: what was queued waits (scheduled, active), nothing fails or is skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from leadline import clock
from leadline.db import unit_of_work
from leadline.emails.flows import send
from leadline.emails.models import EmailActivity
from leadline.sequences.models import SequenceEnrollment
from tests.conftest import configure, settings_env
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect
from tests.senders.conftest import bounce, emails, sender

EXE = str(Path(sys.executable).with_name("leadline"))


@pytest.mark.slow
def test_no_email_is_sent_by_a_sender_paused_by_webhook_bounces_while_two_workers_send(
    cli, settings, hook, monkeypatch
):
    configure(monkeypatch, settings, send_window_start="00:00", send_window_end="24:00",
              send_window_days="mon,tue,wed,thu,fri,sat,sun", bounce_pause_min_sends=10, log_level="warning")  # fmt: skip
    added = cli("senders", "add", "ann@alpha-mail.com", "--name", "Ann", "--daily-cap", "500", "--min-gap", "1")
    assert added.exit_code == 0, added.stderr
    ids = [make_prospect(settings, name=f"Shop {i}", email=f"o{i}@shop{i}.com", tier=1 + i % 2).id
           for i in range(40)]  # fmt: skip
    at = clock.utc_now() + timedelta(seconds=6)
    even = [p for p in ids if p.endswith(("0", "2", "4", "6", "8"))]  # tier 1; the sequence takes tier 2
    scheduled = send(settings, "pain_point", actor="test", prospect_ids=even, at=at)
    assert scheduled.count("scheduled") == 20
    started = cli("sequences", "start", "--template", "pain_point", "--tier", "2", "--limit", "20", "--steps",
                  "follow_up_1:1d", "--at", at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
    assert started.exit_code == 0, started.stderr
    env = {**os.environ, **settings_env(settings)}
    workers = [
        subprocess.Popen(
            [EXE, "worker", "--threads", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        while len([e for e in emails(settings) if e.status == "sent"]) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        sent = [e for e in emails(settings) if e.status == "sent"]
        assert len(sent) >= 10, "the workers did not send"
        # the bounces arrive, signed, while the workers go on sending
        for email in sent[:3]:
            assert hook.post([bounce(email)]).status_code == 200
            if sender(settings, "ann@alpha-mail.com").status == "paused":
                break
        time.sleep(6)  # the workers keep trying: every send they claim now must wait
    finally:
        logs = []
        for worker in workers:
            os.killpg(worker.pid, signal.SIGINT)
        for worker in workers:
            try:
                logs.append(worker.communicate(timeout=30)[0])
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                logs.append(worker.communicate()[0])
    paused = sender(settings, "ann@alpha-mail.com")
    assert paused.status == "paused" and paused.paused_by == "webhook:sendgrid", "\n".join(logs)[-3000:]
    assert paused.paused_at is not None and "hard bounce" in (paused.paused_reason or "")
    rows = emails(settings)
    claimed = [e for e in rows if e.send_attempted_at is not None]
    assert claimed and all(e.send_attempted_at < paused.paused_at for e in claimed)  # none claimed after the pause
    assert all(e.sender_id == paused.id for e in claimed)
    assert {e.status for e in rows} <= {"sent", "bounced", "scheduled"}  # nothing failed, cancelled or unknown
    waiting = [e for e in rows if e.status == "scheduled"]
    assert waiting and all(e.scheduled_at > paused.paused_at for e in waiting)
    assert len(outbox_messages(settings)) == len(claimed) < 40
    with unit_of_work(settings, readonly=True) as session:
        enrollments = list(session.scalars(select(SequenceEnrollment)))
        # A first step has gone out once it was claimed; one written for the paused sender and waiting
        # for it (status scheduled) has not, however soon a worker wrote it.
        first_steps = session.scalars(
            select(EmailActivity.prospect_id).where(
                EmailActivity.sequence_step == 0, EmailActivity.send_attempted_at.is_not(None)
            )
        )
        began = set(first_steps)
    bounced = {e.prospect_id for e in rows if e.status == "bounced"}
    for enrollment in enrollments:
        if enrollment.prospect_id in bounced:
            assert enrollment.status == "stopped"
        else:  # waiting for its sender: still active, with a time to try again
            assert enrollment.status == "active" and enrollment.next_send_at is not None
    assert any(e.prospect_id not in began for e in enrollments)  # some first steps still wait
    assert "Traceback" not in "\n".join(logs), "\n".join(logs)[-3000:]
