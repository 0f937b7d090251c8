"""Senders (issue 19, item 1 finished): every email is written as the sender it goes from ({{ senderName }},
the signature), a send or sequence rotates across a chosen selection of senders (``--sender``, ``senders``
in the API and the bulk form) kept for a sequence's later steps, a sender's own SendGrid key, and
LEADLINE_DAILY_SEND_LIMIT as the ceiling over every sender together."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from leadline import clock
from leadline.db import unit_of_work
from leadline.emails import flows as email_flows
from leadline.emails.jobs import send_scheduled
from leadline.emails.models import EmailActivity
from leadline.senders import service
from leadline.sequences.flows import run_due
from leadline.sequences.models import Sequence, SequenceEnrollment
from tests.conftest import configure
from tests.emails.conftest import fake_sendgrid, outbox_messages  # noqa: F401 (a fixture)
from tests.factories import count, snapshot
from tests.senders.conftest import OPEN_ALL_WEEK, add, emails, people


@pytest.fixture(autouse=True)
def _defaults(settings, monkeypatch):
    """The settings' own sender name is one no email from another sender may carry."""
    configure(monkeypatch, settings, sender_name="Sam Settings", **OPEN_ALL_WEEK)


def plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def signed_by_its_sender(message: EmailMessage) -> str:
    """The From's name, having checked the body names the same one (the template's {{ senderName }} line
    and the footer's signature) and never the settings' sender."""
    name = message["From"].addresses[0].display_name
    text = plain(message)
    assert f"\n{name}\n\n--\n{name}\n" in text, text
    assert "Sam Settings" not in text
    return name


class TestWrittenAsItsSender:
    def test_rotated_sends_carry_their_own_senders_name(self, cli, settings):
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        ids = people(settings, 4)
        assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids).count("sent") == 4
        names = [signed_by_its_sender(m) for m in outbox_messages(settings)]
        assert sorted(names) == ["Ann Alpha", "Ann Alpha", "Bob Beta", "Bob Beta"]
        for row in emails(settings):  # what is stored is what was sent
            assert row.from_name in ("Ann Alpha", "Bob Beta") and f"--\n{row.from_name}\n" in row.body_text
            assert row.message_id.endswith(row.from_email.partition("@")[2] + ">")

    def test_a_claim_that_takes_another_sender_writes_the_email_again(self, cli, settings):
        """Planned as the rotation's first (Ann), claimed by Bob because Ann was paused meanwhile."""
        a = add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        (pid,) = people(settings, 1)
        with unit_of_work(settings, readonly=True) as session:
            planned = email_flows.service.plan(session, settings, "pain_point", prospect_ids=[pid])
        assert planned.items[0].written_as.name == "Ann Alpha"
        assert cli("senders", "pause", a["id"], "--reason", "test").exit_code == 0
        report = email_flows.carry_out(settings, planned, dry_run=False, at=None, backend=None, force=False,
                                       actor="test")  # fmt: skip
        assert report.count("sent") == 1
        (message,) = outbox_messages(settings)
        assert signed_by_its_sender(message) == "Bob Beta"
        assert message["From"].addresses[0].addr_spec == "bob@beta-mail.com"

    def test_scheduled_sends_go_from_the_sender_they_were_written_for(self, cli, settings):
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        ids = people(settings, 4)
        at = clock.utc_now() + timedelta(minutes=5)
        assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids, at=at).count("scheduled") == 4
        assert sorted(e.from_name for e in emails(settings)) == ["Ann Alpha", "Ann Alpha", "Bob Beta", "Bob Beta"]
        try:
            clock.set_frozen(at + timedelta(seconds=1))
            send_scheduled(settings)
        finally:
            clock.set_frozen(None)
        assert [e.status for e in emails(settings)] == ["sent"] * 4
        names = [signed_by_its_sender(m) for m in outbox_messages(settings)]
        assert sorted(names) == ["Ann Alpha", "Ann Alpha", "Bob Beta", "Bob Beta"]

    def test_a_sequences_follow_ups_and_a_written_answer_keep_the_first_sender(self, cli, settings):
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        ids = people(settings, 2)
        started = cli("sequences", "start", "--template", "pain_point", "--steps", "follow_up_1:1d", "--prospect",
                      ids[0], "--prospect", ids[1])  # fmt: skip
        assert started.exit_code == 0, started.stderr
        try:
            clock.set_frozen(clock.utc_now() + timedelta(days=1, minutes=5))
            run_due(settings)
        finally:
            clock.set_frozen(None)
        rows = emails(settings)
        assert sorted(e.template for e in rows) == ["follow_up_1", "follow_up_1", "pain_point", "pain_point"]
        first = {e.prospect_id: e.sender_id for e in rows if e.template == "pain_point"}
        assert len(set(first.values())) == 2  # rotated
        assert all(e.sender_id == first[e.prospect_id] for e in rows)
        for message in outbox_messages(settings):
            signed_by_its_sender(message)
        bobs = next(e for e in rows if e.sender_id == b["id"] and e.template == "pain_point")
        assert cli("emails", "reply", bobs.id, "--text", "Tell me more").exit_code == 0
        answer = cli("emails", "compose", "--reply-to", bobs.id, "--body", "Glad to.\n\n{{ senderName }} here.")
        assert answer.exit_code == 0, answer.stderr
        latest = emails(settings, template="reply")[0]
        assert latest.sender_id == b["id"] and latest.body_text.startswith("Glad to.\n\nBob Beta here.\n")


