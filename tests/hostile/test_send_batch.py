"""A send batch survives one bad message (issue 13, item 6).

Old rows can hold what input validation refuses today: a contact name with a line break (a
header injection), a NUL or another control character, an address that cannot be encoded.
They are written straight into the database here, as an older version would have left them.
Each such message fails alone, recorded ``failed`` with its reason, taking nothing from the
daily cap and leaving nothing in the outbox; the rest of the batch is sent; the dry run
reports the same failures. Through the real CLI, a real server, the local SendGrid and a
real worker (sequence steps and scheduled sends).
"""

from __future__ import annotations

import email
import json
import os
import signal
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.emails.models import DailySendCount, EmailActivity
from tests.conftest import PUBLIC_BASE_URL, Cli, changed, make_token, run_leadline, settings_env
from tests.factories import make_prospect, snapshot
from tests.fakes.sendgrid import FakeSendGrid, error_body
from tests.processes import free_port, start_server, start_worker, wait_for

INJECTION = "Daniel Reyes\r\nBcc: victim@evil.example"


def corrupt(settings, prospect_id: str, **columns: str) -> None:
    """Write values straight into the row, past input validation (an old row)."""
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with unit_of_work(settings) as session:
        session.execute(text(f"UPDATE prospects SET {sets} WHERE id = :id"), {**columns, "id": prospect_id})


def control_character(settings: Any) -> tuple[str, str]:
    """NUL on SQLite; PostgreSQL cannot store a NUL in text at all, so ESC there."""
    return ("\x00", "U+0000") if settings.database_url.startswith("sqlite") else ("\x1b", "U+001B")


def batch(settings: Any, good: int = 3) -> tuple[list[str], dict[str, str]]:
    """``good`` sendable tier-1 prospects, and three bad ones (id -> the reason they must fail with)."""
    ok = [
        make_prospect(settings, name=f"Good Plumbing {n}", email=f"owner{n}@good{n}.com", tier=1).id
        for n in range(good)
    ]
    char, code = control_character(settings)
    injected = make_prospect(settings, name="Injected Plumbing", email="daniel@injected.com", tier=1).id
    nul = make_prospect(settings, name="Control Plumbing", email="pat@control.com", tier=1).id
    address = make_prospect(settings, name="Accent Plumbing", email="jose@accent.com", tier=1).id
    corrupt(settings, injected, contact_name=INJECTION)
    corrupt(settings, nul, contact_name=f"Pat{char}Doe")
    corrupt(settings, address, email="jos\u00e9@accent.com")
    bad = {
        injected: r"the contact name 'Daniel Reyes\r\nBcc: victim@evil.example' contains a line break",
        nul: f"contains a control character ({code})",
        address: "the email address 'jos\u00e9@accent.com' is not a valid address",
    }
    return ok, bad


