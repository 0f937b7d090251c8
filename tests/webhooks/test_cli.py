"""`leadline webhooks stats|replay|import|simulate|urls` and the demo's week of events."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from leadline.db import unit_of_work
from leadline.webhooks.models import WebhookEvent
from tests.webhooks.conftest import email, event, send_to


def test_stats_after_duplicates(hook, cli):
    (target,) = send_to(hook.settings, 1)
    events = [event(target, "delivered"), event(target, "open")]
    hook.post(events)
    hook.post(events)
    data = cli("webhooks", "stats", "--json").json
    assert (data["batches"], data["received"], data["stored"], data["duplicates"], data["applied"]) == (2, 4, 2, 2, 2)
    assert data["byType"] == {"delivered": 1, "open": 1}
    assert "duplicates" in cli("webhooks", "stats").stdout


def test_replay_after_a_failure_and_after_the_email_arrives(hook, cli):
    (target,) = send_to(hook.settings, 1)
    hook.post([event(target, "delivered")])
    with unit_of_work(hook.settings) as session:  # as if applying had failed (a bug since fixed)
        session.execute(update(WebhookEvent).values(status="failed", applied_at=None, error="boom"))
    stranger = {"email": "late@shop.com", "event": "open", "sg_event_id": "late-1", "timestamp": 1763391600,
                "leadline_email_id": "email_01M8ZZZZZZZZZZZZZZZZZZZZZZ"}  # fmt: skip
    hook.post([stranger])
    assert cli("webhooks", "stats", "--json").json["failed"] == 1
    result = cli("webhooks", "replay", "--failed")
    assert result.exit_code == 0 and "Applied 1 events" in result.stdout
    assert cli("webhooks", "stats", "--json").json["failed"] == 0
    # The unmatched event is still waiting; once an email with that id exists it applies.
    with unit_of_work(hook.settings) as session:
        row = session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == "late-1"))
        assert row.status == "unmatched"
        row.payload = {**row.payload, "leadline_email_id": target.id, "email": target.to_email}
        row.email = target.to_email
    result = cli("webhooks", "replay", "--unmatched")
    assert "Applied 1 events" in result.stdout
    assert email(hook.settings, target.id).status == "opened"


def test_import_json_and_json_lines(hook, cli, tmp_path):
    a, b = send_to(hook.settings, 2)
    array = tmp_path / "events.json"
    array.write_text(json.dumps([event(a, "delivered"), event(a, "open")]))
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in [event(b, "bounce", type="bounce", reason="550 gone")]) + "\n")
    first = cli("webhooks", "import", str(array))
    assert first.exit_code == 0 and "2 new, 0 duplicates, 2 applied" in first.stdout
    assert "0 new, 2 duplicates" in cli("webhooks", "import", str(array)).stdout
    assert "1 applied" in cli("webhooks", "import", str(lines)).stdout
    assert (email(hook.settings, a.id).status, email(hook.settings, b.id).status) == ("opened", "bounced")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    result = cli("webhooks", "import", str(bad))
    assert result.exit_code == 1 and "not JSON" in result.stderr


def test_import_refuses_deep_nesting_in_one_line(hook, cli, tmp_path):
    """A file nested far deeper than JSON's limit: a one-line error naming the line, nothing stored."""
    from leadline.jsonin import MAX_DEPTH
    from tests.factories import snapshot

    before = snapshot(hook.settings)
    array = tmp_path / "deep.json"
    array.write_text("[" + "[" * 100_000 + "]" * 100_000 + "]")
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"event": "open"}\n{"x": ' + "[" * 480 + "]" * 480 + "}\n")
    for path, where in ((array, "deep.json is"), (lines, "deep.jsonl, line 2:")):
        result = cli("webhooks", "import", str(path))
        assert result.exit_code == 1 and where in result.stderr and f"deeper than {MAX_DEPTH}" in result.stderr
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert snapshot(hook.settings) == before


def test_simulate_posts_a_signed_week_to_a_running_server(settings, cli):
    from leadline.app import create_app
    from leadline.serving import background_server

    send_to(settings, 25, tier=1)
    with background_server(create_app(settings)) as base:
        result = cli("webhooks", "simulate", "--url", base, "--batch-size", "20")
    assert result.exit_code == 0, result.stderr
    assert "2 replies through Inbound Parse" in result.stdout
    listed = cli("emails", "list", "--limit", "100", "--json").json
    statuses = [e["status"] for e in listed]
    assert sum(e["deliveredAt"] is not None for e in listed) == 24
    assert statuses.count("bounced") == 1 and statuses.count("replied") == 2
    assert sum(e["openedAt"] is not None for e in listed) == 8
    assert sum(e["clickCount"] > 0 for e in listed) == 3
    again = cli("webhooks", "simulate", "--url", "http://127.0.0.1:9")
    assert again.exit_code == 1 and "cannot reach" in again.stderr


def test_urls(cli):
    out = cli("webhooks", "urls").stdout
    assert "http://127.0.0.1:8000/webhooks/sendgrid" in out
    assert "/webhooks/sendgrid/inbound/" in out
