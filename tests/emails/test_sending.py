"""Sending through each backend, and what a send changes (through the CLI and the API)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects import service as prospects
from tests.conftest import PUBLIC_BASE_URL, Cli, changed
from tests.emails.conftest import outbox_messages
from tests.factories import count, make_prospect, snapshot


def emails(settings) -> list[EmailActivity]:
    with unit_of_work(settings, readonly=True) as session:
        return list(session.scalars(select(EmailActivity).order_by(EmailActivity.created_at)))


def tier1(settings, n: int) -> list[str]:
    return [
        make_prospect(settings, name=f"Plumber {i}", email=f"owner{i}@plumber{i}.com", tier=1, grid_health=40 + i).id
        for i in range(n)
    ]


class TestOutbox:
    def test_a_send_writes_an_eml_and_records_everything(self, cli, settings):
        p = make_prospect(
            settings, name="Royal Plumbing Co", email="daniel@royalplumbingco.com", contact_name="Daniel Reyes"
        )
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 0, result.stderr
        assert "1 sent, 0 failed, 0 unknown, 0 skipped" in result.stdout
        (message,) = outbox_messages(settings)
        (row,) = emails(settings)
        assert message["To"] == "Daniel Reyes <daniel@royalplumbingco.com>"
        assert message["Subject"] == "Royal Plumbing Co: your $1,200/week visibility opportunity"
        assert message["Message-ID"] == row.message_id == f"<{row.id}@example.com>"
        unsubscribe = re.fullmatch(r"<(http://127\.0\.0\.1:8000/unsubscribe/[\w.-]+)>", message["List-Unsubscribe"])
        assert unsubscribe and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(("plain",)).get_content()
        assert text.startswith("Hi Daniel,")
        assert "Leadline Demo, 100 Congress Ave, Austin, TX 78701" in text  # the postal address
        assert unsubscribe.group(1) in text
        assert unsubscribe.group(1) in message.get_body(("html",)).get_content()
        assert (row.status, row.template, row.email_type, row.backend) == ("sent", "pain_point", "pain_point", "outbox")
        data = cli("prospects", "show", p.id, "--json").json
        assert (data["salesStatus"], data["emailsSentCount"]) == ("contacted", 1)
        assert data["lastContactAt"] is not None
        kinds = [(e["type"], e["status"]) for e in data["timeline"]]
        assert ("email", "sent") in kinds and ("stage_change", "contacted") in kinds
        assert row.outreach_activity_id in {e["id"] for e in data["timeline"]}

    def test_seed_week_one(self, cli, settings):
        ids = tier1(settings, 25)
        make_prospect(settings, name="Tier two", email="two@two.com", tier=2)
        result = cli("emails", "send", "--template", "pain_point", "--status", "new", "--tier", "1", "--limit", "25")
        assert result.exit_code == 0, result.stderr
        assert "25 sent" in result.stdout
        assert len(outbox_messages(settings)) == 25
        listed = cli("emails", "list", "--limit", "100", "--json").json
        assert sorted(e["prospectId"] for e in listed) == sorted(ids)
        assert {e["status"] for e in listed} == {"sent"}

    def test_dry_run_sends_nothing(self, cli, settings):
        tier1(settings, 3)
        before = snapshot(settings)
        result = cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "5", "--dry-run")
        assert result.exit_code == 0
        assert "Dry run: 3 would be sent with pain_point" in result.stdout
        assert "Nothing was sent." in result.stdout
        assert snapshot(settings) == before and outbox_messages(settings) == []


class TestSmtp:
    def test_through_a_real_smtp_server(self, settings, cli, smtp_server):
        p = make_prospect(settings, name="Royal Plumbing Co", email="daniel@royalplumbingco.com")
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 0, result.stderr + result.stdout
        (message,) = smtp_server.inbox.messages
        assert smtp_server.inbox.envelopes == [("dana@gridline.example", ["daniel@royalplumbingco.com"])]
        assert message["Subject"].startswith("Royal Plumbing Co:")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert emails(settings)[0].status == "sent" and emails(settings)[0].backend == "smtp"

    def test_login(self, settings):
        from tests.fakes.smtp import SmtpServer

        server = SmtpServer(require_auth=True)
        try:
            smtp = changed(settings, email_backend="smtp", smtp_host="127.0.0.1", smtp_port=server.port,
                           sender_email="dana@gridline.example", smtp_username="leadline", base_url=PUBLIC_BASE_URL, smtp_password="wrong",
                           smtp_timeout_seconds=2)  # fmt: skip
            p = make_prospect(settings)
            refused = Cli(smtp)("emails", "send", "--template", "pain_point", "--prospect", p.id)
            assert refused.exit_code == 1 and "SMTP server refused the login" in refused.stderr
            assert emails(settings)[0].status == "failed"
            ok = Cli(changed(smtp, smtp_password="s3cret"))(
                "emails", "send", "--template", "pain_point", "--prospect", p.id
            )
            assert ok.exit_code == 0 and len(server.inbox.messages) == 1
        finally:
            server.stop()

    def test_refused_recipient_is_failed_with_the_reason(self, settings, cli, smtp_server):
        p = make_prospect(settings, email="nobody@royal.com")
        smtp_server.inbox.refuse.add("nobody@royal.com")
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 1
        row = emails(settings)[0]
        assert row.status == "failed" and "550" in (row.error or "")
        assert cli("prospects", "show", p.id, "--json").json["salesStatus"] == "new"


class TestSendGrid:
    def test_the_exact_request(self, settings, cli, fake_sendgrid):
        p = make_prospect(
            settings, name="Royal Plumbing Co", email="daniel@royalplumbingco.com", contact_name="Daniel Reyes"
        )
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 0, result.stderr
        (request,) = fake_sendgrid.requests
        row = emails(settings)[0]
        assert request.path == "/v3/mail/send"
        assert request.headers["authorization"] == "Bearer SG.test-key"
        assert request.headers["content-type"] == "application/json"
        body = request.json
        assert body["personalizations"] == [
            {"to": [{"email": "daniel@royalplumbingco.com", "name": "Daniel Reyes"}],
             "custom_args": {"leadline_email_id": row.id}}
        ]  # fmt: skip
        assert body["from"] == {"email": "dana@gridline.example", "name": "Dana Whitfield"}
        assert body["subject"] == "Royal Plumbing Co: your $1,200/week visibility opportunity"
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
        assert body["categories"] == ["pain_point"]
        assert body["tracking_settings"]["open_tracking"] == {"enable": True}
        assert body["tracking_settings"]["click_tracking"]["enable"] is True
        assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert body["headers"]["Message-ID"] == row.message_id
        assert row.sendgrid_id and len(row.sendgrid_id) == 22  # the X-Message-Id of the 202

    def test_400_is_failed_with_sendgrids_message(self, settings, cli, fake_sendgrid):
        fake_sendgrid.then((400, {"errors": [{"message": "The from address does not match a verified Sender Identity.",
                                              "field": "from", "help": None}]}))  # fmt: skip
        p = make_prospect(settings)
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 1
        row = emails(settings)[0]
        assert row.status == "failed"
        assert row.error == (
            "SendGrid refused the message (400): The from address does not match a verified Sender Identity. (from)"
        )
        assert cli("prospects", "show", p.id, "--json").json["emailsSentCount"] == 0

    def test_a_bad_key_stops_the_run_at_once(self, settings, fake_sendgrid):
        cli = Cli(changed(settings, sendgrid_api_key="SG.wrong"))
        tier1(settings, 5)
        result = cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "5")
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines()[-1].startswith("error: SendGrid refused the API key (401)")
        assert len(fake_sendgrid.requests) == 1  # not 5 failures
        assert [e.status for e in emails(settings)] == ["failed"]

    def test_429_and_500_are_retried(self, settings, cli, fake_sendgrid):
        fake_sendgrid.then((429, {"errors": [{"field": None, "message": "too many requests"}]}),
                           (500, {"errors": [{"message": "Internal error"}]}))  # fmt: skip
        p = make_prospect(settings)
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 0, result.stdout
        assert len(fake_sendgrid.requests) == 3 and emails(settings)[0].status == "sent"

    def test_retries_run_out(self, settings, cli, fake_sendgrid):
        fake_sendgrid.then(*[(503, {"errors": [{"message": "Service Unavailable"}]})] * 4)
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        row = emails(settings)[0]
        assert len(fake_sendgrid.requests) == 4  # the first try and 3 retries
        assert row.status == "failed" and "answered 503 4 times" in (row.error or "")

    def test_a_timeout_after_sending_is_unknown_and_never_resent(self, settings, cli, fake_sendgrid):
        fake_sendgrid.then("hang")
        p = make_prospect(settings)
        follow_up = cli("tasks", "add", "--title", "Email again", "--prospect", p.id, "--kind", "follow_up", "--json")
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert cli("tasks", "list", "--json").json[0]["doneAt"] is None  # not known to be sent: still open
        assert "1 unknown" in result.stdout and "leadline emails list --status unknown" in result.stdout
        assert len(fake_sendgrid.requests) == 1
        assert emails(settings)[0].status == "unknown"
        again = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert "already got pain_point" in again.stdout and len(fake_sendgrid.requests) == 1
        listed = cli("emails", "list", "--status", "unknown", "--json").json
        assert [e["id"] for e in listed] == [emails(settings)[0].id]
        resolved = cli("emails", "resolve", emails(settings)[0].id, "--sent")
        assert resolved.exit_code == 0 and emails(settings)[0].status == "sent"
        assert cli("prospects", "show", p.id, "--json").json["emailsSentCount"] == 1
        (done,) = cli("tasks", "list", "--state", "done", "--json").json  # it went out: the follow-up is done
        assert done["id"] == follow_up.json["id"]

    def test_a_dropped_connection_is_unknown(self, settings, cli, fake_sendgrid):
        fake_sendgrid.then("drop")
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert emails(settings)[0].status == "unknown" and len(fake_sendgrid.requests) == 1

    def test_unreachable_sendgrid_is_retried_then_failed(self, settings, fake_sendgrid):
        cli = Cli(changed(settings, sendgrid_api_url="http://127.0.0.1:9"))
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        row = emails(settings)[0]
        assert row.status == "failed" and "cannot reach SendGrid after 4 tries" in (row.error or "")

    def test_real_sending_needs_a_postal_address(self, settings, fake_sendgrid):
        cli = Cli(changed(settings, sender_address=""))
        p = make_prospect(settings)
        before = snapshot(settings)
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert result.exit_code == 1 and "LEADLINE_SENDER_ADDRESS" in result.stderr
        assert snapshot(settings) == before and fake_sendgrid.requests == []

    def test_seed_week_one(self, settings, cli, fake_sendgrid):
        tier1(settings, 25)
        result = cli("emails", "send", "--template", "pain_point", "--status", "new", "--tier", "1", "--limit", "25")
        assert result.exit_code == 0 and "25 sent" in result.stdout
        assert len(fake_sendgrid.requests) == 25
        ids = {r.json["personalizations"][0]["custom_args"]["leadline_email_id"] for r in fake_sendgrid.requests}
        assert ids == {e.id for e in emails(settings)}


class TestGuardrails:
    def test_suppressed_and_do_not_contact_are_skipped_with_reasons(self, cli, settings):
        a = make_prospect(settings, email="gone@a.com")
        b = make_prospect(settings, email="b@b.com", do_not_contact=True, do_not_contact_reason="asked us to stop")
        c = make_prospect(settings, email="c@c.com")
        assert cli("suppressions", "add", "gone@a.com", "--note", "asked by phone").exit_code == 0
        result = cli("emails", "send", "--template", "pain_point", "-p", a.id, "-p", b.id, "-p", c.id)
        assert f"skipped {a.id}: gone@a.com is suppressed (manual" in result.stdout
        assert f"skipped {b.id}: is marked do-not-contact (asked us to stop)" in result.stdout
        assert "1 sent" in result.stdout
        assert [m["To"] for m in outbox_messages(settings)] == ["Pat Doe <c@c.com>"]

    def test_no_command_sends_to_a_suppressed_address(self, cli, client, settings):
        p = make_prospect(settings, email="gone@a.com")
        cli("suppressions", "add", "GONE@a.com")
        assert cli("emails", "send", "--template", "pain_point", "-p", p.id, "--force").exit_code == 1
        api = client.post("/api/emails/send", json={"template": "solution", "prospectIds": [p.id], "force": True})
        assert api.json()["sent"] == 0 and api.json()["results"][0]["code"] == "suppressed"
        assert outbox_messages(settings) == []

    def test_same_template_twice_needs_force(self, cli, settings):
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "-p", p.id)
        again = cli("emails", "send", "--template", "pain_point", "-p", p.id)
        assert again.exit_code == 1 and "already got pain_point" in again.stdout
        other = cli("emails", "send", "--template", "solution", "-p", p.id)
        assert other.exit_code == 0
        forced = cli("emails", "send", "--template", "pain_point", "-p", p.id, "--force")
        assert forced.exit_code == 0 and len(outbox_messages(settings)) == 3

    def test_the_daily_cap(self, settings):
        cli = Cli(changed(settings, daily_send_limit=3))
        tier1(settings, 5)
        dry = cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "5", "--dry-run")
        assert "3 would be sent" in dry.stdout and "over the daily cap of 3" in dry.stdout
        result = cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "5")
        assert "3 sent" in result.stdout and result.stdout.count("over the daily cap") == 2
        more = cli("emails", "send", "--template", "solution", "--status", "contacted", "--limit", "1")
        assert more.exit_code == 1 and "over the daily cap of 3" in more.stdout
        assert len(outbox_messages(settings)) == 3

    def test_the_report_gives_the_cap_left_after_the_run(self, settings):
        # Issue 15: capLeft was the value before the run; it is what is left once the run is done.
        import json

        cli = Cli(changed(settings, daily_send_limit=5))
        tier1(settings, 4)
        dry = json.loads(
            cli(
                "emails", "send", "--template", "pain_point", "--status", "new", "--limit", "2", "--dry-run", "--json"
            ).stdout
        )
        assert dry["planned"] == 2 and dry["capLeft"] == 5  # nothing was sent
        first = json.loads(cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "2",
                               "--json").stdout)  # fmt: skip
        assert first["sent"] == 2 and first["capLeft"] == 5 - 2
        second = json.loads(cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "2",
                                "--json").stdout)  # fmt: skip
        assert second["sent"] == 2 and second["capLeft"] == 5 - 4
        assert len(outbox_messages(settings)) == 4

    def test_failed_sends_give_their_cap_slot_back(self, settings, fake_sendgrid):
        cli = Cli(changed(settings, daily_send_limit=1))
        fake_sendgrid.then((400, {"errors": [{"message": "bad", "field": None}]}))
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "-p", p.id)
        ok = cli("emails", "send", "--template", "pain_point", "-p", p.id)
        assert ok.exit_code == 0 and "1 sent" in ok.stdout

    def test_missing_merge_field_sends_nothing(self, cli, settings):
        good = make_prospect(settings, email="a@a.com")
        bad = make_prospect(settings, email="b@b.com", grid_health=None)
        before = snapshot(settings)
        result = cli("emails", "send", "--template", "pain_point", "-p", good.id, "-p", bad.id)
        assert result.exit_code == 1
        assert (
            f"error: gridHealth: template 'pain_point' needs gridHealth, which prospect '{bad.id}' does not have"
            in result.stderr
        )
        assert "nothing was sent" in result.stderr
        assert snapshot(settings) == before and outbox_messages(settings) == []

    def test_unknown_prospect_or_template(self, settings, cli):
        before = snapshot(settings)
        assert (
            "no prospect with id 'nobody'" in cli("emails", "send", "--template", "pain_point", "-p", "nobody").stderr
        )
        p = make_prospect(settings)
        assert "no template 'nope'" in cli("emails", "send", "--template", "nope", "-p", p.id).stderr
        assert (
            count(settings, "email_activities") == 0
            and snapshot(settings)["email_activities"] == before["email_activities"]
        )

    def test_a_selection_needs_a_limit(self, cli):
        result = cli("emails", "send", "--template", "pain_point", "--status", "new")
        assert result.exit_code == 1 and "limit" in result.stderr


class TestStaleSends:
    def test_a_claim_left_by_a_dead_process_is_settled_by_the_outbox(self, cli, settings):
        """The outbox can tell: no file, so not sent (failed, may be sent again); other backends: unknown
        (tests/operations/test_outbox_kill.py)."""
        from datetime import timedelta

        from leadline import clock

        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            from leadline.emails import service
            from leadline.emails.templates import load

            plan = service.plan(session, settings, "pain_point", prospect_ids=[p.id])
            email, _ = service.claim(session, settings, plan.items[0], load(settings, "pain_point"), force=False,
                                     actor="test")  # fmt: skip
            email_id = email.id
        clock.set_frozen(clock.utc_now() + timedelta(minutes=11))
        cli("emails", "send", "--template", "solution", "-p", make_prospect(settings).id)
        assert cli("emails", "show", email_id, "--json").json["status"] == "failed"


class TestReplies:
    def test_logging_a_reply_by_hand(self, settings, cli):
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "-p", p.id)
        email_id = emails(settings)[0].id
        result = cli("emails", "reply", email_id, "--text", "Interested! Can we talk this week?")
        assert result.exit_code == 0
        row = cli("emails", "show", email_id, "--json").json
        assert (row["status"], row["replyText"]) == ("replied", "Interested! Can we talk this week?")
        prospect = cli("prospects", "show", p.id, "--json").json
        assert prospect["salesStatus"] == "replied"
        assert [e["type"] for e in prospect["timeline"]][-3:] == ["reply", "stage_change", "reply_label"]
        assert cli("emails", "list", "--status", "replied", "--json").json[0]["id"] == email_id

    def test_a_reply_needs_a_sent_email_and_text(self, settings, cli):
        p = make_prospect(settings)
        cli("emails", "send", "--template", "pain_point", "-p", p.id)
        email_id = emails(settings)[0].id
        before = snapshot(settings)
        assert cli("emails", "reply", email_id, "--text", "   ").exit_code == 1
        assert cli("emails", "reply", "email_nope", "--text", "hi").exit_code == 1
        assert snapshot(settings) == before


@pytest.mark.parametrize("backend", ["outbox"])
def test_counters_equal_a_recount(settings, cli, backend):
    ids = tier1(settings, 4)
    cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "4")
    cli("emails", "send", "--template", "solution", "-p", ids[0])
    with unit_of_work(settings, readonly=True) as session:
        for pid in ids:
            prospect = prospects.get(session, pid)
            sent = session.scalar(
                select(EmailActivity.id).where(EmailActivity.prospect_id == pid).limit(1)
            )  # at least one
            assert sent is not None
            assert prospect.emails_sent_count == len(
                list(session.scalars(select(EmailActivity).where(EmailActivity.prospect_id == pid)))
            )


ODD_NAME = "Reyes, Daniel; Owner"  # a comma and a semicolon: RFC 5322 specials, quoted in a header


def _odd_prospect(settings):
    return make_prospect(settings, name="Reyes Heating", email="daniel@reyesheating.com", contact_name=ODD_NAME)


def test_a_display_name_with_specials_round_trips_through_the_outbox(settings, cli):
    p = _odd_prospect(settings)
    result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
    assert result.exit_code == 0, result.stderr
    (message,) = outbox_messages(settings)
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (ODD_NAME, "daniel@reyesheating.com")


def test_a_display_name_with_specials_round_trips_through_smtp(settings, cli, smtp_server):
    p = _odd_prospect(settings)
    result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
    assert result.exit_code == 0, result.stderr
    (message,) = smtp_server.inbox.messages
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (ODD_NAME, "daniel@reyesheating.com")


def test_a_display_name_with_specials_reaches_sendgrid_whole(settings, cli, fake_sendgrid):
    p = _odd_prospect(settings)
    result = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
    assert result.exit_code == 0, result.stderr
    (request,) = fake_sendgrid.requests
    (to,) = request.json["personalizations"][0]["to"]
    assert to == {"email": "daniel@reyesheating.com", "name": ODD_NAME}


def test_a_simulated_reply_quotes_the_senders_display_name(settings):
    """The demo's simulated replies (Inbound Parse posts) carry From headers a parser reads back whole."""
    import email as email_package
    from datetime import UTC, datetime
    from email import policy

    from leadline.emails.service import SentEmail
    from leadline.webhooks.simulate import Reply, reply_form

    sent = SentEmail("email_1", "daniel@reyesheating.com", ODD_NAME, "Hello", "pain_point", "<m@x>", None,
                     datetime(2025, 11, 17, tzinfo=UTC), "prospect_1")  # fmt: skip
    form, content_type = reply_form(Reply(sent, "Call me.", datetime(2025, 11, 18, tzinfo=UTC)), sender_email="d@g.ex")
    parsed = email_package.message_from_bytes(
        f"Content-Type: {content_type}\n\n".encode() + form, policy=policy.default
    )
    fields = {part.get_param("name", header="content-disposition"): part.get_content() for part in parsed.iter_parts()}
    headers = email_package.message_from_string(fields["headers"], policy=policy.default)
    for value in (headers["From"], email_package.message_from_string(f"From: {fields['from']}\n\n",
                                                                     policy=policy.default)["From"]):  # fmt: skip
        (sender,) = value.addresses
        assert (sender.display_name, sender.addr_spec) == (ODD_NAME, "daniel@reyesheating.com")
