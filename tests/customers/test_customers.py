"""Customers: list with MRR, show, update results, pause / churn / reactivate; CLI and API."""

from __future__ import annotations

import pytest

from leadline.db import unit_of_work
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from tests.calls.helpers import entries, freeze, prospect
from tests.factories import make_prospect, snapshot


def won(settings, fee: float, service: str = "grid_health_analysis", **prospect_fields: object) -> tuple[str, str]:
    p = make_prospect(settings, **prospect_fields)
    with unit_of_work(settings) as session:
        _, customer = deals.won(session, DealWon(prospect_id=p.id, service_type=service, monthly_fee=fee), actor="test")
        return p.id, customer.id


class TestList:
    def test_mrr_is_the_sum_of_active_fees(self, settings, cli, client):
        won(settings, 2400, name="Royal Plumbing Co")
        _, paused = won(settings, 1000, "paid_ads", name="Summit HVAC")
        won(settings, 500.5, "content_generation", name="Apex Roofing")
        assert cli("customers", "pause", paused).exit_code == 0
        table = cli("customers", "list").stdout
        assert "Royal Plumbing Co" in table and "Summit HVAC" in table
        assert "3 customers, 2 active · MRR $2,900.50/month" in table
        data = cli("customers", "list", "--status", "paused", "--json").json
        assert [c["companyName"] for c in data["items"]] == ["Summit HVAC"] and data["mrr"] == 2900.5
        body = client.get("/api/customers").json()
        assert (body["total"], body["mrr"]) == (3, 2900.5)
        assert client.get("/api/customers", params={"status": "gone"}).status_code == 422

    def test_an_empty_list(self, cli):
        assert "0 customers, 0 active · MRR $0/month" in cli("customers", "list").stdout


class TestShowAndUpdate:
    def test_by_customer_id_or_prospect_id(self, settings, cli, client):
        prospect_id, customer_id = won(settings, 2400, name="Royal Plumbing Co", grid_health=48)
        assert cli("customers", "show", prospect_id, "--json").json["id"] == customer_id
        assert "Royal Plumbing Co" in cli("customers", "show", customer_id).stdout
        assert client.get(f"/api/customers/{prospect_id}").json()["id"] == customer_id
        missing = cli("customers", "show", "nobody")
        assert missing.exit_code == 1 and "no customer 'nobody'" in missing.stderr

    def test_update_results_is_recorded(self, settings, cli, client):
        prospect_id, customer_id = won(settings, 2400, name="Royal Plumbing Co", grid_health=48)
        result = cli("customers", "update", customer_id, "--current-grid-health", "71", "--leads-generated", "14",
                     "--impressions-generated", "5200", "--slack-channel", "#royal")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        data = cli("customers", "show", customer_id, "--json").json
        assert (data["initialGridHealth"], data["currentGridHealth"], data["leadsGenerated"]) == (48, 71, 14)
        assert "48 -> 71" in cli("customers", "list").stdout
        change = entries(settings, prospect_id, "customer")[-1]
        assert change["status"] == "updated" and change["changes"]["currentGridHealth"] == [48.0, 71.0]
        patched = client.patch(f"/api/customers/{customer_id}", json={"monthlyFee": 2600, "notes": "upsold"})
        assert patched.status_code == 200 and patched.json()["monthlyFee"] == 2600
        assert client.get("/api/customers").json()["mrr"] == 2600

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--current-grid-health", "150"], "error: current-grid-health: must be at most 100"),
            (["--leads-generated", "-1"], "error: leads-generated: must be at least 0"),
            (["--monthly-fee", "-10"], "error: monthly-fee: must be at least 0"),
            ([], "error: nothing to change"),
        ],
    )
    def test_bad_updates_change_nothing(self, settings, cli, args, message):
        _, customer_id = won(settings, 2400)
        before = snapshot(settings)
        result = cli("customers", "update", customer_id, *args)
        assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
        assert snapshot(settings) == before
        assert cli("customers", "update", customer_id, "--service", "seo").exit_code == 2

    def test_api_bad_update_names_the_field(self, settings, client):
        _, customer_id = won(settings, 2400)
        before = snapshot(settings)
        response = client.patch(f"/api/customers/{customer_id}", json={"currentGridHealth": 101})
        assert response.status_code == 422 and response.json()["field"] == "currentGridHealth"
        response = client.patch(f"/api/customers/{customer_id}", json={"companyName": None})
        assert response.status_code == 422 and response.json()["field"] == "companyName"
        assert snapshot(settings) == before


class TestStatus:
    def test_pause_churn_reactivate(self, settings, cli):
        freeze("2025-11-20 10:00")
        prospect_id, customer_id = won(settings, 2400)
        assert cli("customers", "pause", customer_id, "--reason", "winter").exit_code == 0
        again = cli("customers", "pause", customer_id)
        assert again.exit_code == 1 and "is paused; only active customers can be paused" in again.stderr
        assert cli("customers", "churn", customer_id).exit_code == 0
        churned = cli("customers", "show", customer_id, "--json").json
        assert (churned["status"], churned["endDate"]) == ("churned", "2025-11-20T16:00:00Z")
        # A churned customer's prospect may be moved on by hand; reactivating brings it back.
        assert cli("prospects", "stage", prospect_id, "interested", "--reason", "new contract talks").exit_code == 0
        assert cli("customers", "reactivate", customer_id).exit_code == 0
        active = cli("customers", "show", customer_id, "--json").json
        assert (active["status"], active["endDate"]) == ("active", None)
        assert prospect(settings, prospect_id).sales_status == "closed_won"
        assert [e["status"] for e in entries(settings, prospect_id, "customer")] == [
            "created", "paused", "churned", "reactivated",
        ]  # fmt: skip

    def test_an_active_customers_prospect_cannot_leave_closed_won(self, settings, cli):
        prospect_id, _ = won(settings, 2400)
        refused = cli("prospects", "stage", prospect_id, "interested", "--reason", "x")
        assert refused.exit_code == 1 and "churn the customer first" in refused.stderr

    def test_api(self, settings, client):
        _, customer_id = won(settings, 2400)
        assert client.post(f"/api/customers/{customer_id}/pause", json={"reason": "x"}).json()["status"] == "paused"
        assert client.post(f"/api/customers/{customer_id}/reactivate").json()["status"] == "active"
        assert client.post(f"/api/customers/{customer_id}/churn").json()["status"] == "churned"
        refused = client.post(f"/api/customers/{customer_id}/pause")
        assert refused.status_code == 409 and refused.json()["field"] == "status"
        assert client.post("/api/customers/nobody/churn").status_code == 404
