"""The emails API: the same options and errors as the CLI."""

from __future__ import annotations

from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot


def test_send_dry_run_then_real(client, settings):
    ids = [make_prospect(settings, email=f"p{i}@x.com", tier=1).id for i in range(3)]
    dry = client.post("/api/emails/send", json={"template": "pain_point", "status": "new", "limit": 2, "dryRun": True})
    assert dry.status_code == 200
    assert (dry.json()["planned"], dry.json()["sent"]) == (2, 0) and outbox_messages(settings) == []
    done = client.post("/api/emails/send", json={"template": "pain_point", "prospectIds": ids})
    body = done.json()
    assert body["sent"] == 3 and {r["status"] for r in body["results"]} == {"sent"}
    listed = client.get("/api/emails", params={"status": "sent"}).json()["items"]
    assert len(listed) == 3
    one = client.get(f"/api/emails/{listed[0]['id']}").json()
    assert one["bodyText"].startswith("Hi Pat,") and one["template"] == "pain_point"


def test_send_refuses_bad_input_and_changes_nothing(settings, client):
    make_prospect(settings)
    before = snapshot(settings)
    cases = [
        ({"template": "pain_point"}, "prospectIds"),  # the one selection rule names the field (issue 14)
        ({"template": "pain_point", "status": "new"}, "limit"),
        ({"template": "pain_point", "status": "won", "limit": 1}, "status"),
        ({"template": "pain_point", "prospectIds": ["nobody"]}, "prospectId"),
        ({"template": "nope", "status": "new", "limit": 1}, "template"),
        ({"template": "pain_point", "status": "new", "limit": 0}, "limit"),
        ({"template": "pain_point", "status": "new", "limit": 1, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = client.post("/api/emails/send", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
    assert snapshot(settings) == before


def test_reply_and_lists(settings, client):
    p = make_prospect(settings)
    client.post("/api/emails/send", json={"template": "pain_point", "prospectIds": [p.id]})
    email_id = client.get("/api/emails").json()["items"][0]["id"]
    replied = client.post(f"/api/emails/{email_id}/reply", json={"text": "Call me Friday"})
    assert replied.status_code == 200 and replied.json()["status"] == "replied"
    assert client.get(f"/api/prospects/{p.id}").json()["salesStatus"] == "replied"
    bad = client.post(f"/api/emails/{email_id}/reply", json={"text": ""})
    assert bad.status_code == 422 and bad.json()["field"] == "text"
    assert client.get("/api/emails/email_nope").status_code == 404


def test_templates_and_suppressions(settings, client):
    p = make_prospect(settings)
    assert {"pain_point", "proposal"} <= {t["name"] for t in client.get("/api/templates").json()}
    preview = client.get("/api/templates/pain_point/preview", params={"prospectId": p.id})
    assert preview.status_code == 200 and preview.json()["subject"].startswith(p.name)
    created = client.post("/api/suppressions", json={"email": "Gone@X.com", "note": "asked"})
    assert created.status_code == 201 and created.json()["email"] == "gone@x.com"
    assert client.post("/api/suppressions", json={"email": "nope"}).status_code == 422
    assert client.delete("/api/suppressions/gone@x.com").status_code == 204
    assert client.delete("/api/suppressions/gone@x.com").status_code == 404
