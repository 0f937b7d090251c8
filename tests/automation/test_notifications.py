"""Notifications to Slack (a local server speaking its webhook protocol), reminders, scheduled sends."""

from __future__ import annotations

import threading
from datetime import timedelta

from leadline import clock, worker
from leadline.db import unit_of_work
from leadline.notify import flows, service
from tests.conftest import Cli, changed
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot
from tests.webhooks.conftest import email, send_to
from tests.webhooks.test_inbound import default_mode, post


def notifications(cli, **filters) -> list[dict]:
    args = [f"--{k}={v}" for k, v in filters.items()]
    return cli("notifications", "list", "--json", *args).json


def test_a_reply_reaches_slack_once_with_block_kit(cli, slack, hook, immediate):
    (target,) = send_to(hook.settings, 1, name="Royal Plumbing Co", contact_name="Daniel Reyes")
    body = default_mode(target, "Interested! Can we talk this week?\n\nOn Mon wrote:\n> hi", message_id="<r@x>")
    post(hook, body)
    post(hook, body)  # SendGrid retries: the same reply again
    assert len(slack.posts) == 1
    message = slack.posts[0]
    assert message["text"] == "Royal Plumbing Co replied: interested"  # with the reply's label (issue 19)
    header = {"type": "header", "text": {"type": "plain_text", "text": "Royal Plumbing Co replied: interested"}}
    assert message["blocks"][0] == header
    assert "Interested! Can we talk this week?" in message["blocks"][1]["text"]["text"]
    assert f"/prospects/{target.prospect_id}|Open in Leadline>" in message["blocks"][2]["elements"][0]["text"]
    (row,) = notifications(cli, status="sent")
    assert row["kind"] == "reply_received" and row["channels"] == ["slack"]


def test_every_text_slack_gets_is_escaped(cli, slack, hook, immediate):
    """Slack's control characters (&, <, >) are escaped in the fallback text and every mrkdwn block
    (the plain_text header is shown as given: Slack parses nothing in it),
    so a prospect named ``<!channel> ...`` pings nobody (api.slack.com/reference/surfaces/formatting#escaping)."""
    (target,) = send_to(hook.settings, 1, name="<!channel> Pipes & <Drains>", contact_name="Daniel Reyes")
    post(hook, default_mode(target, "Call <!here> & me", message_id="<r@x>"))
    (message,) = slack.posts
    title = "&lt;!channel&gt; Pipes &amp; &lt;Drains&gt; replied"
    assert message["text"] == title
    header = message["blocks"][0]["text"]
    assert header == {"type": "plain_text", "text": "<!channel> Pipes & <Drains> replied"}  # never parsed
    assert "Call &lt;!here&gt; &amp; me" in message["blocks"][1]["text"]["text"]
    texts = [message["text"], message["blocks"][1]["text"]["text"], message["blocks"][2]["elements"][0]["text"]]
    assert not any("<!" in text for text in texts)


def test_calls_deals_and_bounces_notify(cli, slack, hook, immediate):
    from tests.webhooks.conftest import event

    p = make_prospect(hook.settings, name="Summit HVAC")
    clock.set_frozen(clock.utc_now())
    cli(
        "calls",
        "schedule",
        "--prospect",
        p.id,
        "--at",
        (clock.utc_now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
    )
    cli("calls", "log", "--prospect", p.id, "--outcome", "interested", "--objections", "cost", "--duration", "20m")
    cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "1500")
    (target,) = send_to(hook.settings, 1)
    hook.post([event(target, "bounce", type="bounce", reason="550 no such user")])
    titles = slack.titles()
    assert any(t.startswith("Call booked: ") for t in titles)
    assert any(t.startswith("Call logged: ") and "(interested, 20 min)" in t for t in titles)
    assert "Deal won: Summit HVAC" in titles
    assert f"Bounced: {target.to_email}" in titles
    clock.set_frozen(None)


def test_slack_errors_are_retried_later_and_never_doubled(cli, slack, settings):
    slack.script.extend([(500, "internal_error", {}), (500, "internal_error", {}), (500, "internal_error", {})])
    with unit_of_work(settings) as session:
        service.raise_event(session, "test", "t1", "Hello")
        notification_id = service.search(session, limit=1)[0].id
    result = flows.deliver(settings, notification_id, quick_retries=2)
    assert result is not None and result.status == "pending" and slack.posts == []
    assert flows.deliver(settings, notification_id) is None  # not due yet
    clock.set_frozen(clock.utc_now() + timedelta(minutes=2))
    assert flows.sweep(settings) == 1
    assert len(slack.posts) == 1 and notifications(cli)[0]["status"] == "sent"
    assert flows.sweep(settings) == 0 and len(slack.posts) == 1
    clock.set_frozen(None)


