"""Sequence rules under a frozen clock: delays, threading, stops, the window and the cap."""

from __future__ import annotations

from datetime import timedelta

from leadline import clock, worker
from leadline.webhooks.security import inbound_token
from tests.conftest import Cli, changed
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot
from tests.webhooks.conftest import email, event
from tests.webhooks.test_inbound import default_mode


def tick(settings) -> None:
    worker.run(settings, "sequences.run_due")


def three(settings, **overrides):
    return [make_prospect(settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com", tier=1, **overrides) for n in range(3)]


def enrollments(cli) -> dict[str, dict]:
    return {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}


def test_first_email_now_then_the_follow_ups_after_their_delays(cli, settings, immediate, monday):
    three(settings)
    result = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "10",
                 "--steps", "follow_up_1:3d,follow_up_2:4d")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "for 3 prospects.\n3 emails sent now; 0 waiting" in result.stdout
    assert len(outbox_messages(settings)) == 3
    clock.set_frozen(monday + timedelta(days=2, hours=23))
    tick(settings)
    assert len(outbox_messages(settings)) == 3  # not yet: three days after the first email
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    tick(settings)
    messages = outbox_messages(settings)
    assert len(messages) == 6
    firsts = {m["To"]: m for m in messages if not m["Subject"].startswith("Re:")}
    for follow in (m for m in messages if m["Subject"].startswith("Re:")):
        first = firsts[follow["To"]]
        assert follow["In-Reply-To"] == first["Message-ID"]  # the same thread
        assert follow["Subject"] == "Re: " + first["Subject"]
    rows = enrollments(cli)
    assert {r["step"] for r in rows.values()} == {2}
    clock.set_frozen(monday + timedelta(days=7, minutes=2))
    tick(settings)
    assert len(outbox_messages(settings)) == 9
    assert {r["status"] for r in enrollments(cli).values()} == {"completed"}
    tick(settings)
    assert len(outbox_messages(settings)) == 9  # nothing is sent twice


def test_a_reply_through_inbound_parse_stops_it(cli, settings, immediate, monday, hook):
    people = three(settings)
    cli("sequences", "start", "--template", "pain_point", "-p", people[0].id, "-p", people[1].id,
        "--steps", "follow_up_1:3d")  # fmt: skip
    first = cli("emails", "list", "--prospect", people[0].id, "--json").json[0]
    body, content_type = default_mode(email(settings, first["id"]), "Yes, call me.")
    response = hook.client.post(
        "/webhooks/sendgrid/inbound/" + inbound_token(hook.settings),
        content=body,
        headers={"content-type": content_type},
    )
    assert response.json()["status"] == "matched"
    rows = enrollments(cli)
    assert (rows[people[0].id]["status"], rows[people[0].id]["stopReason"]) == ("stopped", "replied")
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    tick(settings)
    to = [m["To"] for m in outbox_messages(settings) if m["Subject"].startswith("Re:")]
    assert to == [f"Pat Doe <{people[1].email}>"]


def test_a_bounce_stops_it(cli, settings, immediate, monday, hook):
    (person,) = three(settings)[:1]
    cli("sequences", "start", "--template", "pain_point", "-p", person.id, "--steps", "follow_up_1:3d")
    first = email(settings, cli("emails", "list", "--json").json[0]["id"])
    hook.post([event(first, "bounce", type="blocked", reason="554 blocked")])
    assert enrollments(cli)[person.id]["stopReason"] == "bounced"


def test_a_booked_call_stops_it(settings, cli, immediate, monday):
    person = make_prospect(settings)
    cli("sequences", "start", "--template", "pain_point", "-p", person.id)
    cli("calls", "schedule", "--prospect", person.id, "--at", "2025-11-19 15:00")
    assert enrollments(cli)[person.id]["stopReason"] == "call booked"


def test_a_logged_call_stops_it_at_once(settings, cli, immediate, monday):
    """A call logged without a booking used to leave the sequence active (its next step due) until
    the worker came by and stopped it as "call booked"; docs/automation.md says logged too."""
    person = make_prospect(settings)
    cli("sequences", "start", "--template", "pain_point", "-p", person.id, "--steps", "follow_up_1:3d")
    logged = cli("calls", "log", "--prospect", person.id, "--outcome", "follow_up", "--follow-up", "2025-11-21 10:00")
    assert logged.exit_code == 0, logged.stderr
    assert (enrollments(cli)[person.id]["status"], enrollments(cli)[person.id]["stopReason"]) == (
        "stopped", "call logged",
    )  # fmt: skip


def test_the_sending_window_is_the_prospects(cli, settings, immediate):
    # Saturday 10:00 in Chicago: nothing goes out until Monday 08:00 in the prospect's own zone.
    clock.set_frozen(clock.utc_now().replace(year=2025, month=11, day=22, hour=16, minute=0, second=0, microsecond=0))
    person = make_prospect(settings, timezone="America/Los_Angeles")
    result = cli("sequences", "start", "--template", "pain_point", "-p", person.id)
    assert "for 1 prospect.\n0 emails sent now; 1 waiting for their time, sending window" in result.stdout
    row = enrollments(cli)[person.id]
    assert row["nextSendAt"] == "2025-11-24T16:00:00Z"  # Monday 08:00 in Los Angeles
    assert outbox_messages(settings) == []
    clock.set_frozen(clock.utc_now().replace(day=24, hour=16, minute=1))
    tick(settings)
    assert len(outbox_messages(settings)) == 1
    clock.set_frozen(None)


def test_a_window_open_until_midnight_sends_in_its_last_minute(settings, immediate):
    """``24:00`` ends a window at midnight: 23:59:30 is inside it, 00:00:30 the next day is not."""
    settings = changed(settings, send_window_start="18:00", send_window_end="24:00",
                       send_window_days="mon,tue,wed,thu,fri,sat,sun")  # fmt: skip
    cli = Cli(settings)
    late, early = make_prospect(settings), make_prospect(settings)
    # Saturday 2025-11-22 23:59:30 in Chicago (05:59:30 UTC on Sunday).
    clock.set_frozen(clock.utc_now().replace(year=2025, month=11, day=23, hour=5, minute=59, second=30, microsecond=0))
    assert "1 email sent now" in cli("sequences", "start", "--template", "pain_point", "-p", late.id).stdout
    clock.set_frozen(clock.utc_now().replace(hour=6, minute=0, second=30))  # Sunday 00:00:30 in Chicago
    cli("sequences", "start", "--template", "pain_point", "-p", early.id)
    assert enrollments(cli)[early.id]["nextSendAt"] == "2025-11-24T00:00:00Z"  # Sunday 18:00 in Chicago
    assert len(outbox_messages(settings)) == 1
    clock.set_frozen(None)


def test_the_cap_holds_and_the_rest_wait_for_tomorrow(settings, immediate, monday):
    settings = changed(settings, daily_send_limit=2)
    cli = Cli(settings)
    three(settings)
    cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "3")
    assert len(outbox_messages(settings)) == 2
    waiting = [r for r in enrollments(cli).values() if r["step"] == 0]
    assert len(waiting) == 1 and waiting[0]["nextSendAt"] == "2025-11-18T14:00:00Z"  # Tuesday 08:00 Chicago
    clock.set_frozen(monday + timedelta(days=1, hours=-1, minutes=1))
    tick(settings)
    assert len(outbox_messages(settings)) == 3


