"""Deals: won makes the customer then closed_won; lost; reopen. And the seed's whole flow, from
"CALL SCHEDULED" to "Customer becomes active", through the CLI and through the API."""

from __future__ import annotations

from datetime import datetime

import pytest

from leadline.db import unit_of_work
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from leadline.errors import Conflict
from tests.calls.helpers import (
    SEED_NEXT,
    SEED_NOTES,
    SEED_OBJECTIONS,
    entries,
    freeze,
    local,
    prospect,
    timeline,
)
from tests.factories import count, make_prospect, snapshot


class TestWon:
    def test_cli_makes_the_customer_from_the_prospect(self, settings, cli):
        freeze("2025-11-25 11:00")
        p = make_prospect(settings,
            name="Royal Plumbing Co", contact_name="Daniel Reyes", email="daniel@royal.com",
            phone="(512) 555-0142", website="royalplumbingco.com", grid_health=48, sales_status="proposal",
        )  # fmt: skip
        result = cli(
            "deals", "won", "--prospect", p.id, "--service", "grid_health_analysis", "--monthly-fee", "2400",
            "--start", "2025-12-01", "--contract-url", "https://contracts.example.com/royal.pdf",
            "--signed-at", "2025-11-24 16:00", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        c = result.json
        assert (c["companyName"], c["contactName"], c["email"], c["phone"], c["website"]) == (
            "Royal Plumbing Co", "Daniel Reyes", "daniel@royal.com", "(512) 555-0142", "https://royalplumbingco.com",
        )  # fmt: skip
        assert (c["serviceType"], c["monthlyFee"], c["status"], c["primaryContact"]) == (
            "grid_health_analysis", 2400, "active", "Daniel Reyes",
        )  # fmt: skip
        assert (c["initialGridHealth"], c["currentGridHealth"]) == (48, 48)
        assert c["startDate"] == "2025-12-01T06:00:00Z"  # midnight in Chicago
        assert c["signedAt"] == "2025-11-24T22:00:00Z"
        assert c["contractUrl"] == "https://contracts.example.com/royal.pdf"
        after = prospect(settings, p.id)
        assert (after.sales_status, after.close_date, after.deal_value) == (
            "closed_won", local("2025-11-24 16:00"), 2400,
        )  # fmt: skip
        assert timeline(settings, p.id)[-3:] == [
            ("deal", "won"),
            ("customer", "created"),
            ("stage_change", "closed_won"),
        ]
        assert entries(settings, p.id, "deal")[0]["customerId"] == c["id"]

    def test_a_deal_cannot_be_won_twice(self, settings, cli):
        p = make_prospect(settings)
        args = ["deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "900"]
        assert cli(*args).exit_code == 0
        before = snapshot(settings)
        again = cli(*args)
        assert again.exit_code == 1 and "is already won: customer cus_" in again.stderr
        assert snapshot(settings) == before

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--monthly-fee", "-5"], "error: monthly-fee: must be at least 0"),
            (["--monthly-fee", "lots"], "error: monthly-fee: 'lots' is not a number"),
            (["--monthly-fee", "10", "--signed-at", "2999-01-01"], "error: signedAt: is in the future"),
            (
                ["--monthly-fee", "10", "--contract-url", "nope"],
                "error: contract-url: 'nope' is not a web address",
            ),
        ],
    )
    def test_bad_input_changes_nothing(self, settings, cli, extra, message):
        p = make_prospect(settings)
        before = snapshot(settings)
        result = cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", *extra)
        assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
        assert snapshot(settings) == before
        assert cli("deals", "won", "--prospect", p.id, "--service", "seo", "--monthly-fee", "1").exit_code == 2

    def test_manual_move_to_closed_won_still_needs_the_deal(self, settings, cli):
        p = make_prospect(settings)
        refused = cli("prospects", "stage", p.id, "closed_won", "--reason", "signed")
        assert refused.exit_code == 1 and "leadline deals won" in refused.stderr


