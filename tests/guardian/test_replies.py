"""Every reply labelled, and what follows: through Inbound Parse (a signed app), the CLI and the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.guardian.models import ReplyLabel
from leadline.sequences.models import SequenceEnrollment
from tests.conftest import Cli, changed
from tests.factories import count, snapshot
from tests.webhooks.conftest import email, send_to
from tests.webhooks.test_inbound import default_mode, post


def labels(settings) -> list[ReplyLabel]:
    with unit_of_work(settings, readonly=True) as session:
        return list(session.scalars(select(ReplyLabel).order_by(ReplyLabel.received_at)))


def reply(hook, target, text: str) -> ReplyLabel:
    response = post(hook, default_mode(target, text))
    assert response.status_code == 200, response.text
    (row,) = [r for r in labels(hook.settings) if r.email_activity_id == target.id]
    return row


class TestInbound:
    def test_an_unsubscribe_request_suppresses_and_marks_do_not_contact(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "Please remove me from your list, thanks.")
        assert (row.label, row.set_by, row.action) == ("unsubscribe_request", "rule", "suppressed")
        assert "remove me" in row.reason
        shown = cli("prospects", "show", target.prospect_id, "--json").json
        assert shown["doNotContact"] is True
        assert cli("suppressions", "list", "--json").json[0]["email"] == target.to_email
        entry = shown["timeline"][-1] if shown["timeline"][-1]["type"] == "reply_label" else None
        assert any(e["type"] == "reply_label" and e["details"]["label"] == "unsubscribe_request"
                   for e in shown["timeline"])  # fmt: skip
        assert entry is None or entry["details"]["replyId"] == row.id

    def test_out_of_office_holds_the_sequence_until_the_day_after_the_return(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        before = datetime.now(hook.settings.zone) + timedelta(days=2)
        with unit_of_work(hook.settings) as session:  # a sequence waiting for its next step (only the state matters)
            from leadline.sequences.models import Sequence

            session.add(Sequence(id="seq_test", name="test", steps=[{"template": "pain_point", "delaySeconds": 0},
                                 {"template": "follow_up_1", "delaySeconds": 86400}], created_by="test"))  # fmt: skip
            session.flush()
            enrollment = SequenceEnrollment(id="enr_test", sequence_id="seq_test", prospect_id=target.prospect_id,
                                            step=1, next_send_at=before, status="active")  # fmt: skip
            session.add(enrollment)
        back = (datetime.now(hook.settings.zone) + timedelta(days=20)).date()
        row = reply(hook, target, f"I am out of the office until {back.isoformat()} with limited access to email.")
        assert (row.label, row.named_date, row.action) == ("out_of_office", back, "paused")
        with unit_of_work(hook.settings, readonly=True) as session:
            held = session.get(SequenceEnrollment, enrollment.id)
            assert held is not None and held.status == "active"  # held, not stopped: it runs on by itself
            local = held.next_send_at.astimezone(hook.settings.zone)
        assert (local.date(), local.hour) == (back + timedelta(days=1), 9)
        assert local > before
        assert email(hook.settings, target.id).status == "sent"  # not a reply from a person

    def test_the_out_of_office_timeline_line_names_the_return_date_once(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        back = (datetime.now(hook.settings.zone) + timedelta(days=20)).date()
        reply(hook, target, f"I am out of the office until {back.isoformat()} with limited access to email.")
        from leadline.activity.render import describe

        timeline = cli("prospects", "show", target.prospect_id, "--json").json["timeline"]
        [entry] = [e for e in timeline if e["type"] == "reply_label"]
        line = describe("reply_label", entry["status"], entry["details"], zone=hook.settings.zone)
        assert line.count(back.isoformat()) == 1 and f"back {back.isoformat()}" in line, line  # not "...; 2026-12-14"

    def test_not_interested_waits_for_a_person_then_lost(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "Not interested, we already have a marketing company.")
        assert (row.label, row.action) == ("not_interested", "awaiting_confirmation")
        assert cli("prospects", "show", target.prospect_id, "--json").json["salesStatus"] == "replied"
        tasks = cli("tasks", "list", "--json").json
        assert any(row.id in t["title"] for t in tasks)
        confirmed = cli("replies", "confirm", row.id)
        assert confirmed.exit_code == 0, confirmed.stderr
        assert cli("prospects", "show", target.prospect_id, "--json").json["salesStatus"] == "closed_lost"
        before = snapshot(hook.settings)
        again = cli("replies", "confirm", row.id)
        assert again.exit_code == 1 and "already" in again.stderr and snapshot(hook.settings) == before

    def test_not_interested_is_lost_at_once_when_the_setting_says_so(self, hook, cli, monkeypatch):
        monkeypatch.setattr(hook.settings, "auto_lose_not_interested", True)
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "No thanks.")
        assert (row.label, row.action) == ("not_interested", "lost")
        assert cli("prospects", "show", target.prospect_id, "--json").json["salesStatus"] == "closed_lost"

    def test_a_referral_proposes_a_prospect_created_by_one_action(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "I don't handle that. Talk to Maria Lopez, maria@lopezoffice.com, she runs it.")
        assert (row.label, row.named_person, row.named_email, row.action) == (
            "referral",
            "Maria Lopez",
            "maria@lopezoffice.com",
            "referral_proposed",
        )
        accepted = cli("replies", "accept-referral", row.id)
        assert accepted.exit_code == 0, accepted.stderr
        found = cli("prospects", "list", "--json", "--limit", "50").json
        new = next(p for p in found if p["email"] == "maria@lopezoffice.com")
        assert (new["name"], new["contactName"]) == ("Lopezoffice", "Maria Lopez")  # the business: her domain's
        shown = cli("prospects", "show", new["id"], "--json").json
        assert target.prospect_id in (shown.get("notes") or "")
        before = snapshot(hook.settings)
        assert cli("replies", "accept-referral", row.id).exit_code == 1 and snapshot(hook.settings) == before

    def test_a_partner_at_the_referrers_own_business_keeps_their_whole_name(self, hook, cli):
        (target,) = send_to(hook.settings, 1, name="Reyes Electric", email="dan@reyeselectric.com")
        row = reply(hook, target, "Please contact my partner, John Smith, at john@reyeselectric.com")
        assert (row.label, row.named_person, row.named_email) == ("referral", "John Smith", "john@reyeselectric.com")
        accepted = cli("replies", "accept-referral", row.id)
        assert accepted.exit_code == 0, accepted.stderr
        assert "reyes_electric_2 (Reyes Electric, john@reyeselectric.com)" in accepted.stdout
        new = cli("prospects", "show", "reyes_electric_2", "--json").json
        assert (new["name"], new["contactName"], new["email"]) == ("Reyes Electric", "John Smith",
                                                                   "john@reyeselectric.com")  # fmt: skip

    def test_a_referral_at_a_free_mail_address_is_their_own_business(self, hook, cli):
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "Talk to Jane Doe (jane.doe@gmail.com), she does our books.")
        assert cli("replies", "accept-referral", row.id).exit_code == 0
        new = cli("prospects", "show", "jane_doe", "--json").json
        assert (new["name"], new["contactName"], new["email"]) == ("Jane Doe", "Jane Doe", "jane.doe@gmail.com")

    def test_interested_notifies_once_with_the_label(self, hook):
        (target,) = send_to(hook.settings, 1)
        row = reply(hook, target, "Sounds good - how much is the monthly plan?")
        assert (row.label, row.action) == ("interested", "notified")
        with unit_of_work(hook.settings, readonly=True) as session:
            from leadline.notify.models import Notification

            titles = [n.title for n in session.scalars(select(Notification))]
        assert len(titles) == 1 and titles[0].endswith("replied: interested")


class TestByHand:
    def test_a_logged_reply_is_labelled_and_a_person_corrects_it(self, settings, cli):
        (target,) = send_to(settings, 1)
        logged = cli("emails", "reply", target.id, "--text", "Can we set up a call Thursday?")
        assert logged.exit_code == 0, logged.stderr
        assert "meeting_request" in logged.stdout
        (row,) = labels(settings)
        assert row.source == "manual" and row.label == "meeting_request"
        corrected = cli("emails", "label", row.id, "interested", "--note", "they asked for pricing first")
        assert corrected.exit_code == 0, corrected.stderr
        report = cli("replies", "labels", "--json").json
        assert report["byLabel"]["interested"] == 1 and report["byLabel"]["meeting_request"] == 0
        assert report["corrections"] == [{"from": "meeting_request", "to": "interested", "count": 1}]
        assert report["setBy"] == {"rule": 0, "person": 1} and report["ruleAgreement"] == 0.0
        listed = cli("replies", "list", "--json").json
        assert listed[0]["label"] == "interested" and listed[0]["ruleLabel"] == "meeting_request"

    def test_a_label_not_in_the_list_changes_nothing(self, settings, cli):
        (target,) = send_to(settings, 1)
        cli("emails", "reply", target.id, "--text", "Interested, tell me more")
        (row,) = labels(settings)
        before = snapshot(settings)
        for bad in ("spam", "", "INTERESTED"):
            result = cli("emails", "label", row.id, bad)
            assert result.exit_code == 1 and "must be one of" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
        missing = cli("emails", "label", "rpl_nope", "other")
        assert missing.exit_code == 1 and "no reply" in missing.stderr
        assert snapshot(settings) == before

    def test_a_reply_says_the_prospect_moved_to_replied(self, settings, cli):
        (target,) = send_to(settings, 1)
        logged = cli("emails", "reply", target.id, "--text", "Interested, tell me more")
        assert logged.exit_code == 0, logged.stderr
        assert f"{target.prospect_id} moved from Contacted to Replied." in logged.stdout
        assert cli("prospects", "show", target.prospect_id, "--json").json["salesStatus"] == "replied"

    def test_a_reply_from_a_prospect_further_along_says_it_stays_there(self, settings, cli):
        """Stages only move forward: a prospect at interested stays there, and the message says so."""
        from leadline.guardian import service as guardian

        (first, second) = send_to(settings, 2)
        for target in (first, second):
            assert cli("prospects", "stage", target.prospect_id, "interested", "--reason", "called").exit_code == 0
        logged = cli("emails", "reply", first.id, "--text", "Interested, tell me more")
        assert logged.exit_code == 0, logged.stderr
        assert f"{first.prospect_id} stays at Called (interested) (stages only move forward)." in logged.stdout
        assert "is now replied" not in logged.stdout and "moved" not in logged.stdout
        assert cli("prospects", "show", first.prospect_id, "--json").json["salesStatus"] == "interested"
        with unit_of_work(settings) as session:
            result = guardian.log_reply(session, second.id, "Sounds good, send it over", actor="test")
            assert (result.stage_before, result.stage, result.moved, result.is_reply) == (
                "interested", "interested", False, True)  # fmt: skip
            assert result.email.status == "replied"

    def test_the_help_says_a_prospect_further_along_stays(self, cli):
        shown = " ".join(cli("emails", "reply", "--help").stdout.split())
        assert "become replied" not in shown and "unless it is further along" in shown

    def test_a_logged_out_of_office_is_not_a_reply(self, settings, cli):
        (target,) = send_to(settings, 1)
        logged = cli("emails", "reply", target.id, "--text", "Out of the office until Monday.")
        assert logged.exit_code == 0 and "not a reply" in logged.stdout
        assert email(settings, target.id).status == "sent"


class TestApi:
    def test_correct_a_label_and_read_the_report(self, settings, client, cli):
        (target,) = send_to(settings, 1)
        cli("emails", "reply", target.id, "--text", "Interested, tell me more")
        (row,) = labels(settings)
        before = snapshot(settings)
        bad = client.post(f"/api/replies/{row.id}/label", json={"label": "spam"})
        assert bad.status_code == 422 and bad.json()["field"] == "label"
        assert snapshot(settings) == before
        good = client.post(f"/api/replies/{row.id}/label", json={"label": "unsubscribe_request"})
        assert good.status_code == 200, good.text
        assert good.json()["label"] == "unsubscribe_request" and good.json()["setBy"] == "person"
        assert good.json()["action"] == "suppressed" and count(settings, "suppressions") == 1
        report = client.get("/api/replies/labels").json()
        assert report["correctedReplies"] == 1
        assert client.get("/api/replies", params={"label": "unsubscribe_request"}).json()[0]["id"] == row.id
        assert client.get("/api/replies", params={"label": "nope"}).status_code == 422

    def test_a_viewer_cannot_correct(self, settings):
        from fastapi.testclient import TestClient

        from leadline.app import create_app
        from tests.conftest import make_token

        (target,) = send_to(settings, 1)
        Cli(settings)("emails", "reply", target.id, "--text", "Interested, tell me more")
        (row,) = labels(settings)
        headers = {"Authorization": f"Bearer {make_token(settings, scope='read')}"}
        with TestClient(create_app(changed(settings)), headers=headers) as viewer:
            assert viewer.post(f"/api/replies/{row.id}/label", json={"label": "other"}).status_code == 403


def test_a_correction_withdraws_what_waited_under_the_old_label(settings, cli):
    (target,) = send_to(settings, 1)
    cli("emails", "reply", target.id, "--text", "No thanks, we already have an agency.")
    (row,) = labels(settings)
    assert row.action == "awaiting_confirmation"
    task_id = row.action_detail["taskId"]
    assert cli("emails", "label", row.id, "not_now").exit_code == 0
    (row,) = labels(settings)
    assert (row.label, row.action, row.action_detail) == ("not_now", "none", {"withdrawn": "awaiting_confirmation"})
    with unit_of_work(settings, readonly=True) as session:
        from leadline.tasks.models import Task

        task = session.get(Task, task_id)
        assert task is not None and task.done_at is not None
    assert cli("replies", "confirm", row.id).exit_code == 1  # no longer not interested


def test_an_out_of_office_pause_ends_and_the_sequence_runs_on(hook):
    """Held until the day after the return, the next step goes out when that day comes (the sequence job)."""
    from datetime import UTC

    from leadline import clock
    from leadline.sequences.flows import run_due
    from leadline.sequences.models import Sequence

    monday = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
    clock.set_frozen(monday)
    try:
        (target,) = send_to(hook.settings, 1)
        with unit_of_work(hook.settings) as session:
            session.add(Sequence(id="seq_ooo", name="ooo", steps=[{"template": "pain_point", "delaySeconds": 0},
                                 {"template": "follow_up_1", "delaySeconds": 86400}], created_by="test"))  # fmt: skip
            session.flush()
            session.add(SequenceEnrollment(id="enr_ooo", sequence_id="seq_ooo", prospect_id=target.prospect_id, step=1,
                                           next_send_at=monday + timedelta(days=1), status="active",
                                           thread_root_email_id=target.id, last_email_id=target.id,
                                           last_sent_at=monday))  # fmt: skip
        row = reply(hook, target, "Out of the office until Thursday, December 10.")
        assert (row.label, row.action) == ("out_of_office", "paused")
        clock.set_frozen(monday + timedelta(days=2))  # Wednesday: the step was due, but it waits
        assert run_due(hook.settings).sent == 0
        clock.set_frozen(monday + timedelta(days=4, hours=1))  # Friday 10:00 local: the day after the return
        report = run_due(hook.settings)
        assert report.sent == 1, report
        with unit_of_work(hook.settings, readonly=True) as session:
            enrollment = session.get(SequenceEnrollment, "enr_ooo")
            assert enrollment is not None and enrollment.step == 2
    finally:
        clock.set_frozen(None)