def test_stop_by_hand_and_status(settings, cli, immediate, monday):
    people = three(settings)
    cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "3")
    assert cli("sequences", "stop", "--prospect", people[0].id, "--reason", "asked to pause").exit_code == 0
    status = cli("sequences", "status").stdout
    assert people[1].id in status and "2/3 follow_up_1" in status and people[0].id not in status
    assert cli("sequences", "stop", "--all").stdout.strip() == "Stopped 2 sequences."
    assert cli("sequences", "stop", "--prospect", people[0].id).exit_code == 1
    rows = enrollments(cli)
    assert rows[people[0].id]["stopReason"] == "stopped by hand: asked to pause"


def test_missing_fields_in_a_later_step_start_nothing(tmp_path, monday, settings):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "nudge.txt").write_text("Subject: Re: {{ name }}\n\nYour competitor {{ topCompetitor }} ...\n")
    cli = Cli(changed(settings, templates_dir=folder))
    person = make_prospect(settings, top_competitor=None, competitor_health=None)
    before = snapshot(settings)
    result = cli("sequences", "start", "--template", "solution", "-p", person.id, "--steps", "nudge:2d")
    assert result.exit_code == 1 and "needs topCompetitor" in result.stderr and "nothing was started" in result.stderr
    assert snapshot(settings) == before and outbox_messages(settings) == []
    bad = cli("sequences", "start", "--template", "solution", "-p", person.id, "--steps", "nudge:soon")
    assert bad.exit_code == 1 and "TEMPLATE:DELAY" in bad.stderr