class TestSelection:
    def test_emails_send_rotates_across_the_chosen_senders_only(self, cli, settings):
        a = add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        c = add(cli, "cy@gamma-mail.com", "--name", "Cy Gamma")
        ids = people(settings, 6)
        sent = cli("emails", "send", "--template", "pain_point", *[x for i in ids[:4] for x in ("-p", i)],
                   "--sender", "BOB@beta-mail.com", "--sender", c["id"])  # fmt: skip
        assert sent.exit_code == 0, sent.stderr
        assert sorted(e.sender_id for e in emails(settings)) == sorted([b["id"], b["id"], c["id"], c["id"]])
        # a thread keeps its first sender, whatever the selection says
        follow = cli("emails", "send", "--template", "follow_up_1", "-p", ids[0], "--sender", a["id"])
        assert follow.exit_code == 0, follow.stderr
        (row,) = emails(settings, template="follow_up_1")
        assert row.sender_id == emails(settings, prospect_id=ids[0], template="pain_point")[0].sender_id != a["id"]

    @pytest.mark.parametrize("command", ["emails send", "sequences start"])
    def test_an_unknown_or_removed_sender_is_refused_and_nothing_is_sent(self, cli, settings, command):
        add(cli, "ann@alpha-mail.com")
        gone = add(cli, "gone@alpha-mail.com")
        assert cli("senders", "remove", gone["id"]).exit_code == 0
        ids = people(settings, 2)
        before = snapshot(settings)
        for key in ("nobody@nowhere-mail.com", gone["id"]):
            refused = cli(*command.split(), "--template", "pain_point", "-p", ids[0], "-p", ids[1], "--sender",
                          "ann@alpha-mail.com", "--sender", key)  # fmt: skip
            assert refused.exit_code == 1
            assert "senders" in refused.stderr and key in refused.stderr and "nothing was sent" in refused.stderr
        assert snapshot(settings) == before
        assert outbox_messages(settings) == []

    def test_the_api_takes_senders_and_refuses_an_unknown_one(self, cli, settings, client):
        add(cli, "ann@alpha-mail.com")
        b = add(cli, "bob@beta-mail.com")
        ids = people(settings, 3)
        before = snapshot(settings)
        refused = client.post("/api/emails/send", json={"template": "pain_point", "prospectIds": ids,
                                                        "senders": ["bob@beta-mail.com", "who@nowhere-mail.com"]})  # fmt: skip
        assert refused.status_code == 422 and "senders" in refused.text
        refused = client.post("/api/sequences", json={"template": "pain_point", "prospectIds": ids,
                                                      "senders": ["who@nowhere-mail.com"]})  # fmt: skip
        assert refused.status_code == 422 and "senders" in refused.text
        assert snapshot(settings) == before
        sent = client.post("/api/emails/send", json={"template": "pain_point", "prospectIds": ids[:2],
                                                     "senders": [b["id"]]})  # fmt: skip
        assert sent.status_code == 200 and sent.json()["sent"] == 2
        started = client.post("/api/sequences", json={"template": "pain_point", "prospectIds": [ids[2]],
                                                      "senders": ["bob@beta-mail.com"]})  # fmt: skip
        assert started.status_code == 201, started.text
        assert {e.sender_id for e in emails(settings)} == {b["id"]}

    def test_a_sequence_keeps_its_selection_and_waits_for_a_paused_sender_in_it(self, cli, settings):
        a = add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        ids = people(settings, 2)
        cli("senders", "pause", b["id"], "--reason", "warming up again")
        started = cli("sequences", "start", "--template", "pain_point", "--steps", "follow_up_1:1d", "-p", ids[0],
                      "-p", ids[1], "--sender", "bob@beta-mail.com")  # fmt: skip
        assert started.exit_code == 0, started.stderr
        with unit_of_work(settings, readonly=True) as session:
            assert session.scalar(select(Sequence.senders)) == [b["id"]]
        assert emails(settings) == []  # Ann is active, but not in the selection: the steps wait for Bob
        assert cli("senders", "resume", b["id"], "--note", "checked").exit_code == 0
        try:
            clock.set_frozen(clock.utc_now() + service.RECHECK + timedelta(minutes=1))
            run_due(settings)
            clock.set_frozen(clock.utc_now() + timedelta(days=1, minutes=30))
            run_due(settings)
        finally:
            clock.set_frozen(None)
        rows = emails(settings)
        assert sorted(e.template for e in rows) == ["follow_up_1", "follow_up_1", "pain_point", "pain_point"]
        assert {e.sender_id for e in rows} == {b["id"]} and a["id"] not in {e.sender_id for e in rows}
        assert {signed_by_its_sender(m) for m in outbox_messages(settings)} == {"Bob Beta"}

    def test_a_sequence_whose_chosen_senders_were_removed_stops_and_says_why(self, cli, settings):
        add(cli, "ann@alpha-mail.com")
        b = add(cli, "bob@beta-mail.com")
        ids = people(settings, 1)
        cli("senders", "pause", b["id"], "--reason", "not yet")
        started = cli("sequences", "start", "--template", "pain_point", "-p", ids[0], "--sender", b["id"])
        assert started.exit_code == 0, started.stderr
        assert cli("senders", "remove", b["id"]).exit_code == 0  # it never sent
        try:
            clock.set_frozen(clock.utc_now() + service.RECHECK + timedelta(minutes=1))
            run_due(settings)
        finally:
            clock.set_frozen(None)
        with unit_of_work(settings, readonly=True) as session:
            enrollment = session.scalar(select(SequenceEnrollment))
            assert enrollment is not None and enrollment.status == "stopped"
            assert "none of the senders chosen for it exists any more" in (enrollment.stop_reason or "")
        assert emails(settings) == []

    def test_the_bulk_form_sends_from_the_chosen_senders(self, cli, settings, signed_in):
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        ids = people(settings, 3)
        page = signed_in("admin", "boss@example.com")
        listing = page.get("/prospects").text
        assert 'name="senders"' in listing and "bob@beta-mail.com" in listing
        form = {"csrf_token": page.csrf, "ids": ids, "scope": "selected", "template": "pain_point", "go": "apply"}
        before = snapshot(settings)
        refused = page.post("/prospects/bulk", data=form | {"senders": ["who@nowhere-mail.com"]})
        assert refused.status_code == 422 and "who@nowhere-mail.com" in refused.text
        assert snapshot(settings) == before
        sent = page.post("/prospects/bulk", data=form | {"senders": ["bob@beta-mail.com"]})
        assert sent.status_code == 200 and "<strong>3</strong> sent" in sent.text
        assert {e.sender_id for e in emails(settings)} == {b["id"]}

    def test_the_prospect_pages_send_form_chooses_a_sender_until_a_thread_has_one(self, cli, settings, signed_in):
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob Beta")
        (pid,) = people(settings, 1)
        page = signed_in("admin", "boss@example.com")
        shown = page.get(f"/prospects/{pid}").text
        assert 'name="sender"' in shown and "Bob Beta &lt;bob@beta-mail.com&gt;" in shown
        before = snapshot(settings)
        form = {"csrf_token": page.csrf, "template": "pain_point"}
        refused = page.post(f"/prospects/{pid}/email", data=form | {"sender": "who@nowhere-mail.com"})
        assert refused.status_code == 422 and "who@nowhere-mail.com" in refused.text
        assert 'aria-invalid="true"' in refused.text.split('name="sender"')[1].split(">")[0]  # beside its input
        assert snapshot(settings) == before
        sent = page.post(f"/prospects/{pid}/email", data=form | {"sender": "bob@beta-mail.com"},
                         follow_redirects=False)  # fmt: skip
        assert sent.status_code == 303, sent.text[-1500:]
        assert [e.sender_id for e in emails(settings)] == [b["id"]]
        again = page.get(f"/prospects/{pid}").text
        assert 'name="sender"' not in again and "From Bob Beta &lt;bob@beta-mail.com&gt;, who sent" in again

    def test_a_sender_with_scheduled_emails_written_for_it_cannot_be_removed(self, cli, settings):
        add(cli, "ann@alpha-mail.com")
        ids = people(settings, 1)
        at = clock.utc_now() + timedelta(hours=1)
        email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids, at=at)
        before = snapshot(settings)
        refused = cli("senders", "remove", "ann@alpha-mail.com")
        assert refused.exit_code == 1 and "1 scheduled emails written for it" in refused.stderr
        assert snapshot(settings) == before


