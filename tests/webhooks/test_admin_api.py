"""The webhook and inbox commands of the CLI, over the API: stats, replay, URLs, the unmatched
inbox and assigning a reply, the calendar URL, a test notification."""

from __future__ import annotations

from tests.conftest import make_token, make_user, sign_in
from tests.factories import snapshot
from tests.webhooks.conftest import email, send_to
from tests.webhooks.test_inbound import form, post


def bearer(settings, scope="write"):
    return {"Authorization": f"Bearer {make_token(settings, scope=scope)}"}


def test_an_unmatched_reply_is_listed_and_assigned_over_the_api(hook):
    headers = bearer(hook.settings)
    body = form({"headers": "Message-ID: <api-r1@x>\n", "text": "<script>alert(1)</script> call me",
                 "from": "stranger@nowhere.com", "to": "sales@example.com"})  # fmt: skip
    assert post(hook, body).json()["status"] == "unmatched"
    listed = hook.client.get("/api/inbound", params={"status": "unmatched"}, headers=headers).json()
    assert [(r["fromAddress"], r["replyText"]) for r in listed] == [
        ("stranger@nowhere.com", "<script>alert(1)</script> call me")
    ]
    (target,) = send_to(hook.settings, 1)
    before = snapshot(hook.settings)
    missing = hook.client.post(f"/api/inbound/{listed[0]['id']}/assign", json={"emailId": "email_nope"},
                               headers=headers)  # fmt: skip
    assert missing.status_code == 404 and snapshot(hook.settings) == before
    assigned = hook.client.post(f"/api/inbound/{listed[0]['id']}/assign", json={"emailId": target.id},
                                headers=headers)  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "matched" and email(hook.settings, target.id).status == "replied"
    stats = hook.client.get("/api/webhooks/stats", headers=headers).json()
    assert stats["replies"] == {"matched": 1}


def test_the_cli_and_the_api_list_replies_in_one_json_shape(hook, cli):
    # Issue 15: `inbound list --json` said from/text/emailId where /api/inbound says fromAddress/replyText/
    # emailActivityId; both now print the API's schema.
    headers = bearer(hook.settings)
    (target,) = send_to(hook.settings, 1)
    post(hook, form({"headers": "Message-ID: <shape-1@x>\n", "text": "call me Friday", "from": "someone@else.com",
                     "to": "sales@example.com"}))  # fmt: skip
    post(hook, form({"headers": f"Message-ID: <shape-2@x>\nIn-Reply-To: <{target.message_id}>\n",
                     "text": "interested", "from": target.to_email, "to": "sales@example.com"}))  # fmt: skip
    api = hook.client.get("/api/inbound", headers=headers).json()
    listed = cli("inbound", "list", "--json").json
    assert len(api) == 2 and {r["status"] for r in api} == {"matched", "unmatched"}
    assert [set(r) for r in listed] == [set(r) for r in api] and set(api[0]) >= {"fromAddress", "replyText"}
    assert listed == api


def test_replay_is_for_admins_and_stats_for_everyone(hook):
    headers = bearer(hook.settings)
    assert hook.client.post("/api/webhooks/replay", json={"failed": True}, headers=headers).status_code == 403
    csrf = sign_in(hook.client, make_user(hook.settings))
    result = hook.client.post("/api/webhooks/replay", json={"failed": True}, headers={"X-CSRF-Token": csrf})
    assert result.status_code == 200 and result.json() == {"applied": 0, "unmatched": 0, "failed": 0,
                                                           "matchedReplies": 0}  # fmt: skip
    read_only = bearer(hook.settings, "read")
    assert hook.client.get("/api/webhooks/stats", headers=read_only).json()["received"] == 0


def test_the_sendgrid_urls_are_for_signed_in_admins_only(hook, cli):
    refused = hook.client.get("/api/webhooks/urls", headers=bearer(hook.settings))
    assert refused.status_code == 403
    printed = cli("webhooks", "urls").stdout
    sign_in(hook.client, make_user(hook.settings))
    urls = hook.client.get("/api/webhooks/urls").json()
    assert urls["eventWebhook"].endswith("/webhooks/sendgrid") and urls["inboundParse"] in printed


def test_calendar_url_for_admins_and_a_test_notification(hook):
    headers = bearer(hook.settings)
    assert hook.client.get("/api/calendar", headers=headers).status_code == 403  # a secret URL: admins only
    sign_in(hook.client, make_user(hook.settings))
    url = hook.client.get("/api/calendar").json()["url"]
    feed = hook.client.get(url.removeprefix(hook.settings.base_url))
    assert feed.status_code == 200 and feed.text.startswith("BEGIN:VCALENDAR")
    sent = hook.client.post("/api/notify/test", headers=headers)
    assert sent.status_code == 200 and sent.json()["status"] == "recorded"
    listed = hook.client.get("/api/notifications", headers=headers).json()
    assert [(n["title"], n["status"]) for n in listed] == [("Leadline test notification", "recorded")]
