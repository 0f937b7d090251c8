"""One message that cannot be built or is refused fails alone (the rules; the attacks through
real processes are in tests/hostile/test_send_batch.py)."""

from __future__ import annotations

import email
import os
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from leadline import clock, worker
from leadline.db import unit_of_work
from leadline.emails.backends import Rejected
from leadline.emails.backends.outbox import OutboxBackend
from leadline.emails.message import Outgoing, problem
from leadline.emails.models import DailySendCount, EmailActivity
from tests.conftest import Cli, changed
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot


def message(**overrides: object) -> Outgoing:
    values: dict[str, object] = {
        "email_id": "email_1", "to_email": "pat@royal.com", "to_name": "Pat Doe", "from_email": "dana@grid.example",
        "from_name": "Dana", "subject": "Hello", "text": "Hi Pat,\n", "html": "<p>Hi Pat,</p>",
        "message_id": "<email_1@grid.example>", "template": "pain_point", "unsubscribe_url": "http://x/u/t",
    }  # fmt: skip
    values.update(overrides)
    return Outgoing(**values)  # type: ignore[arg-type]


def corrupt(settings, prospect_id: str, **columns: str) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with unit_of_work(settings) as session:
        session.execute(text(f"UPDATE prospects SET {sets} WHERE id = :id"), {**columns, "id": prospect_id})


def statuses(settings) -> dict[str, tuple[str, str | None]]:
    with unit_of_work(settings, readonly=True) as session:
        return {e.prospect_id: (e.status, e.error) for e in session.scalars(select(EmailActivity))}


def cap_used(settings) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return sum(row.sent for row in session.scalars(select(DailySendCount)))


@given(st.text(max_size=40))
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_contact_name_never_becomes_a_header(name: str) -> None:
    """Whatever the name holds: the message is refused with a reason, or it has exactly its own headers."""
    outgoing = message(to_name=name)
    why = problem(outgoing)
    if why is not None:
        assert "\n" not in why and "\r" not in why and "\x00" not in why
        return
    parsed = email.message_from_bytes(outgoing.mime().as_bytes(), policy=policy.default)
    assert parsed["To"].addresses[0].addr_spec == "pat@royal.com"
    assert len(parsed.get_all("To")) == 1
    assert sorted(set(parsed.keys())) == sorted(set(outgoing.mime().keys()))
    assert parsed["Bcc"] is None and parsed["Cc"] is None


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"to_name": "Pat\nDoe"}, "the contact name 'Pat\\nDoe' contains a line break"),
        ({"to_name": "Pat\x00Doe"}, "the contact name 'Pat\\x00Doe' contains a control character (U+0000)"),
        ({"subject": "Hi\rBcc: x@y.z"}, "the subject 'Hi\\rBcc: x@y.z' contains a line break"),
        ({"to_email": "a@b.com\nBcc: x@y.z"}, "the email address 'a@b.com\\nBcc: x@y.z' contains a line break"),
        ({"subject": "x" * 501}, "the subject is 501 characters long; at most 500"),
        ({"text": "Hi\x00"}, "the message text contains a NUL character"),
        ({"to_email": "jos\u00e9@b.com"}, "cannot build the message: local-part contains non-ASCII characters"),
    ],
)
def test_problems_are_named(overrides: dict[str, object], reason: str) -> None:
    found = problem(message(**overrides))
    assert found is not None and found.startswith(reason), found


def test_fine_messages_pass() -> None:
    assert problem(message(to_name="Zo\u00eb \u00c5ngstr\u00f6m \u2028", subject="Caf\u00e9 \u2603")) is None
    assert problem(message(to_name=None, reply_to="reply+email_1@reply.grid.example")) is None


