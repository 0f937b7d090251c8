"""Writing email (issue 17.5): your own message to a prospect, and an answer to a prospect's reply
in its thread, from the CLI (in-process and as a process), the API and the flow, under every
guardrail. The messages are read back from the outbox as a mail client would."""

from __future__ import annotations

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from tests.conftest import changed, run_leadline, settings_env
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot
from tests.webhooks.conftest import email, send_to
from tests.webhooks.test_inbound import QUOTED, default_mode, post


def _emails(settings, prospect_id: str) -> list[EmailActivity]:
    with unit_of_work(settings, readonly=True) as session:
        return list(
            session.scalars(
                select(EmailActivity).where(EmailActivity.prospect_id == prospect_id).order_by(EmailActivity.created_at)
            )
        )


def test_write_to_a_prospect_with_merge_fields_then_the_same_words_again_need_force(settings, cli):
    royal = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", email="daniel@royal.example")
    sent = cli("emails", "compose", "--prospect", royal.id, "--subject", "Your Chicago listing",
               "--body", "Hi {{ firstName }},\n\nI had a look at {{ name }}.\n", "--json")  # fmt: skip
    assert sent.exit_code == 0, sent.stdout + sent.stderr
    assert sent.json["sent"] == 1 and sent.json["template"] == "composed"
    [row] = _emails(settings, royal.id)
    assert (row.template, row.subject, row.status) == ("composed", "Your Chicago listing", "sent")
    assert row.body_text.startswith("Hi Daniel,\n\nI had a look at Royal Plumbing Co.\n")
    [message] = outbox_messages(settings)
    assert (
        message["Subject"] == "Your Chicago listing" and message["To"].addresses[0].addr_spec == "daniel@royal.example"
    )
    assert "List-Unsubscribe" in message  # the footer and one-click unsubscribe, as every email
    shown = cli("prospects", "show", royal.id, "--json").json
    assert shown["salesStatus"] == "contacted" and shown["emailsSentCount"] == 1

    before = snapshot(settings)
    again = cli("emails", "compose", "--prospect", royal.id, "--subject", "Your Chicago listing",
                "--body", "Hi {{ firstName }},\n\nI had a look at {{ name }}.\n")  # fmt: skip
    assert again.exit_code == 1 and "already got this very message" in again.stdout
    assert snapshot(settings) == before
    other_words = cli("emails", "compose", "--prospect", royal.id, "--subject", "Your Chicago listing",
                      "--body", "One more thing.")  # fmt: skip
    assert other_words.exit_code == 0 and len(_emails(settings, royal.id)) == 2
    forced = cli("emails", "compose", "--prospect", royal.id, "--subject", "Your Chicago listing", "--force",
                 "--body", "Hi {{ firstName }},\n\nI had a look at {{ name }}.\n")  # fmt: skip
    assert forced.exit_code == 0 and len(_emails(settings, royal.id)) == 3


def test_guardrails_refuse_and_change_nothing(settings, cli, monkeypatch):
    blocked = make_prospect(settings, name="Quiet Co", email="no@quiet.example", do_not_contact=True,
                            do_not_contact_reason="asked on the phone")  # fmt: skip
    nameless = make_prospect(settings, name="Nameless Co", email="x@nameless.example", grid_health=None)
    before = snapshot(settings)
    for args, words in (
        (["--prospect", blocked.id, "--subject", "Hi", "--body", "Hello"], "do-not-contact"),
        (["--prospect", nameless.id, "--subject", "Hi", "--body", "Score {{ gridHealth }}"], "gridHealth"),
        (["--prospect", nameless.id, "--body", "Hello"], "subject"),
        (["--prospect", nameless.id, "--subject", "Hi {{ planet }}", "--body", "Hello"], "planet"),
        (["--prospect", nameless.id, "--subject", "Hi", "--body", "{% for %}"], "body"),
        (["--prospect", "nobody", "--subject", "Hi", "--body", "Hello"], "nobody"),
        (["--subject", "Hi", "--body", "Hello"], "prospectId"),
        (["--prospect", nameless.id, "--subject", "Hi"], "--body"),
    ):
        result = cli("emails", "compose", *args)
        assert result.exit_code != 0, (args, result.stdout)
        assert words in result.stdout + result.stderr, (args, result.stdout + result.stderr)
    assert snapshot(settings) == before
    capped = changed(settings, daily_send_limit=0)
    from leadline.emails.flows import compose
    from leadline.emails.schemas import ComposeRequest

    report = compose(capped, ComposeRequest(prospect_id=nameless.id, subject="Hi", body="Hello"), actor="test")
    assert report.count("skipped") == 1 and "daily cap" in report.outcomes[0].detail
    assert snapshot(settings) == before