def outbox_files(settings: Any) -> list[Path]:
    folder = Path(settings.outbox_path)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def parsed(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def rows(settings) -> list[EmailActivity]:
    with unit_of_work(settings, readonly=True) as session:
        return list(session.scalars(select(EmailActivity).order_by(EmailActivity.created_at, EmailActivity.id)))


def cap_used(settings) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return sum(row.sent for row in session.scalars(select(DailySendCount)))


def check_sent_and_failed(settings: Any, ok: list[str], bad: dict[str, str], *, template: str) -> None:
    """The good ones sent (complete files), the bad ones failed with their reasons, the cap = sent."""
    mine = [r for r in rows(settings) if r.template == template]
    assert {r.prospect_id: r.status for r in mine} == {**dict.fromkeys(ok, "sent"), **dict.fromkeys(bad, "failed")}
    for row in mine:
        if row.status == "failed":
            assert bad[row.prospect_id] in (row.error or ""), row.error
            assert row.sent_at is None
            if not bad[row.prospect_id].startswith("SendGrid"):  # never claimed: nothing taken from the cap
                assert row.send_attempted_at is None
    assert not [r for r in rows(settings) if r.status in ("sending", "unknown")]
    assert cap_used(settings) == sum(1 for r in rows(settings) if r.status == "sent")


def check_outbox(settings: Any, expected: int) -> None:
    files = outbox_files(settings)
    assert [f for f in files if f.suffix != ".eml"] == [], files  # no .part, no temporary file
    assert len(files) == expected
    for path in files:
        message = parsed(path)
        assert "victim@evil.example" not in path.read_text(errors="replace")
        assert message["Bcc"] is None
        assert "Unsubscribe with one click" in message.get_body(("plain",)).get_content()  # complete, footer and all
        assert "Unsubscribe</a>" in message.get_body(("html",)).get_content()


def test_the_cli_dry_run_and_the_send_agree_and_only_the_bad_ones_fail(settings, cli):
    ok, bad = batch(settings)
    before = snapshot(settings)
    command = ("emails", "send", "--template", "pain_point", "--tier", "1", "--limit", "10")
    dry = run_leadline(*command, "--dry-run", "--json", env=settings_env(settings))
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert (report["planned"], report["failed"], report["skipped"]) == (3, 3, 0)
    failing = {r["prospectId"]: r for r in report["results"] if r["status"] == "failed"}
    assert set(failing) == set(bad)
    for prospect_id, reason in bad.items():
        assert reason in failing[prospect_id]["detail"] and failing[prospect_id]["code"] == "unbuildable"
    assert {r["prospectId"] for r in report["results"] if r["status"] == "planned"} == set(ok)
    told = cli(*command, "--dry-run")
    assert "Dry run: 3 would be sent with pain_point through the outbox backend, 3 would fail, 0 skipped" in told.stdout
    assert "line break" in told.stdout and "\r" not in told.stdout.replace("\r\n", "\n")
    assert snapshot(settings) == before and outbox_files(settings) == []

    sent = run_leadline(*command, env=settings_env(settings))
    assert sent.returncode == 0, sent.stderr
    assert "3 sent, 3 failed, 0 unknown, 0 skipped (pain_point, outbox backend)." in sent.stdout
    assert "Traceback" not in sent.stderr
    check_sent_and_failed(settings, ok, bad, template="pain_point")
    check_outbox(settings, 3)
    errors = {r.prospect_id: r.error for r in rows(settings) if r.status == "failed"}
    assert errors == {r["prospectId"]: r["detail"] for r in failing.values()}  # the dry run said the same

    listed = cli("emails", "list", "--status", "failed", "--json").json
    assert {e["prospectId"]: e["error"] for e in listed} == errors  # type: ignore[union-attr]
    for prospect_id in bad:
        one = next(e for e in listed if e["prospectId"] == prospect_id)  # type: ignore[union-attr]
        shown = cli("emails", "show", one["id"])
        assert shown.exit_code == 0 and "failed" in shown.stdout and errors[prospect_id][:40] in shown.stdout
        prospect = cli("prospects", "show", prospect_id, "--json").json
        assert (prospect["salesStatus"], prospect["emailsSentCount"]) == ("new", 0)  # type: ignore[index]
        assert ("email", "failed") in [(e["type"], e["status"]) for e in prospect["timeline"]]  # type: ignore[index]

    again = cli(*command)  # the failed ones fail again, alone; nothing is sent twice
    assert "0 sent, 3 failed" in again.stdout and again.exit_code == 1
    assert cap_used(settings) == 3 and len(outbox_files(settings)) == 3


def test_the_api_answers_with_the_report_not_a_500(settings, tmp_path):
    ok, bad = batch(settings, good=2)
    headers = {"Authorization": f"Bearer {make_token(settings)}"}
    port = free_port()
    server = start_server({**os.environ, **settings_env(settings)}, port, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/api/emails/send"
        body = {"template": "pain_point", "tier": 1, "limit": 10}
        before = snapshot(settings)
        dry = httpx.post(url, json={**body, "dryRun": True}, headers=headers, timeout=60)
        assert dry.status_code == 200, dry.text
        assert (dry.json()["planned"], dry.json()["failed"]) == (2, 3)
        assert snapshot(settings) == before
        done = httpx.post(url, json=body, headers=headers, timeout=60)
        assert done.status_code == 200, done.text
        assert (done.json()["sent"], done.json()["failed"], done.json()["unknown"]) == (2, 3, 0)
        details = {r["prospectId"]: r["detail"] for r in done.json()["results"] if r["status"] == "failed"}
        assert details == {r["prospectId"]: r["detail"] for r in dry.json()["results"] if r["status"] == "failed"}
        failed = httpx.get(f"http://127.0.0.1:{port}/api/emails", params={"status": "failed"}, headers=headers)
        assert {e["prospectId"] for e in failed.json()["items"]} == set(bad)
        assert all(e["error"] for e in failed.json()["items"])
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        code = server.stop(signal.SIGINT)
    log = server.output()
    assert "Traceback" not in log and " 500" not in log, log[-3000:]
    assert code == 0
    check_sent_and_failed(settings, ok, bad, template="pain_point")
    check_outbox(settings, 2)


def test_sendgrid_refusing_one_message_fails_that_one_alone(settings):
    fake = FakeSendGrid()
    try:
        cli = Cli(changed(settings, email_backend="sendgrid", sendgrid_api_key=fake.api_key, sendgrid_api_url=fake.url,
                          sendgrid_retry_delay_seconds=0.01, sendgrid_timeout_seconds=5,
                          sender_email="dana@gridline.example", base_url=PUBLIC_BASE_URL))  # fmt: skip
        ok, bad = batch(settings)
        fake.then((400, error_body("Does not contain a valid address.", "personalizations.0.to.0.email")))
        result = cli("emails", "send", "--template", "pain_point", "--tier", "1", "--limit", "10")
        assert result.exit_code == 0, result.stderr
        assert "2 sent, 4 failed, 0 unknown" in result.stdout
        assert len(fake.requests) == 3  # the three that could be built; the bad ones never left
        assert all("victim@evil.example" not in r.body.decode() for r in fake.requests)
        refused_to = fake.requests[0].json["personalizations"][0]["to"][0]["email"]
        refused = next(r for r in rows(settings) if r.to_email == refused_to)
        assert refused.status == "failed"
        assert refused.error == (
            "SendGrid refused the message (400): Does not contain a valid address. (personalizations.0.to.0.email)"
        )
        bad[refused.prospect_id] = "SendGrid refused the message (400)"
        check_sent_and_failed(settings, [p for p in ok if p != refused.prospect_id], bad, template="pain_point")
        assert cap_used(settings) == 2
    finally:
        fake.close()


@pytest.mark.slow
def test_the_worker_sends_sequence_steps_and_scheduled_emails_around_a_bad_prospect(settings, tmp_path):
    settings = changed(settings, send_window_start="00:00", send_window_end="24:00",
                       send_window_days="mon,tue,wed,thu,fri,sat,sun")  # fmt: skip
    cli = Cli(settings)
    people = [make_prospect(settings, name=f"Seq Plumbing {n}", email=f"o{n}@seq{n}.com", tier=1).id for n in range(3)]
    early = make_prospect(settings, name="Early Plumbing", email="early@early.com", tier=1).id
    corrupt(settings, early, contact_name="Early\nBird")
    started = cli("sequences", "start", "--template", "pain_point", *[f"--prospect={p}" for p in [*people, early]],
                           "--steps", "follow_up_1:3s")  # fmt: skip
    assert started.exit_code == 0, started.stderr
    assert "3 emails sent now" in started.stdout and "line break" in started.stdout  # not enrolled, with the reason
    at = (utc_now() + timedelta(seconds=6)).isoformat()
    scheduled = cli("emails", "send", "--template", "solution", *[f"--prospect={p}" for p in people], "--at", at)
    assert scheduled.exit_code == 0 and "3 scheduled" in scheduled.stdout, scheduled.stdout + scheduled.stderr
    victim = people[1]
    corrupt(
        settings, victim, contact_name="Pat\r\nBcc: victim@evil.example"
    )  # after the first email and the scheduling

    worker = start_worker({**os.environ, **settings_env(settings)}, tmp_path, "sendbatch")
    try:

        def settled() -> bool:
            done = [r for r in rows(settings) if r.template in ("follow_up_1", "solution")]
            return len(done) == 6 and all(r.status in ("sent", "failed") for r in done)

        assert wait_for(settled, 60), (rows(settings), worker.tail())
        assert worker.popen.poll() is None  # still running
    finally:
        worker.stop(signal.SIGINT)
    assert "Traceback" not in worker.output(), worker.tail()
    reason = {victim: "the contact name 'Pat\\r\\nBcc: victim@evil.example' contains a line break"}
    others = [people[0], people[2]]
    check_sent_and_failed(settings, others, reason, template="follow_up_1")
    check_sent_and_failed(settings, others, reason, template="solution")
    check_outbox(settings, 3 + 2 + 2)
    status = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}  # type: ignore[union-attr]
    assert status[victim]["status"] == "stopped" and "line break" in status[victim]["stopReason"]
    assert {status[p]["status"] for p in others} == {"completed"}
    assert early not in status