def test_permanent_errors_and_unknown_outcomes_are_not_retried(cli, slack, settings):
    slack.script.extend([(404, "no_service", {}), "hang"])
    with unit_of_work(settings) as session:
        service.raise_event(session, "test", "a", "First")
        service.raise_event(session, "test", "b", "Second")
    for row in reversed(notifications(cli)):
        flows.deliver(settings, row["id"])
    rows = {r["title"]: r for r in notifications(cli)}
    assert rows["First"]["status"] == "failed" and "no_service" in rows["First"]["error"]
    assert rows["Second"]["status"] == "failed" and "no answer from Slack" in rows["Second"]["error"]
    assert slack.posts == []


def test_two_workers_never_post_the_same_notification_twice(slack, settings):
    with unit_of_work(settings) as session:
        for n in range(10):
            service.raise_event(session, "test", f"k{n}", f"Message {n}")
    threads = [threading.Thread(target=flows.sweep, args=(settings,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slack.titles()) == sorted(f"Message {n}" for n in range(10))


def test_without_a_channel_notifications_are_recorded(cli, settings, immediate):
    p = make_prospect(settings)
    cli("deals", "lost", "--prospect", p.id, "--reason", "went with a cousin")
    (row,) = notifications(cli)
    assert (row["kind"], row["status"], row["channels"]) == ("deal_lost", "recorded", [])
    result = cli("notify", "test")
    assert result.exit_code == 0 and "No channel is configured" in result.stdout


def test_notify_test(cli, slack):
    result = cli("notify", "test")
    assert result.exit_code == 0 and "sent to slack" in result.stdout
    assert slack.titles() == ["Leadline test notification"]
    slack.script.append((403, "invalid_token", {}))
    failed = cli("notify", "test")
    assert failed.exit_code == 1 and "invalid_token" in failed.stderr


def test_notifications_by_email_too(settings, immediate):
    cli = Cli(changed(settings, notify_email="owner@gridline.example"))
    p = make_prospect(settings, name="Apex Roofing")
    cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "900")
    (message,) = outbox_messages(settings)
    assert message["To"] == "owner@gridline.example" and message["Subject"] == "[Leadline] Deal won: Apex Roofing"


def test_reminders_before_calls_and_for_tasks(cli, slack, settings, immediate):
    p = make_prospect(settings, name="Bright Spark", contact_name="Ann Lee", phone="(512) 555-0100")
    start = clock.utc_now().replace(second=0, microsecond=0)
    clock.set_frozen(start)
    at = start + timedelta(hours=2)
    cli("calls", "schedule", "--prospect", p.id, "--at", at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"))
    cli("tasks", "add", "--prospect", p.id, "--title", "Send the ROI sheet", "--due",
        (start + timedelta(minutes=30)).astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"))  # fmt: skip
    slack.posts.clear()
    worker.run(settings, "reminders.run")
    assert slack.posts == []  # nothing due yet
    clock.set_frozen(start + timedelta(minutes=31))
    worker.run(settings, "reminders.run")
    assert slack.titles() == ["Task due: Send the ROI sheet"]
    clock.set_frozen(at - timedelta(minutes=14))
    worker.run(settings, "reminders.run")
    worker.run(settings, "reminders.run")
    assert (
        slack.titles()[-1]
        == "Call with Bright Spark in 14 min (" + at.astimezone(settings.zone).strftime("%H:%M") + ")"
    )
    assert len(slack.posts) == 2
    clock.set_frozen(None)


def test_scheduled_sends_wait_for_their_time(cli, settings, immediate):
    p = make_prospect(settings)
    clock.set_frozen(clock.utc_now().replace(second=0, microsecond=0))
    later = (clock.utc_now() + timedelta(hours=3)).astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    result = cli("emails", "send", "--template", "pain_point", "-p", p.id, "--at", later)
    assert result.exit_code == 0 and "1 scheduled" in result.stdout
    (row,) = cli("emails", "list", "--json").json
    assert row["status"] == "scheduled" and outbox_messages(settings) == []
    worker.run(settings, "emails.send_scheduled")
    assert outbox_messages(settings) == []
    clock.set_frozen(clock.utc_now() + timedelta(hours=3, minutes=1))
    worker.run(settings, "emails.send_scheduled")
    worker.run(settings, "emails.send_scheduled")
    assert len(outbox_messages(settings)) == 1
    assert cli("emails", "show", row["id"], "--json").json["status"] == "sent"
    clock.set_frozen(None)


def test_scheduled_sends_can_be_cancelled_and_must_be_in_the_future(cli, settings, immediate):
    p = make_prospect(settings)
    later = (clock.utc_now() + timedelta(days=1)).astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    cli("emails", "send", "--template", "pain_point", "-p", p.id, "--at", later)
    email_id = cli("emails", "list", "--json").json[0]["id"]
    assert cli("emails", "cancel", email_id).exit_code == 0
    assert cli("emails", "cancel", email_id).exit_code == 1
    before = snapshot(settings)
    past = cli("emails", "send", "--template", "solution", "-p", p.id, "--at", "2020-01-01 08:00")
    assert past.exit_code == 1 and "not in the future" in past.stderr
    assert snapshot(settings) == before
    assert email(settings, email_id).status == "cancelled"
