"""Senders (issue 19, items 1-3): the CLI and API, rotation, a thread keeping its sender, warm-up,
the auto-pause through the signed webhook, health figures equal to their lists, queued sends
waiting on a paused sender, and bad input changing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from leadline import clock
from leadline.db import unit_of_work
from leadline.emails import flows as email_flows
from leadline.emails.jobs import send_scheduled
from leadline.errors import Invalid
from leadline.notify.models import Notification
from leadline.senders import health, service
from leadline.senders.models import Sender
from leadline.sequences.models import SequenceEnrollment
from tests.conftest import configure, run_leadline, settings_env
from tests.emails.conftest import outbox_messages
from tests.factories import count, make_prospect, snapshot
from tests.senders.conftest import OPEN_ALL_WEEK, add, bounce, emails, event, people, sender, sender_events


def send(settings, template: str, ids: list[str]) -> email_flows.SendReport:
    return email_flows.send(settings, template, actor="test", prospect_ids=ids)


class TestCli:
    def test_add_list_show_update_pause_resume_remove(self, cli, settings):
        made = add(cli, "Ann@Alpha-Mail.com", "--name", "Ann at Alpha", "--daily-cap", "30", "--warmup-start", "5",
                   "--warmup-step", "2", "--warmup-max", "25", "--min-gap", "60",
                   "--window", "08:00-17:00 mon-fri Europe/Paris", "--credentials-env", "SENDGRID_KEY_ANN")  # fmt: skip
        assert made["email"] == "ann@alpha-mail.com" and made["domain"] == "alpha-mail.com"
        assert (made["dailyCap"], made["capToday"], made["minGapSeconds"]) == (30, 5, 60)  # the ramp's first day
        assert made["window"] == {"start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
                                  "zone": "Europe/Paris"}  # fmt: skip
        assert made["credentialsEnv"] == "SENDGRID_KEY_ANN" and made["status"] == "active"
        listed = cli("senders", "list")
        assert "ann@alpha-mail.com" in listed.stdout and "1 senders" in listed.stdout
        assert [s["id"] for s in cli("senders", "list", "--json").json] == [made["id"]]  # type: ignore[union-attr]
        changed = cli("senders", "update", made["id"], "--daily-cap", "40", "--window", "always", "--json").json
        assert changed["dailyCap"] == 40 and changed["window"] is None  # type: ignore[index]
        paused = cli("senders", "pause", "ann@alpha-mail.com", "--reason", "checking DNS", "--json").json
        assert paused["status"] == "paused" and paused["pausedReason"] == "checking DNS"  # type: ignore[index]
        assert paused["pausedBy"].startswith("cli")  # type: ignore[index]
        again = cli("senders", "pause", "ann@alpha-mail.com")
        assert again.exit_code == 1 and "paused already" in again.stderr
        blank = cli("senders", "resume", "ann@alpha-mail.com", "--note", "  ")
        assert blank.exit_code == 1 and "note" in blank.stderr
        resumed = cli("senders", "resume", "ann@alpha-mail.com", "--note", "SPF fixed", "--json").json
        assert resumed["status"] == "active" and resumed["pausedReason"] is None  # type: ignore[index]
        shown = cli("senders", "show", made["id"], "--json").json
        kinds = [(e["kind"], e["note"]) for e in shown["events"]]  # type: ignore[index]
        assert kinds[:3] == [("resumed", "SPF fixed"), ("paused", "checking DNS"), ("updated", None)]
        text = cli("senders", "show", "ann@alpha-mail.com").stdout
        assert "Ann at Alpha <ann@alpha-mail.com>" in text and "SENDGRID_KEY_ANN" in text
        assert cli("senders", "remove", "ann@alpha-mail.com").exit_code == 0
        assert count(settings, "senders") == 0
        assert cli("senders", "show", "ann@alpha-mail.com").exit_code == 1

    @pytest.mark.parametrize(
        ("args", "problem"),
        [
            (["not-an-address"], "not a valid email address"),
            (["ann@alpha"], "not a valid email address"),
            (["ann@alpha-mail.com", "--daily-cap", "-1"], "daily-cap"),
            (["ann@alpha-mail.com", "--daily-cap", "10001"], "at most 10000"),
            (["ann@alpha-mail.com", "--min-gap", "90000"], "min-gap"),
            (["ann@alpha-mail.com", "--window", "25:00-26:00"], "not a time of day"),
            (["ann@alpha-mail.com", "--window", "24:00-24:00"], "'24:00' is not a time of day (HH:MM)"),
            (["ann@alpha-mail.com", "--window", "20:00-24:01"], "not a time of day (HH:MM, or 24:00 for midnight)"),
            (["ann@alpha-mail.com", "--window", "17:00-08:00"], "must end after it starts"),
            (["ann@alpha-mail.com", "--window", "08:00-17:00 mon-fri Mars/Olympus"], "not a known time zone"),
            (["ann@alpha-mail.com", "--warmup-start", "10", "--warmup-max", "5"], "warmupMax"),
            (["ann@alpha-mail.com", "--credentials-env", "SG.aKey-that-is-a-secret"], "never the secret itself"),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(self, cli, settings, args, problem):
        add(cli, "bob@beta-mail.com")
        before = snapshot(settings)
        result = cli("senders", "add", *args)
        assert result.exit_code == 1 and problem in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        update = cli("senders", "update", "bob@beta-mail.com", *args[1:]) if len(args) > 1 else None
        if update is not None:
            assert update.exit_code == 1 and problem in update.stderr, update.stderr
        assert snapshot(settings) == before

    def test_a_duplicate_is_refused(self, cli, settings):
        add(cli, "bob@beta-mail.com")
        before = snapshot(settings)
        again = cli("senders", "add", "BOB@beta-mail.com")
        assert again.exit_code == 1 and "is a sender already" in again.stderr
        assert snapshot(settings) == before

    @pytest.mark.parametrize(
        ("env", "problem"),
        [
            ({"LEADLINE_BOUNCE_PAUSE_RATE": "1.5"}, "LEADLINE_BOUNCE_PAUSE_RATE: must be at most 1"),
            ({"LEADLINE_BOUNCE_PAUSE_MIN_SENDS": "0"}, "LEADLINE_BOUNCE_PAUSE_MIN_SENDS"),
            ({"LEADLINE_SPAM_PAUSE_RATE": "-0.1"}, "LEADLINE_SPAM_PAUSE_RATE"),
            ({"LEADLINE_SPAM_WARN_RATE": "0.01"}, "must not be above LEADLINE_SPAM_PAUSE_RATE"),
        ],
    )
    def test_a_threshold_out_of_range_is_a_clear_error(self, settings, env, problem):
        before = snapshot(settings)
        result = run_leadline("senders", "add", "cy@gamma-mail.com", env=settings_env(settings) | env)
        assert result.returncode == 1 and problem in result.stderr, result.stderr
        assert snapshot(settings) == before

    def test_a_window_open_until_midnight(self, cli, settings):
        """``--window "18:00-24:00 mon-sun"``: open in the last minute of the day, shut just after midnight."""
        made = add(cli, "ann@alpha-mail.com", "--window", "18:00-24:00 mon-sun America/Chicago")
        assert made["window"]["start"] == "18:00" and made["window"]["end"] == "24:00"
        assert "18:00-24:00 mon,tue,wed,thu,fri,sat,sun" in cli("senders", "list").stdout
        late = datetime.fromisoformat("2025-11-23T05:59:30+00:00")  # Saturday 23:59:30 in Chicago
        with unit_of_work(settings, readonly=True) as session:
            ann = session.scalars(select(Sender)).one()
            assert service.next_opening(settings, ann, late) == late
            after = late + timedelta(minutes=1)  # Sunday 00:00:30: the window opens again at 18:00
            assert service.next_opening(settings, ann, after) == datetime.fromisoformat("2025-11-24T00:00:00+00:00")


class TestSending:
    def test_sends_rotate_and_a_thread_keeps_its_sender(self, cli, settings):
        a = add(cli, "ann@alpha-mail.com", "--name", "Ann")
        b = add(cli, "bob@beta-mail.com", "--name", "Bob")
        ids = people(settings, 4)
        assert send(settings, "pain_point", ids).count("sent") == 4
        first = emails(settings)
        assert [e.sender_id for e in first] == [a["id"], b["id"], a["id"], b["id"]]  # least used today, then id
        froms = [m["From"] for m in outbox_messages(settings)]
        assert sorted(froms) == sorted(["Ann <ann@alpha-mail.com>", "Bob <bob@beta-mail.com>"] * 2)
        # both have sent 2: rotation would give ann then bob; each thread keeps its own (ann, ann)
        assert send(settings, "follow_up_1", [ids[0], ids[2]]).count("sent") == 2
        follow = emails(settings, template="follow_up_1")
        assert [e.sender_id for e in follow] == [a["id"], a["id"]]
        assert all(e.from_email == "ann@alpha-mail.com" for e in follow)
        listed = {s["email"]: s["sentToday"] for s in cli("senders", "list", "--json").json}  # type: ignore[union-attr]
        assert listed == {"ann@alpha-mail.com": 4, "bob@beta-mail.com": 2}

    def test_the_first_sender_comes_from_the_settings(self, settings):
        ids = people(settings, 1)
        assert send(settings, "pain_point", ids).count("sent") == 1
        (email,) = emails(settings)
        first = sender(settings, settings.sender_email)
        assert email.sender_id == first.id and first.daily_cap == settings.daily_send_limit
        assert first.name == settings.sender_name

    def test_the_warm_up_ramp_caps_each_day(self, cli, settings):
        add(cli, "ann@alpha-mail.com", "--daily-cap", "40", "--warmup-start", "2", "--warmup-step", "3",
            "--warmup-max", "6")  # fmt: skip
        ids = people(settings, 8)
        report = send(settings, "pain_point", ids[:4])
        assert report.count("sent") == 2 and report.count("skipped") == 2
        assert all("daily cap of 2" in o.detail for o in report.outcomes if o.status == "skipped")
        start = clock.utc_now()
        try:
            clock.set_frozen(start + timedelta(days=1))  # day 2: 2 + 3 = 5
            assert send(settings, "pain_point", ids[2:8]).count("sent") == 5
            clock.set_frozen(start + timedelta(days=5))  # the ceiling: 6
            shown = service.cap_today(sender(settings, "ann@alpha-mail.com"), start.date() + timedelta(days=5))
            assert shown == 6
        finally:
            clock.set_frozen(None)

    def test_the_minimum_gap_spaces_sends_made_now(self, cli, settings):
        add(cli, "ann@alpha-mail.com", "--min-gap", "1")
        ids = people(settings, 3)
        assert send(settings, "pain_point", ids).count("sent") == 3
        claimed = sorted(e.send_attempted_at for e in emails(settings))
        assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(claimed))


class TestPaused:
    def test_queued_sends_and_sequence_steps_wait_then_go_after_a_person_resumes(self, cli, settings, monkeypatch):
        configure(monkeypatch, settings, **OPEN_ALL_WEEK)
        a = add(cli, "ann@alpha-mail.com")
        ids = people(settings, 3)
        at = clock.utc_now() + timedelta(minutes=5)
        assert email_flows.send(settings, "pain_point", actor="test", prospect_ids=ids[:2], at=at).count(
            "scheduled") == 2  # fmt: skip
        cli("senders", "pause", a["id"], "--reason", "testing")
        started = cli("sequences", "start", "--template", "pain_point", "--prospect", ids[2], "--steps",
                      "follow_up_1:1d")  # fmt: skip
        assert started.exit_code == 0, started.stderr
        try:
            clock.set_frozen(at + timedelta(seconds=1))
            send_scheduled(settings)  # the worker's job
            from leadline.sequences.flows import run_due

            run_due(settings)
            waiting = emails(settings)
            assert [e.status for e in waiting] == ["scheduled", "scheduled"]  # never failed nor skipped
            assert all(e.scheduled_at > clock.utc_now() for e in waiting)
            with unit_of_work(settings, readonly=True) as session:
                enrollment = session.scalar(select(SequenceEnrollment))
                assert enrollment.status == "active" and enrollment.next_send_at > clock.utc_now()
            assert outbox_messages(settings) == []
            refused = service.resume
            with unit_of_work(settings) as session, pytest.raises(Invalid, match="only a person"):
                refused(session, a["id"], "all good", actor="token:zapier")
            assert cli("senders", "resume", a["id"], "--note", "bounces were a bad list").exit_code == 0
            clock.set_frozen(at + service.RECHECK + timedelta(minutes=1))
            send_scheduled(settings)
            run_due(settings)
        finally:
            clock.set_frozen(None)
        sent = [e for e in emails(settings) if e.status == "sent"]
        assert len(sent) == 3 and {e.sender_id for e in sent} == {a["id"]}
        kinds = [e.kind for e in sender_events(settings, a["id"])]
        assert kinds == ["added", "paused", "resumed"]


class TestHealthAndAutoPause:
    def test_bounces_through_the_signed_webhook_pause_the_sender(self, cli, settings, hook, monkeypatch):
        a = add(cli, "ann@alpha-mail.com", "--daily-cap", "200")
        ids = people(settings, 50)
        assert send(settings, "pain_point", ids[:30]).count("sent") == 30
        sent = emails(settings)
        # 3 of 30 is 10%, but 30 sends are under the minimum sample (40): judged, not paused
        assert hook.post([bounce(e) for e in sent[:3]]).status_code == 200
        assert sender(settings, "ann@alpha-mail.com").status == "active"
        assert send(settings, "pain_point", ids[30:50]).count("sent") == 20
        sent = emails(settings)
        # 3 of 50 = 6%, but the judge runs when a bounce arrives: a blocked one is no hard bounce
        blocked = event(sent[3], "bounce", type="blocked", reason="IP on a block list")
        assert hook.post([blocked]).status_code == 200
        assert sender(settings, "ann@alpha-mail.com").status == "paused"  # 3 hard bounces of 50 sends: 6%
        paused = sender(settings, "ann@alpha-mail.com")
        assert paused.paused_by == "webhook:sendgrid"
        assert "3 hard bounces in 50 sends over the last 7 days (6.00%" in (paused.paused_reason or "")
        with unit_of_work(settings, readonly=True) as session:
            note = session.scalar(select(Notification).where(Notification.kind == "sender_paused"))
            assert note is not None and note.payload["sends"] == 50 and note.payload["bounces"] == 3
            assert note.payload["rate"] == 0.06 and "6.00%" in note.body
        events = sender_events(settings, a["id"])
        assert events[-1].kind == "paused" and events[-1].details["sends"] == 50
        # nothing more goes out from it
        more = make_prospect(settings, name="Late Shop", email="late@lateshop.com").id
        report = send(settings, "pain_point", [more])
        assert report.count("sent") == 0 and "every sender is paused" in (report.outcomes[0].detail or "")
        assert len(outbox_messages(settings)) == 50

    def test_a_warning_comes_before_the_pause(self, cli, settings, hook):
        a = add(cli, "ann@alpha-mail.com", "--daily-cap", "200")
        assert send(settings, "pain_point", people(settings, 40)).count("sent") == 40
        sent = emails(settings)
        assert hook.post([bounce(sent[0])]).status_code == 200  # 1 of 40: 2.5%, a warning
        s = sender(settings, "ann@alpha-mail.com")
        assert s.status == "active"
        with unit_of_work(settings, readonly=True) as session:
            kinds = [n.kind for n in session.scalars(select(Notification).where(Notification.kind.like("sender%")))]
        assert kinds == ["sender_warning"]
        assert [e.kind for e in sender_events(settings, a["id"])] == ["added", "warning"]
        assert hook.post([bounce(sent[1])]).status_code == 200  # 2 of 40: 5%, the pause
        assert sender(settings, "ann@alpha-mail.com").status == "paused"

    def test_spam_reports_pause_from_their_own_minimum_sample(self, cli, settings, hook, monkeypatch):
        configure(monkeypatch, settings, spam_pause_min_sends=10)
        a = add(cli, "ann@alpha-mail.com", "--daily-cap", "100")
        assert send(settings, "pain_point", people(settings, 9)).count("sent") == 9
        sent = emails(settings)
        assert hook.post([event(sent[0], "spamreport")]).status_code == 200  # 9 sends: under the sample
        assert sender(settings, "ann@alpha-mail.com").status == "active"
        assert send(settings, "pain_point", people(settings, 1, start=9)).count("sent") == 1
        assert hook.post([event(emails(settings)[1], "spamreport")]).status_code == 200  # 2 of 10: 20%
        paused = sender(settings, "ann@alpha-mail.com")
        assert paused.status == "paused" and "2 spam reports in 10 sends" in (paused.paused_reason or "")
        assert sender_events(settings, a["id"])[-1].details["spamReports"] == 2

    def test_each_figure_equals_its_list(self, cli, settings, hook, client, page_client):
        add(cli, "ann@alpha-mail.com", "--daily-cap", "100")
        add(cli, "bob@alpha-mail.com", "--daily-cap", "100")
        add(cli, "cy@gamma-mail.com", "--daily-cap", "100")
        assert send(settings, "pain_point", people(settings, 12)).count("sent") == 12
        sent = emails(settings)
        hook.post([bounce(sent[0]), event(sent[1], "spamreport"), event(sent[2], "unsubscribe"),
                   event(sent[4], "unsubscribe")])  # fmt: skip
        found = cli("senders", "health", "--list", "--json").json
        kept = cli("senders", "health", "--json").json  # from the maintained totals, without the lists
        assert isinstance(found, dict) and isinstance(kept, dict)
        for item, counted in zip([*found["senders"], *found["domains"]], [*kept["senders"], *kept["domains"]],
                                 strict=True):  # fmt: skip
            for window, figures in item["windows"].items():
                assert "lists" not in counted["windows"][window]
                for kind in ("sends", "bounces", "blocked", "spamReports", "unsubscribes"):
                    assert figures[kind] == len(figures["lists"][kind]) == counted["windows"][window][kind]
        by_sender = {s["email"]: s["windows"]["7d"] for s in found["senders"]}
        assert [by_sender[e]["sends"] for e in ("ann@alpha-mail.com", "bob@alpha-mail.com", "cy@gamma-mail.com")] == [
            4, 4, 4]  # fmt: skip
        domains = {d["domain"]: d["windows"]["28d"] for d in found["domains"]}
        assert domains["alpha-mail.com"]["sends"] == 8 and domains["gamma-mail.com"]["sends"] == 4
        total = {k: sum(d[k] for d in domains.values()) for k in ("bounces", "spamReports", "unsubscribes")}
        assert total == {"bounces": 1, "spamReports": 1, "unsubscribes": 2}
        assert sent[0].id in domains[sent[0].from_email.rpartition("@")[2]]["lists"]["bounces"]
        text = cli("senders", "health").stdout
        assert "alpha-mail.com" in text and "Hard bounces" in text
        # the dashboard's deliverability panel and the weekly report's section: the same figures, with their lists
        board = client.get("/api/dashboard").json()["deliverability"]
        assert {s["email"]: s["windows"]["7d"]["sends"] for s in board["senders"]} == {
            "ann@alpha-mail.com": 4, "bob@alpha-mail.com": 4, "cy@gamma-mail.com": 4}  # fmt: skip
        for item in [*board["senders"], *board["domains"]]:  # each figure's list behind its link
            for figures in item["windows"].values():
                for kind, link in figures["links"].items():
                    listed = client.get(link)
                    assert listed.status_code == 200, listed.text
                    assert figures[kind] == listed.json()["count"] == len(listed.json()["emailIds"])
        assert sent[0].id in client.get(board["senders"][0]["windows"]["7d"]["links"]["sends"]).json()["emailIds"]
        query = {"window": "7d", "kind": "sends", "until": "2025-01-01T10:00:00+00:00", "sender": "ann@alpha-mail.com"}
        for bad in ({"window": "9d"}, {"kind": "opens"}, {"until": "2025-01-01T10:30:00+00:00"},
                    {"until": "2025-01-01T10:00:00"}, {"domain": "alpha-mail.com"}):  # fmt: skip
            refused = client.get("/api/senders/health/emails", params={**query, **bad})
            assert refused.status_code == 422, (bad, refused.text)
        assert client.get("/api/senders/health/emails", params={**query, "sender": "nobody"}).status_code == 404
        # The same lists as pages, where the dashboard's figures link (they led to the API's JSON)
        for item in [*board["senders"], *board["domains"]]:
            for figures in item["windows"].values():
                for kind, link in figures["links"].items():
                    shown = page_client.get(health.page_link(link))
                    assert shown.status_code == 200, shown.text
                    assert f": {figures[kind]} email" in shown.text
                    rows = shown.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>")
                    assert rows == (figures[kind] or 1)  # (an empty list: one row saying so)
        assert "/senders/health/emails?" in page_client.get("/").text
        for bad in ({"window": "9d"}, {"kind": "opens"}, {"until": "soon"}, {"until": "2025-01-01T10:00:00"}):
            refused = page_client.get("/senders/health/emails", params={**query, **bad})
            assert refused.status_code == 422 and "data-error-line" in refused.text, bad
        assert page_client.get("/senders/health/emails", params={**query, "sender": "nobody"}).status_code == 404
        listed_text = cli("senders", "health", "--list").stdout
        assert f"bounces (1): {sent[0].id}" in listed_text
        report = cli("report", "week").stdout
        assert "DELIVERABILITY (last 7 days):" in report
        assert "alpha-mail.com (domain): 8 sends, hard bounces 1 (12.5%)" in report
        page = client.get("/api/reports/week?format=html")
        assert page.status_code == 200 and "data-deliverability" in page.text


class TestApi:
    def test_admins_manage_senders_and_bad_input_changes_nothing(self, settings, signed_in, client):
        admin = signed_in("admin", "ann@example.com")
        headers = {"X-CSRF-Token": admin.csrf}
        made = admin.post("/api/senders", json={"email": "ann@alpha-mail.com", "name": "Ann", "dailyCap": 25,
                                                "window": "09:00-16:00 mon-fri"}, headers=headers)  # fmt: skip
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["window"]["days"] == ["mon", "tue", "wed", "thu", "fri"] and body["capToday"] == 25
        before = snapshot(settings)
        for bad, name in (({"email": "nope", "name": "x"}, "email"), ({"email": "b@b-mail.com", "name": "x",
                          "dailyCap": 99999}, "dailyCap"), ({"email": "b@b-mail.com", "name": "x",
                          "minGapSeconds": -1}, "minGapSeconds")):  # fmt: skip
            refused = admin.post("/api/senders", json=bad, headers=headers)
            assert refused.status_code == 422 and refused.json()["field"] == name, refused.text
        # a script (token) may read and pause, never add or resume
        assert client.post("/api/senders", json={"email": "c@c-mail.com", "name": "C"}).status_code == 403
        assert snapshot(settings) == before
        assert [s["email"] for s in client.get("/api/senders").json()] == ["ann@alpha-mail.com"]
        paused = client.post(f"/api/senders/{body['id']}/pause", json={"reason": "from a script"})
        assert paused.status_code == 200 and paused.json()["pausedBy"].startswith("token:")
        assert client.post(f"/api/senders/{body['id']}/resume", json={"note": "ok"}).status_code == 403
        resumed = admin.post(f"/api/senders/{body['id']}/resume", json={"note": "checked"}, headers=headers)
        assert resumed.status_code == 200 and resumed.json()["status"] == "active"
        health = client.get("/api/senders/health").json()
        assert health["senders"][0]["windows"]["24h"]["sends"] == 0
        assert admin.delete(f"/api/senders/{body['id']}", headers=headers).status_code == 204


class TestSettingsPage:
    def test_admins_add_pause_and_resume_senders_on_the_settings_page(self, settings, signed_in):
        admin = signed_in("admin", "ann@example.com")
        added = admin.post("/settings/senders", data={"csrf_token": admin.csrf, "email": "Sam@Sam-Mail.com",
                                                      "name": "Sam", "dailyCap": "30", "window": "09:00-17:00"})  # fmt: skip
        assert added.status_code == 200 and 'data-sender="sam@sam-mail.com"' in added.text, added.text[-2000:]
        before = snapshot(settings)
        for bad, problem in (({"email": "nope"}, "not a valid email address"), ({"email": "t@t-mail.com",
                             "dailyCap": "20000"}, "at most 10000"), ({"email": "t@t-mail.com",
                             "window": "17:00-09:00"}, "must end after it starts")):  # fmt: skip
            refused = admin.post("/settings/senders", data={"csrf_token": admin.csrf, **bad})
            assert refused.status_code == 422 and problem in refused.text
        assert snapshot(settings) == before
        s = sender(settings, "sam@sam-mail.com")
        paused = admin.post("/settings/senders/pause", data={"csrf_token": admin.csrf, "sender": s.id})
        assert paused.status_code in (200, 303)
        assert sender(settings, "sam@sam-mail.com").status == "paused"
        page = admin.get("/settings")
        assert "paused" in page.text and 'action="/settings/senders/resume"' in page.text
        admin.post("/settings/senders/resume", data={"csrf_token": admin.csrf, "sender": s.id, "note": "checked"})
        assert sender(settings, "sam@sam-mail.com").status == "active"
        viewer = signed_in("member", "bob@example.com")
        assert 'id="senders"' not in viewer.get("/settings").text