class TestOwnKey:
    def test_a_sender_with_its_own_key_sends_with_it(self, cli, settings, fake_sendgrid, monkeypatch):  # noqa: F811
        own_key = "SG.bobs-own-key"
        fake_sendgrid.other_keys = (own_key,)
        monkeypatch.setenv("LEADLINE_TEST_BOB_SENDGRID_KEY", own_key)
        add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
        add(cli, "bob@beta-mail.com", "--name", "Bob Beta", "--credentials-env", "LEADLINE_TEST_BOB_SENDGRID_KEY")
        ids = people(settings, 4)
        assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids).count("sent") == 4
        used = {}
        for request in fake_sendgrid.requests:
            body = request.json
            used.setdefault(body["from"]["email"], set()).add(request.headers["authorization"])
        assert used == {"ann@alpha-mail.com": {f"Bearer {fake_sendgrid.api_key}"},
                        "bob@beta-mail.com": {f"Bearer {own_key}"}}  # fmt: skip


class TestCeiling:
    def test_the_daily_send_limit_is_a_ceiling_over_every_sender(self, cli, settings, monkeypatch):
        # At noon: the scheduled send five minutes on is today's (run after 23:55, it was tomorrow's, under a
        # new day's ceiling, and went out).
        clock.set_frozen(datetime(2026, 12, 2, 12, 0, tzinfo=settings.zone))
        configure(monkeypatch, settings, daily_send_limit=3)
        add(cli, "ann@alpha-mail.com", "--daily-cap", "10")
        add(cli, "bob@beta-mail.com", "--daily-cap", "10")
        ids = people(settings, 6)
        report = email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids[:5])
        assert report.count("sent") == 3 and report.count("skipped") == 2 and report.cap_left == 0
        assert all("LEADLINE_DAILY_SEND_LIMIT" in o.detail for o in report.outcomes if o.status == "skipped")
        listed = {s["email"]: s["sentToday"] for s in cli("senders", "list", "--json").json}  # type: ignore[union-attr]
        assert sum(listed.values()) == 3  # each has room left; the ceiling stops them
        said = " ".join(cli("senders", "list").stdout.split())
        assert "caps add up to 20, under the ceiling of 3 a day across every sender" in said
        # a scheduled send, claimed by the worker, meets the same ceiling: it waits for the next day
        at = clock.utc_now() + timedelta(minutes=5)
        assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=[ids[5]], at=at).count(
            "scheduled") == 1  # fmt: skip
        try:
            clock.set_frozen(at + timedelta(seconds=1))
            send_scheduled(settings)
        finally:
            clock.set_frozen(None)
        (waiting,) = emails(settings, prospect_id=ids[5])
        assert waiting.status == "scheduled" and waiting.scheduled_at > at
        assert count(settings, "email_activities") == 4 and len(outbox_messages(settings)) == 3

    def test_leadline_config_and_the_settings_page_say_what_it_does(self, cli, signed_in):
        admin = signed_in("admin", "boss@example.com")
        assert "the ceiling across every sender together" in admin.get("/settings").text
        shown = cli("config")
        assert shown.exit_code == 0
        note = next(line for line in shown.stdout.splitlines() if line.startswith("note: LEADLINE_DAILY_SEND_LIMIT"))
        assert "ceiling on sends a day across every sender" in note
        assert "ceiling" in cli("config", "--json").json["notes"][0]  # type: ignore[index]


def test_emails_are_not_signed_by_the_settings_sender_when_one_exists(settings, cli):
    """The planned row carries the sender it was written as (what a person sees before it goes)."""
    add(cli, "ann@alpha-mail.com", "--name", "Ann Alpha")
    (pid,) = people(settings, 1)
    at = clock.utc_now() + timedelta(hours=1)
    email_flows.send(settings, "pain_point", actor="test", prospect_ids=[pid], at=at)
    with unit_of_work(settings, readonly=True) as session:
        row = session.scalar(select(EmailActivity))
        assert row is not None and "Ann Alpha" in row.body_text and "Sam Settings" not in row.body_text