class TestLostAndReopen:
    def test_lost_then_reopened_to_the_stage_it_was_lost_from(self, settings, cli):
        p = make_prospect(settings, sales_status="proposal")
        lost = cli("deals", "lost", "--prospect", p.id, "--reason", "went with a competitor")
        assert lost.exit_code == 0, lost.stderr
        after = prospect(settings, p.id)
        assert (after.sales_status, after.lost_reason) == ("closed_lost", "went with a competitor")
        again = cli("deals", "lost", "--prospect", p.id, "--reason", "x")
        assert again.exit_code == 1 and "already lost" in again.stderr
        refused = cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "10")
        assert refused.exit_code == 1 and "reopen it first" in refused.stderr
        reopened = cli("deals", "reopen", "--prospect", p.id, "--reason", "competitor flaked")
        assert reopened.exit_code == 0 and f"{p.id} is proposal" in reopened.stdout
        after = prospect(settings, p.id)
        assert (after.sales_status, after.lost_reason, after.close_date) == ("proposal", None, None)
        assert [e["status"] for e in entries(settings, p.id, "deal")] == ["lost", "reopened"]
        assert cli("deals", "reopen", "--prospect", p.id, "--reason", "x").exit_code == 1

    def test_reopen_to_a_chosen_stage(self, settings, cli):
        p = make_prospect(settings)
        cli("deals", "lost", "--prospect", p.id, "--reason", "no budget")
        assert cli("deals", "reopen", "--prospect", p.id, "--reason", "budget", "--stage", "interested").exit_code == 0
        assert prospect(settings, p.id).sales_status == "interested"

    def test_a_reopen_reason_follows_the_stage_move_rule(self, settings, cli):
        """Up to 500 characters, as for any move (it used to be prefixed: a 490-character reason failed)."""
        p = make_prospect(settings)
        cli("deals", "lost", "--prospect", p.id, "--reason", "no budget")
        before = snapshot(settings)
        refused = cli("deals", "reopen", "--prospect", p.id, "--reason", "x" * 501)
        assert refused.exit_code == 1 and refused.stderr.strip() == "error: reason: must be at most 500 characters"
        assert snapshot(settings) == before
        assert cli("deals", "reopen", "--prospect", p.id, "--reason", "y" * 500).exit_code == 0
        moves = [e for e in entries(settings, p.id, "stage_change") if e.get("reason") == "y" * 500]
        assert len(moves) == 1 and prospect(settings, p.id).sales_status == "new"

    def test_a_won_deal_is_not_lost(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            deals.won(session, DealWon(prospect_id=p.id, service_type="paid_ads", monthly_fee=100), actor="t")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="churn the customer"), unit_of_work(settings) as session:
            deals.lost(session, p.id, reason="changed their mind", actor="t")
        assert snapshot(settings) == before


class TestApi:
    def test_won_lost_reopen(self, settings, client):
        a = make_prospect(settings)
        b = make_prospect(settings)
        won = client.post("/api/deals/won", json={"prospectId": a.id, "serviceType": "content_generation",
                                                   "monthlyFee": 1500})  # fmt: skip
        assert won.status_code == 201, won.text
        assert won.json()["salesStatus"] == "closed_won" and won.json()["customerId"].startswith("cus_")
        twice = client.post("/api/deals/won", json={"prospectId": a.id, "serviceType": "paid_ads", "monthlyFee": 1})
        assert twice.status_code == 409 and twice.json()["field"] == "prospectId"
        assert client.post("/api/deals/lost", json={"prospectId": b.id, "reason": "no"}).json()["salesStatus"] == (
            "closed_lost"
        )
        reopened = client.post("/api/deals/reopen", json={"prospectId": b.id, "reason": "yes", "stage": "replied"})
        assert reopened.json() == {"prospectId": b.id, "salesStatus": "replied", "customerId": None}

    @pytest.mark.parametrize(
        ("path", "body", "status", "field"),
        [
            ("won", {"serviceType": "paid_ads", "monthlyFee": -1}, 422, "monthlyFee"),
            ("won", {"serviceType": "seo", "monthlyFee": 1}, 422, "serviceType"),
            ("won", {"prospectId": "nobody", "serviceType": "paid_ads", "monthlyFee": 1}, 404, "prospectId"),
            ("lost", {"reason": ""}, 422, "reason"),
            ("reopen", {"reason": "x"}, 409, "prospectId"),
            ("reopen", {"reason": "x", "stage": "closed_won"}, 422, "stage"),
        ],
    )
    def test_bad_input(self, settings, client, path, body, status, field):
        p = make_prospect(settings)
        before = snapshot(settings)
        response = client.post(f"/api/deals/{path}", json={"prospectId": p.id} | body)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
        assert snapshot(settings) == before