def test_api(client, immediate, monday, settings):
    people = three(settings)
    response = client.post("/api/sequences", json={"template": "pain_point", "prospectIds": [people[0].id],
                                                    "steps": "follow_up_1:3d"})  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["steps"] == ["pain_point", "follow_up_1"]
    assert len(outbox_messages(settings)) == 1  # the worker's job ran (immediate mode)
    rows = client.get("/api/sequences/status").json()
    assert rows[0]["prospectId"] == people[0].id and rows[0]["step"] == 1
    assert client.post("/api/sequences", json={"template": "pain_point"}).status_code == 422
    assert client.post("/api/sequences/stop", json={"all": True}).json() == {"stopped": 1}


def test_the_demo_tier_one_prospects_get_follow_ups_until_they_reply(cli, settings, slack, immediate, hook):
    """The issue's scenario on the demo's data: the tier-1 prospects who got pain_point last week
    and did not answer get follow_up_1 in that thread once the clock passes the delay, then
    follow_up_2; whoever replies meanwhile is stopped, and Slack hears about it once. Since issue 15
    the demo starts that sequence itself, on this week's Monday (`leadline sequences start
    --template pain_point --tier 1 --limit 25`), and one of them replies and signs."""
    from datetime import UTC, datetime

    clock.set_frozen(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))  # a Friday, before the working day
    try:
        assert cli("demo").exit_code == 0
        rows = enrollments(cli)
        # Two replied in Week 1 and one bounced: the other 22 are enrolled, from follow_up_1 on.
        assert len(rows) == 22
        assert {"royal_plumbing_co", "columbus_plumbing_drain", "evergreen_plumbing_co"}.isdisjoint(rows)
        # Monday 10:00 in Chicago is 08:00 on the west coast: every follow_up_1 went out then.
        firsts = {e["id"]: e for e in cli("emails", "list", "--template", "pain_point", "--limit", "50", "--json").json}
        follow_ups = cli("emails", "list", "--template", "follow_up_1", "--limit", "50", "--json").json
        assert len(follow_ups) == 22 and {e["subject"][:4] for e in follow_ups} == {"Re: "}
        assert all(e["inReplyTo"] == firsts[e["threadRootId"]]["messageId"] for e in follow_ups)
        signed = [pid for pid, row in rows.items() if row["status"] == "stopped"]
        assert len(signed) == 1 and rows[signed[0]]["stopReason"] == "replied"  # the demo's won deal
        replier = next(e for e in follow_ups if e["prospectId"] == "hughes_plumbing")
        slack.posts.clear()
        body, content_type = default_mode(email(settings, replier["id"]), "Thursday works, call me.")
        answer = hook.client.post(f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}", content=body,
                                  headers={"content-type": content_type})  # fmt: skip
        assert answer.json()["status"] == "matched"
        assert slack.titles() == ["Hughes Plumbing replied: asks to talk"]  # with the reply's label (issue 19)
        clock.set_frozen(datetime(2026, 12, 1, 16, 30, tzinfo=UTC))  # four days after follow_up_1
        tick(settings)
        seconds = cli("emails", "list", "--template", "follow_up_2", "--limit", "50", "--json").json
        assert len(seconds) == 20 and {"hughes_plumbing", *signed}.isdisjoint(e["prospectId"] for e in seconds)
        rows = enrollments(cli)
        assert (rows["hughes_plumbing"]["status"], rows["hughes_plumbing"]["stopReason"]) == ("stopped", "replied")
        assert sum(r["status"] == "completed" for r in rows.values()) == 20
        assert slack.titles() == ["Hughes Plumbing replied: asks to talk"]  # with the reply's label (issue 19)
    finally:
        clock.set_frozen(None)


def test_each_follow_up_references_the_whole_thread(cli, settings, immediate, monday):
    """RFC 5322 §3.6.4: References is the parent's References plus the parent's Message-ID, and
    In-Reply-To is the parent (the latest email of the thread), not the first one."""
    make_prospect(settings, name="Shop", email="o@shop.com", tier=1)
    result = cli("sequences", "start", "--template", "pain_point", "--status", "new", "--limit", "1",
                 "--steps", "follow_up_1:3d,follow_up_2:4d")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    tick(settings)
    clock.set_frozen(monday + timedelta(days=7, minutes=2))
    tick(settings)
    messages = outbox_messages(settings)
    assert len(messages) == 3, [m["Subject"] for m in messages]
    first, second, third = sorted(messages, key=lambda m: m["Date"].datetime)
    ids = [m["Message-ID"] for m in (first, second, third)]
    assert len(set(ids)) == 3
    assert first["References"] is None and first["In-Reply-To"] is None
    assert second["In-Reply-To"] == ids[0] and second["References"].split() == [ids[0]]
    assert third["In-Reply-To"] == ids[1]
    assert third["References"].split() == [ids[0], ids[1]]