def test_answer_a_reply_in_its_thread_quoting_it(settings, cli, hook):
    (target,) = send_to(hook.settings, 1, contact_name="Daniel Reyes")
    reply_id = "<reply-1@mail.example>"
    assert post(hook, default_mode(target, QUOTED, message_id=reply_id)).status_code == 200
    preview = cli("emails", "compose", "--reply-to", target.id, "--body", "Great, Daniel: Thursday 10am?",
                  "--dry-run", "--json")  # fmt: skip
    assert preview.exit_code == 0, preview.stdout + preview.stderr
    [planned] = preview.json["results"]
    assert planned["status"] == "planned" and planned["subject"] == f"Re: {target.subject}"
    assert planned["text"].startswith("Great, Daniel: Thursday 10am?\n\nOn ")
    assert "Daniel <" in planned["text"] and "> Interested! Can we talk this week?" in planned["text"]
    assert len(outbox_messages(settings)) == 1  # a dry run sends nothing

    sent = cli("emails", "compose", "--reply-to", target.id, "--body", "Great, Daniel: Thursday 10am?", "--json")
    assert sent.exit_code == 0 and sent.json["sent"] == 1
    answer = outbox_messages(settings)[-1]
    assert answer["Subject"] == f"Re: {target.subject}"  # never "Re: Re:"
    assert answer["In-Reply-To"] == reply_id
    assert answer["References"].split() == [target.message_id, reply_id]  # the whole thread
    row = email(settings, sent.json["results"][0]["emailId"])
    assert row.template == "reply" and row.thread_root_id == target.id
    timeline = cli("prospects", "show", target.prospect_id, "--json").json
    assert timeline["salesStatus"] == "replied"  # writing back does not move them back


def test_a_reply_logged_by_hand_can_be_answered_and_an_unanswered_email_cannot(settings, cli):
    (target,) = send_to(settings, 1)
    before = snapshot(settings)
    early = cli("emails", "compose", "--reply-to", target.id, "--body", "Thanks!")
    assert early.exit_code == 1 and "has no reply to answer yet" in early.stderr
    assert snapshot(settings) == before
    assert cli("emails", "reply", target.id, "--text", "Call me on Friday").exit_code == 0
    sent = cli("emails", "compose", "--reply-to", target.id, "--body", "Friday it is.", "--json")
    assert sent.exit_code == 0, sent.stdout + sent.stderr
    answer = outbox_messages(settings)[-1]
    assert answer["In-Reply-To"] == target.message_id  # no reply Message-ID known: under our email
    assert "> Call me on Friday" in answer.get_body(("plain",)).get_content()


def test_a_written_email_stops_the_sequence_as_a_human_touch(settings, cli):
    prospect = make_prospect(settings, name="Seq Co", email="a@seq.example", tier=1, trade="plumbing", grid_health=40)
    assert cli("sequences", "start", "--template", "pain_point", "--prospect", prospect.id,
               "--steps", "follow_up_1:3d").exit_code == 0  # fmt: skip
    assert (
        cli("emails", "compose", "--prospect", prospect.id, "--subject", "Personal note", "--body", "Hi").exit_code == 0
    )
    shown = cli("sequences", "status", "--all", "--json").json
    mine = [e for e in shown if e["prospectId"] == prospect.id]
    assert mine and mine[0]["status"] == "stopped" and "a person wrote to them" in mine[0]["stopReason"]


def test_later_at_a_time_the_worker_sends_it(settings, cli):
    prospect = make_prospect(settings, name="Later Co", email="a@later.example")
    result = cli("emails", "compose", "--prospect", prospect.id, "--subject", "Tomorrow", "--body", "Hi",
                 "--at", "2099-01-05 09:00", "--json")  # fmt: skip
    assert result.exit_code == 0 and result.json["scheduled"] == 1
    [row] = _emails(settings, prospect.id)
    assert row.status == "scheduled" and row.template == "composed"
    past = cli("emails", "compose", "--prospect", prospect.id, "--subject", "Y", "--body", "Hi", "--at", "2001-01-01")
    assert past.exit_code == 1 and "at:" in past.stderr
    for command in (("compose", "--subject", "Y", "--body", "Hi"), ("send", "--template", "pain_point")):
        garbled = cli("emails", *command, "--prospect", prospect.id, "--at", "garbage")  # it named --since
        assert garbled.exit_code == 1 and garbled.stderr.startswith("error: at: 'garbage' is not a date"), (
            garbled.stderr
        )


