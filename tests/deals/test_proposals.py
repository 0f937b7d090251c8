"""`leadline proposals send` and POST /api/proposals: the proposal email, the value, the stage."""

from __future__ import annotations

from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot


def test_a_proposal_is_emailed_and_moves_the_deal(cli, settings):
    p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes")
    cli("prospects", "stage", p.id, "interested", "--reason", "good call")
    result = cli("proposals", "send", "--prospect", p.id, "--value", "2400")
    assert result.exit_code == 0, result.stderr
    assert "$2,400/month" in result.stdout and "is now proposal" in result.stdout
    (message,) = outbox_messages(settings)
    assert message["Subject"] == "Proposal for Royal Plumbing Co: $2,400/month"
    assert "Investment: $2,400 per month" in message.get_body(("plain",)).get_content()
    data = cli("prospects", "show", p.id, "--json").json
    assert (data["salesStatus"], data["dealValue"]) == ("proposal", 2400.0)
    assert [e["type"] for e in data["timeline"]][-3:] == ["email", "proposal", "stage_change"]
    emails = cli("emails", "list", "--json").json
    assert emails[0]["emailType"] == "proposal"


def test_a_second_proposal_needs_force_and_never_moves_backwards(cli, settings):
    p = make_prospect(settings)
    cli("proposals", "send", "--prospect", p.id, "--value", "1800")
    again = cli("proposals", "send", "--prospect", p.id, "--value", "2000")
    assert again.exit_code == 1 and "already got proposal" in again.stderr
    forced = cli("proposals", "send", "--prospect", p.id, "--value", "2000", "--force")
    assert forced.exit_code == 0
    assert cli("prospects", "show", p.id, "--json").json["dealValue"] == 2000.0


def test_bad_input_changes_nothing(cli, client, settings):
    p = make_prospect(settings, do_not_contact=True, do_not_contact_reason="asked us to stop")
    closed = make_prospect(settings, email="closed@x.com")
    cli("deals", "lost", "--prospect", closed.id, "--reason", "no budget")
    before = snapshot(settings)
    assert "must be more than 0" in cli("proposals", "send", "--prospect", p.id, "--value", "0").stderr
    for value, said in [("inf", "must be a finite number"), ("1e309", "must be a finite number"),
                        ("nan", "must be a finite number"), ("1e308", "must be at most 10,000,000")]:  # fmt: skip
        for dry in ([], ["--dry-run"]):  # a proposal for $inf/month was emailed before
            wrong = cli("proposals", "send", "--prospect", p.id, "--value", value, *dry)
            assert wrong.exit_code == 1 and wrong.stderr.strip() == f"error: value: {said}", wrong.stderr
    refused = cli("proposals", "send", "--prospect", p.id, "--value", "2400")
    assert refused.exit_code == 1 and "do-not-contact" in refused.stderr
    lost = cli("proposals", "send", "--prospect", closed.id, "--value", "2400")
    assert lost.exit_code == 1 and "closed_lost" in lost.stderr
    assert cli("proposals", "send", "--prospect", "nobody", "--value", "2400").exit_code == 1
    assert client.post("/api/proposals", json={"prospectId": p.id, "value": -5}).json()["field"] == "value"
    assert snapshot(settings) == before and outbox_messages(settings) == []


def test_api(client, settings):
    p = make_prospect(settings)
    dry = client.post("/api/proposals", json={"prospectId": p.id, "value": 3000, "dryRun": True})
    assert dry.status_code == 200 and dry.json()["status"] == "planned" and outbox_messages(settings) == []
    sent = client.post("/api/proposals", json={"prospectId": p.id, "value": 3000})
    assert sent.status_code == 200, sent.text
    assert sent.json()["salesStatus"] == "proposal" and sent.json()["emailId"].startswith("email_")