def test_the_outbox_writes_whole_files_or_nothing(settings, monkeypatch) -> None:
    backend = OutboxBackend(settings)
    folder = Path(settings.outbox_path)
    with pytest.raises(Rejected, match="contains a line break"):
        backend.send(message(to_name="Pat\r\nBcc: x@y.z"))
    assert not folder.exists() or list(folder.iterdir()) == []

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(Rejected, match="No space left on device"):
        backend.send(message())
    assert list(folder.iterdir()) == []  # the temporary file is gone too
    monkeypatch.undo()
    backend.send(message())
    (written,) = list(folder.iterdir())
    assert written.suffix == ".eml" and written.read_bytes().endswith(b"--\r\n")


def test_a_template_error_for_one_prospect_fails_that_one(settings, tmp_path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "ratio.txt").write_text("Subject: {{ name }}\n\nOne in {{ 100 // (gridHealth|int - 48) }}\n")
    cli = Cli(changed(settings, templates_dir=folder))
    good = [make_prospect(settings, grid_health=60).id, make_prospect(settings, grid_health=70).id]
    bad = make_prospect(settings, grid_health=48).id
    before = snapshot(settings)
    dry = cli("emails", "send", "--template", "ratio", "-p", good[0], "-p", bad, "-p", good[1], "--dry-run", "--json")
    report = dry.json
    assert (report["planned"], report["failed"]) == (2, 1)  # type: ignore[index]
    (failed,) = [r for r in report["results"] if r["status"] == "failed"]  # type: ignore[index]
    assert failed["prospectId"] == bad and "integer division or modulo by zero" in failed["detail"]
    assert snapshot(settings) == before
    sent = cli("emails", "send", "--template", "ratio", "-p", good[0], "-p", bad, "-p", good[1])
    assert "2 sent, 1 failed" in sent.stdout
    assert statuses(settings)[bad] == ("failed", failed["detail"])
    assert cap_used(settings) == 2 and len(outbox_messages(settings)) == 2


def test_a_hostile_template_still_refuses_the_whole_run(settings, tmp_path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "evil.txt").write_text("Subject: x\n\n{{ name.__class__ }}\n")
    cli = Cli(changed(settings, templates_dir=folder))
    p = make_prospect(settings)
    before = snapshot(settings)
    result = cli("emails", "send", "--template", "evil", "-p", p.id)
    assert result.exit_code == 1 and "sandbox forbids" in result.stderr
    assert snapshot(settings) == before


def test_a_scheduled_email_whose_contact_changed_fails_alone_at_its_time(cli, settings) -> None:
    people = [make_prospect(settings).id for _ in range(3)]
    at = (clock.utc_now() + timedelta(hours=1)).isoformat()
    assert (
        cli("emails", "send", "--template", "pain_point", *[f"--prospect={p}" for p in people], "--at", at).exit_code
        == 0
    )
    corrupt(settings, people[1], contact_name="Pat\nDoe")
    clock.set_frozen(clock.utc_now() + timedelta(hours=1, minutes=1))
    worker.run(settings, "emails.send_scheduled")
    found = statuses(settings)
    assert found[people[0]][0] == found[people[2]][0] == "sent"
    assert found[people[1]] == ("failed", "the contact name 'Pat\\nDoe' contains a line break")
    assert cap_used(settings) == 2 and len(outbox_messages(settings)) == 2


def test_a_backend_bug_on_one_message_does_not_stop_the_batch(cli, settings, monkeypatch) -> None:
    people = [make_prospect(settings).id for _ in range(3)]
    real = OutboxBackend.send
    calls = {"n": 0}

    def flaky(self: OutboxBackend, outgoing: Outgoing) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("a bug")
        return real(self, outgoing)

    monkeypatch.setattr(OutboxBackend, "send", flaky)
    result = cli("emails", "send", "--template", "pain_point", *[f"--prospect={p}" for p in people])
    assert "2 sent, 0 failed, 1 unknown" in result.stdout
    unknown = [s for s in statuses(settings).values() if s[0] == "unknown"]
    assert unknown == [("unknown", "the outbox backend failed (RuntimeError); it may have been sent")]
