"""POST /webhooks/sendgrid: signatures, storage before the answer, and what each event does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from leadline import clock
from leadline.db import unit_of_work
from leadline.webhooks.models import WebhookBatch, WebhookEvent
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import Cli, changed
from tests.factories import count, snapshot
from tests.webhooks.conftest import email, event, send_to


def stored(settings, status: str | None = None) -> int:
    with unit_of_work(settings, readonly=True) as session:
        query = select(func.count()).select_from(WebhookEvent)
        if status:
            query = query.where(WebhookEvent.status == status)
        return int(session.scalar(query) or 0)


class TestProtection:
    def test_a_signed_batch_is_stored_and_applied(self, hook):
        (target,) = send_to(hook.settings, 1)
        response = hook.post([event(target, "delivered")])
        assert response.status_code == 200
        assert response.json() == {"received": 1, "new": 1, "duplicates": 0, "applied": 1, "unmatched": 0, "failed": 0}
        assert email(hook.settings, target.id).status == "delivered"

    def test_missing_or_wrong_signature_changes_nothing(self, hook):
        (target,) = send_to(hook.settings, 1)
        body = frame([event(target, "open")])
        before = snapshot(hook.settings)
        assert hook.raw(body).status_code == 401
        other = ec.generate_private_key(ec.SECP256R1())
        assert hook.raw(body, signed_headers(other, body)).status_code == 403
        headers = signed_headers(hook.key, body)
        assert hook.raw(body + b" ", headers).status_code == 403  # the body changed after signing
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(
            int(headers["X-Twilio-Email-Event-Webhook-Timestamp"]) + 1
        )
        assert hook.raw(body, headers).status_code == 403
        bad = signed_headers(hook.key, body) | {"X-Twilio-Email-Event-Webhook-Signature": "%%%"}
        assert hook.raw(body, bad).status_code == 403
        assert snapshot(hook.settings) == before

    def test_a_signed_post_that_is_not_events_is_kept_raw_and_applies_nothing(self, hook, cli):
        """SendGrid would retry a 5xx for a day and a 4xx loses it: a signed post that is not a JSON
        array of objects is answered 200, kept as it came for a person, and changes nothing else."""
        bodies = (b"{not json", b'{"event": "open"}', b"[1, 2]", b'["open"]', "[é]".encode("latin-1"),
                  b"[" * 480 + b"]" * 480, b'[{"event": NaN}]')  # fmt: skip
        before = snapshot(hook.settings)
        for body in bodies:
            response = hook.raw(body, signed_headers(hook.key, body))
            assert response.status_code == 200, body
            assert response.json()["received"] == 0 and response.json()["unreadable"].startswith("whb_")
        after = snapshot(hook.settings)
        assert {t: rows for t, rows in after.items() if t != "webhook_batches"} == {
            t: rows for t, rows in before.items() if t != "webhook_batches"
        }
        with unit_of_work(hook.settings, readonly=True) as session:
            kept = session.execute(select(WebhookBatch.raw, WebhookBatch.error, WebhookBatch.events)).all()
        assert sorted(raw for raw, _, _ in kept) == sorted(bodies)
        assert all(error and "\n" not in error and events == 0 for _, error, events in kept)
        stats = cli("webhooks", "stats", "--json").json
        assert stats["unreadable"] == {"eventWebhook": len(bodies), "inboundParse": 0}
        assert stats["stored"] == 0

    def test_too_large_is_413(self, hook, settings):
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        settings = changed(settings, webhook_max_body_bytes=1000)
        (target,) = send_to(settings, 1)
        events = [event(target, "open") for _ in range(20)]
        body = frame(events)
        with TestClient(create_app(settings)) as client:
            response = client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
        assert response.status_code == 413 and stored(settings) == 0

    def test_verification_can_only_be_switched_off_explicitly(self, settings):
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        (target,) = send_to(settings, 1)
        with TestClient(create_app(settings)) as client:
            unsigned = client.post("/webhooks/sendgrid", content=frame([event(target, "open")]))
        assert unsigned.status_code == 401 and "no verification key" in unsigned.json()["message"]
        unverified = changed(settings, sendgrid_webhook_verify=False)
        with TestClient(create_app(unverified)) as client:
            assert client.post("/webhooks/sendgrid", content=frame([event(target, "open")])).status_code == 200
        assert "verification is OFF" in Cli(unverified)("config").stderr

    def test_database_down_is_503(self, hook, tmp_path):
        from fastapi.testclient import TestClient

        from leadline.app import create_app
        from leadline.config import Settings

        down = Settings(
            database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", data_dir=tmp_path,
            sendgrid_webhook_public_key=hook.settings.sendgrid_webhook_public_key,
        )  # fmt: skip
        body = frame([{"event": "open", "email": "a@b.com", "sg_event_id": "x", "timestamp": 1700000000}])
        with TestClient(create_app(down), raise_server_exceptions=False) as client:
            response = client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
        assert response.status_code == 503


class TestStorage:
    def test_duplicates_are_recognised(self, hook):
        (target,) = send_to(hook.settings, 1)
        events = [event(target, "delivered"), event(target, "open")]
        assert hook.post(events).json()["new"] == 2
        again = hook.post(events + events).json()
        assert (again["received"], again["new"], again["duplicates"]) == (4, 0, 4)
        assert stored(hook.settings) == 2 and email(hook.settings, target.id).open_count == 1

    def test_unknown_types_and_fields_are_kept(self, hook):
        (target,) = send_to(hook.settings, 1)
        odd = event(target, "quantum_entanglement", shiny_new_field={"x": 1})
        account = {"event": "account_status_change", "sg_event_id": "acct-1", "timestamp": 1709142428,
                   "type": "compliance_suspend"}  # fmt: skip
        assert hook.post([odd, account]).status_code == 200
        with unit_of_work(hook.settings, readonly=True) as session:
            rows = {r.event_type: r for r in session.scalars(select(WebhookEvent))}
        assert rows["quantum_entanglement"].payload["shiny_new_field"] == {"x": 1}
        assert rows["account_status_change"].status == "ignored"

    def test_events_for_emails_we_did_not_send_are_kept_unmatched(self, hook, cli):
        stranger = {"email": "x@y.com", "event": "open", "sg_event_id": "stranger-1", "timestamp": 1700000000,
                    "sg_message_id": "NotOurs1234567890ABCD.recvd-1-2-3.0"}  # fmt: skip
        assert hook.post([stranger]).json()["unmatched"] == 1
        assert stored(hook.settings, "unmatched") == 1
        stats = cli("webhooks", "stats", "--json").json
        assert (stats["received"], stats["unmatched"], stats["applied"]) == (1, 1, 0)

    def test_matching_falls_back_to_the_x_message_id(self, hook):
        from leadline.emails import service as emails

        (target,) = send_to(hook.settings, 1)
        with unit_of_work(hook.settings) as session:
            emails.get(session, target.id).sendgrid_id = "AOb5ZXUgSEeRAymhwhEySA"
        target = email(hook.settings, target.id)
        without_id = event(target, "delivered")
        del without_id["leadline_email_id"]
        assert hook.post([without_id]).json()["applied"] == 1
        assert email(hook.settings, target.id).status == "delivered"


class TestEffects:
    def test_processed_settles_an_unknown_send(self, hook):
        from leadline.emails import service as emails

        (target,) = send_to(hook.settings, 1)
        with unit_of_work(hook.settings) as session:  # as if the send's outcome had been lost
            row = emails.get(session, target.id)
            row.status, row.sent_at = "unknown", None
        hook.post([event(target, "processed")])
        assert email(hook.settings, target.id).status == "sent" and email(hook.settings, target.id).sent_at is not None

    def test_delivered_open_click(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        hook.post([
            event(target, "delivered", t0 + timedelta(seconds=5)),
            event(target, "open", t0 + timedelta(hours=2), sg_machine_open=True),
            event(target, "open", t0 + timedelta(hours=3), sg_machine_open=False),
        ])  # fmt: skip
        row = email(hook.settings, target.id)
        assert (row.status, row.open_count, row.machine_open_count) == ("opened", 2, 1)
        assert row.delivered_at == t0.replace(microsecond=0) + timedelta(seconds=5)
        assert row.opened_at == t0.replace(microsecond=0) + timedelta(hours=2)
        hook.post([event(target, "click", t0 + timedelta(hours=3, minutes=1), url="https://x.example/r")])
        row = email(hook.settings, target.id)
        assert (row.status, row.click_count) == ("clicked", 1)
        assert cli("prospects", "show", row.prospect_id, "--json").json["emailsOpenedCount"] == 1

    def test_each_sent_emails_timeline_entry_follows_its_status(self, hook, cli):
        """The "sent" entry of each email shows where the email got to; an event that moves nothing
        leaves the entry as it was (its updated time too)."""
        first, second = send_to(hook.settings, 2)
        t0 = first.sent_at
        assert first.outreach_activity_id and second.outreach_activity_id
        with clock.freeze(t0 + timedelta(hours=4)):
            hook.post([event(first, "delivered", t0 + timedelta(seconds=5)),
                       event(first, "open", t0 + timedelta(hours=2), sg_machine_open=False),
                       event(second, "delivered", t0 + timedelta(seconds=9))])  # fmt: skip
        entries = timeline_entries(hook.settings, [first.prospect_id, second.prospect_id])
        moved_at = (t0 + timedelta(hours=4)).replace(tzinfo=None)
        assert entries[first.outreach_activity_id] == ("email", "opened", moved_at)
        assert entries[second.outreach_activity_id] == ("email", "delivered", moved_at)
        shown = cli("prospects", "show", first.prospect_id, "--json").json["timeline"]
        assert [e["status"] for e in shown if e["id"] == first.outreach_activity_id] == ["opened"]
        # Read beside its time, the entry says what happened then (sent) and where the email got to since
        # ("email opened" at the send's time read as opened then).
        line = next(x for x in cli("prospects", "show", first.prospect_id).stdout.splitlines() if "pain_point" in x)
        assert "email: sent" in line and "now opened" in line and "email: opened" not in line
        with clock.freeze(t0 + timedelta(hours=5)):  # a second open: still opened
            hook.post([event(first, "open", t0 + timedelta(hours=3), sg_machine_open=False)])
        again = timeline_entries(hook.settings, [first.prospect_id, second.prospect_id])
        assert {k: again[k] for k in entries} == entries

    def test_an_unknown_send_settled_and_moved_by_one_post_shows_it_on_its_new_entry(self, hook):
        from leadline.emails import service as emails

        (target,) = send_to(hook.settings, 1)
        with unit_of_work(hook.settings) as session:  # as if the send's outcome had been lost
            row = emails.get(session, target.id)
            row.status, row.sent_at = "unknown", None
        hook.post([event(target, "delivered")])  # made "sent" (a new entry) and then "delivered", in one go
        row = email(hook.settings, target.id)
        assert row.status == "delivered" and row.outreach_activity_id not in (None, target.outreach_activity_id)
        entry = timeline_entries(hook.settings, [target.prospect_id])[row.outreach_activity_id]
        assert entry[:2] == ("email", "delivered")

    def test_a_click_implies_an_open(self, hook):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, "click", target.sent_at + timedelta(hours=1))])
        row = email(hook.settings, target.id)
        assert row.opened_at is not None and row.status == "clicked" and row.open_count == 0

    def test_hard_bounce_suppresses_and_marks_do_not_contact(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, "bounce", type="bounce", reason="550 5.1.1 No such user", status="5.1.1")])
        row = email(hook.settings, target.id)
        assert (row.status, row.bounce_type, row.bounce_reason) == ("bounced", "bounce", "550 5.1.1 No such user")
        (suppression,) = cli("suppressions", "list", "--json").json
        assert (suppression["email"], suppression["reason"]) == (target.to_email, "hard_bounce")
        prospect = cli("prospects", "show", row.prospect_id, "--json").json
        assert prospect["doNotContact"] is True and prospect["doNotContactReason"] == "the address bounced"
        assert count(hook.settings, "notifications") == 1

    def test_blocked_bounce_is_not_suppressed(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, "bounce", type="blocked", reason="554 5.7.1 Client host blocked")])
        assert email(hook.settings, target.id).status == "bounced"
        assert cli("suppressions", "list", "--json").json == []

    def test_dropped_is_failed_with_the_reason(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, "dropped", reason="Bounced Address")])
        row = email(hook.settings, target.id)
        assert row.status == "failed" and row.error == "SendGrid dropped it: Bounced Address"
        assert cli("suppressions", "list", "--json").json[0]["reason"] == "hard_bounce"

    def test_deferred_is_recorded(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, "deferred", response="451 4.7.1 try later", attempt="1")])
        assert email(hook.settings, target.id).status == "sent"
        timeline = cli("prospects", "show", target.prospect_id, "--json").json["timeline"]
        assert timeline[-1]["status"] == "deferred" and timeline[-1]["details"]["attempt"] == "1"

    @pytest.mark.parametrize(("kind", "reason"), [("spamreport", "spam_report"), ("unsubscribe", "unsubscribe"),
                                                  ("group_unsubscribe", "group_unsubscribe")])  # fmt: skip
    def test_spam_reports_and_unsubscribes_suppress(self, hook, cli, kind, reason):
        (target,) = send_to(hook.settings, 1)
        hook.post([event(target, kind, asm_group_id=12345)])
        assert cli("suppressions", "list", "--json").json[0]["reason"] == reason
        assert cli("prospects", "show", target.prospect_id, "--json").json["doNotContact"] is True

    def test_group_resubscribe_lifts_in_either_order(self, hook, cli):
        a, b = send_to(hook.settings, 2)
        t0 = a.sent_at
        unsub_a = event(a, "group_unsubscribe", t0 + timedelta(hours=1), asm_group_id=1)
        resub_a = event(a, "group_resubscribe", t0 + timedelta(hours=2), asm_group_id=1)
        hook.post([unsub_a])
        hook.post([resub_a])
        unsub_b = event(b, "group_unsubscribe", t0 + timedelta(hours=1), asm_group_id=1)
        resub_b = event(b, "group_resubscribe", t0 + timedelta(hours=2), asm_group_id=1)
        hook.post([resub_b])  # arrives first
        hook.post([unsub_b])
        assert cli("suppressions", "list", "--json").json == []
        for target in (a, b):
            assert cli("prospects", "show", target.prospect_id, "--json").json["doNotContact"] is False

    def test_status_never_moves_backwards(self, hook):
        (target,) = send_to(hook.settings, 1)
        t0 = target.sent_at
        hook.post([event(target, "click", t0 + timedelta(hours=2))])
        hook.post([event(target, "open", t0 + timedelta(hours=1)), event(target, "delivered", t0)])
        assert email(hook.settings, target.id).status == "clicked"


def timeline_entries(settings, prospect_ids: list[str]) -> dict[str, tuple[str, str, object]]:
    """The prospects' timeline entries as stored: {id: (type, status, updated_at)}."""
    from leadline.activity.models import OutreachActivity

    with unit_of_work(settings, readonly=True) as session:
        rows = session.execute(select(OutreachActivity.id, OutreachActivity.type, OutreachActivity.status,
                                      OutreachActivity.updated_at)
                               .where(OutreachActivity.prospect_id.in_(prospect_ids)))  # fmt: skip
        return {row_id: (kind, status, at.replace(tzinfo=None)) for row_id, kind, status, at in rows}