class TestTheSeedFlow:
    """WEEK 1-2: SCHEDULE CALLS -> COMPLETE CALLS -> CLOSE DEAL -> Customer becomes active."""

    def test_through_the_cli(self, settings, cli):
        freeze("2025-11-15 14:05")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", sales_status="replied")
        assert cli("calls", "schedule", "--prospect", p.id, "--at", "2025-11-15 15:00").exit_code == 0
        booked = prospect(settings, p.id)
        assert (booked.sales_status, booked.calls_scheduled_count) == ("scheduled", 1)
        assert booked.next_follow_up_at == local("2025-11-15 15:00")
        freeze("2025-11-15 15:25")
        done = cli("calls", "log", "--prospect", p.id, "--outcome", "interested", "--duration", "25m",
                   "--objections", ",".join(SEED_OBJECTIONS), "--notes", SEED_NOTES, "--next-steps", SEED_NEXT)  # fmt: skip
        assert done.exit_code == 0, done.stderr
        called = prospect(settings, p.id)
        assert (called.sales_status, called.calls_completed_count) == ("interested", 1)
        freeze("2025-11-20 10:00")
        assert cli("prospects", "stage", p.id, "proposal", "--reason", "ROI proposal sent").exit_code == 0
        won = cli("deals", "won", "--prospect", p.id, "--service", "grid_health_analysis", "--monthly-fee", "2400")
        assert won.exit_code == 0, won.stderr
        listing = cli("customers", "list").stdout
        assert "Royal Plumbing Co" in listing and "active" in listing and "MRR $2,400/month" in listing
        assert prospect(settings, p.id).sales_status == "closed_won"
        assert count(settings, "customers") == 1

    def test_through_the_api(self, settings, client):
        freeze("2025-11-15 14:05")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", sales_status="replied")
        call = client.post("/api/calls", json={"prospectId": p.id, "scheduledAt": "2025-11-15T15:00:00-06:00"})
        assert call.status_code == 201 and call.json()["salesStatus"] == "scheduled"
        freeze("2025-11-15 15:25")
        body = {"duration": 1500, "notes": SEED_NOTES, "objections": SEED_OBJECTIONS, "outcome": "interested",
                "nextSteps": SEED_NEXT}  # fmt: skip
        logged = client.patch(f"/api/calls/{call.json()['id']}", json=body)
        assert logged.status_code == 200 and logged.json()["salesStatus"] == "interested"
        freeze("2025-11-20 10:00")
        assert (
            client.post(f"/api/prospects/{p.id}/stage", json={"stage": "proposal", "reason": "sent"}).status_code == 200
        )
        won = client.post("/api/deals/won", json={"prospectId": p.id, "serviceType": "grid_health_analysis",
                                                   "monthlyFee": 2400})  # fmt: skip
        assert won.status_code == 201
        customers = client.get("/api/customers", params={"status": "active"}).json()
        assert customers["total"] == 1 and customers["mrr"] == 2400
        assert customers["items"][0]["prospectId"] == p.id
        final = client.get(f"/api/prospects/{p.id}").json()
        assert (final["salesStatus"], final["callsScheduledCount"], final["callsCompletedCount"]) == (
            "closed_won",
            1,
            1,
        )


class TestDemo:
    def test_the_demo_books_logs_and_wins_through_the_services(self, settings, cli):
        assert cli("demo").exit_code == 0
        calls = cli("calls", "list", "--json").json
        # The seed's Week 1 (two calls booked, Royal's held), then this week's call that won the deal.
        assert len(calls) == 3
        assert sorted(c["status"] for c in calls) == ["completed", "completed", "scheduled"]
        royal = next(c for c in calls if c["prospectId"] == "royal_plumbing_co")
        assert (royal["duration"], royal["outcome"], royal["nextSteps"]) == (1500, "interested", SEED_NEXT)
        # The seed's card for Royal: "Objections: Cost, timeline".
        assert royal["objections"] == [SEED_OBJECTIONS[0], SEED_OBJECTIONS[-1]]
        pending = next(c for c in calls if c["status"] == "scheduled")
        # Booked for the next working day at 15:00 (local), whatever day the test runs on.
        from leadline.times import add_business_days

        zone = settings.zone
        upcoming = add_business_days(datetime.now(zone).date(), 1)
        assert f"{upcoming:%a %Y-%m-%d} 15:00" in cli("calls", "show", pending["id"]).stdout
        customers = cli("customers", "list", "--json").json
        assert customers["total"] == 1 and customers["mrr"] == 2400
        assert customers["items"][0]["serviceType"] == "grid_health_analysis"
        won = prospect(settings, customers["items"][0]["prospectId"])
        assert (won.sales_status, won.calls_completed_count) == ("closed_won", 1)
        assert len(cli("objections", "--json").json) >= 4
        assert prospect(settings, "royal_plumbing_co").sales_status == "interested"