def test_the_api_composes_and_names_fields(client, settings):
    prospect = make_prospect(settings, name="Api Co", contact_name="Mia Stone", email="mia@api.example")
    dry = client.post("/api/emails/compose", json={"prospectId": prospect.id, "subject": "Hi {{ firstName }}",
                                                  "body": "Hello {{ firstName }}", "dryRun": True})  # fmt: skip
    assert dry.status_code == 200, dry.text
    assert dry.json()["results"][0]["subject"] == "Hi Mia" and dry.json()["results"][0]["text"].startswith("Hello Mia")
    before = snapshot(settings)
    for body, field in (
        ({"prospectId": prospect.id, "body": "x"}, "subject"),
        ({"prospectId": prospect.id, "replyTo": "email_x", "body": "x"}, "replyTo"),
        ({"prospectId": prospect.id, "subject": "x", "body": ""}, "body"),
        ({"prospectId": prospect.id, "subject": "x\ny", "body": "x"}, "subject"),
        ({"prospectId": prospect.id, "subject": "x", "body": "x" * 20_001}, "body"),
    ):
        answer = client.post("/api/emails/compose", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text
    assert snapshot(settings) == before
    sent = client.post("/api/emails/compose", json={"prospectId": prospect.id, "subject": "Hi", "body": "Hello"})
    assert sent.status_code == 200 and sent.json()["sent"] == 1


def test_compose_as_a_real_process(settings, tmp_path):
    prospect = make_prospect(settings, name="Process Co", email="p@process.example")
    body = tmp_path / "note.txt"
    body.write_text("Hi there,\n\nA note written in a file.\n")
    done = run_leadline("emails", "compose", "--prospect", prospect.id, "--subject", "From a file",
                        "--body-file", str(body), env=settings_env(settings))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 sent" in done.stdout
    assert (
        outbox_messages(settings)[-1].get_body(("plain",)).get_content().startswith("Hi there,\r\n\r\nA note written")
    )
    both = run_leadline("emails", "compose", "--prospect", prospect.id, "--subject", "x", "--body", "y",
                        "--body-file", str(body), env=settings_env(settings))  # fmt: skip
    assert both.returncode == 1 and "one of them" in both.stderr


def test_an_empty_message_is_refused_as_empty_in_every_shell(settings, cli, client):
    """The body's rule is the schema's: the CLI, the API (and the pages, tests/web/test_pages_compose.py)
    say "must not be empty", as for any required text, never Pydantic's "at least 1 item"."""
    prospect = make_prospect(settings, name="Empty Co", email="e@empty.example")
    before = snapshot(settings)
    for body in ("", "   "):
        result = cli("emails", "compose", "--prospect", prospect.id, "--subject", "Hi", "--body", body)
        assert result.exit_code == 1 and result.stderr.strip() == "error: body: must not be empty", result.stderr
    answer = client.post("/api/emails/compose", json={"prospectId": prospect.id, "subject": "Hi", "body": ""})
    assert answer.status_code == 422 and answer.json()["errors"] == [{"field": "body", "message": "must not be empty"}]
    logged = client.post("/api/emails/email_x/reply", json={"text": ""})
    assert logged.status_code == 422 and "must not be empty" in logged.text and "item" not in logged.text
    assert snapshot(settings) == before


def test_a_past_time_and_a_bad_merge_field_are_refused_together(settings, cli, client):
    prospect = make_prospect(settings, name="Both Co", email="b@both.example")
    before = snapshot(settings)
    result = cli("emails", "compose", "--prospect", prospect.id, "--subject", "Hi", "--body", "Hi {{ planet }}",
                 "--at", "2001-01-01 09:00")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("error: at: is not in the future; leave it out to send now; body: ")
    assert "planet" in result.stderr
    answer = client.post("/api/emails/compose", json={"prospectId": prospect.id, "subject": "Hi",
                                                      "body": "Hi {{ planet }}", "at": "2001-01-01T09:00:00Z"})  # fmt: skip
    assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == ["at", "body"]
    assert snapshot(settings) == before
