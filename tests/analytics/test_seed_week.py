"""The seed's Week 1 through the real services and the signed webhook: the dashboard and the
weekly report show the seed's figures."""

from __future__ import annotations

import pytest

from tests.analytics.conftest import SEED_WEEK

pytestmark = pytest.mark.slow

SEED_LINES = [
    "WEEK 1 SALES METRICS",
    "Total Prospects: 340",
    "├─ Tier-1 (analyzed first): 25",
    "├─ Tier-2: 100",
    "└─ Tier-3: 215",
    "├─ Emails Sent: 25 (this week)",
    "│  ├─ Delivered: 24 (96%)",
    "│  ├─ Bounced: 1 (4%)",
    "│  └─ Failed: 0",
    "│  ├─ Opened: 8 (32% open rate)",
    "│  ├─ Clicked: 3 (12% click rate)",
    "│  └─ Replied: 2 (8% reply rate)",
    "├─ Calls Scheduled: 2",
    "├─ Calls Completed: 1 (avg duration: 25 mins)",
    "└─ Calls Pending: 1",
    "├─ New (not contacted): 315",
    "├─ Contacted (email sent): 25",
    "├─ Replied (replied to email): 2",
    "├─ Scheduled (call booked): 2",
    "├─ Called (completed): 1",
    "├─ Proposal (sent proposal): 0",
    "└─ Closed (customers): 0",
    "├─ Email open rate: 32% (human 24%) (target 20%: on track)",
    "├─ Email reply rate: 8% (target 5%: on track)",
    "├─ Call conversion: 100% of replies → calls (2/2) (target 50%: on track)",
    "└─ Deal conversion: 0% of contacted prospects won (0/25) (target 10%: below target)",
]


def test_the_dashboard_prints_the_seeds_week(seed_week, cli):
    result = cli("dashboard", "--week", SEED_WEEK)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for expected in SEED_LINES:
        assert expected in lines, f"missing {expected!r} in\n{result.stdout}"
    # The human open rate leaves out the two emails opened only by Apple's privacy prefetch.
    assert (
        "│  │  └─ Human opens: 6 (24% human open rate); 2 opened only by machines "
        "(Apple Mail Privacy Protection), 2 machine opens left out" in lines
    )
    # Thursday 16:00 of the week: four working days so far.
    assert "├─ Email send rate: 6.2/day (target 25/day: below target)" in lines
    # The most active prospect: replied, call booked and held; the card has the seed's fields.
    first_card = result.stdout.split("ENGAGEMENT BY PROSPECT:")[1]
    replier = seed_week["repliers"][0]
    for text in ("Status: interested", "Emails sent: 1", "Emails opened: 1", "Last contact: Today at 2:25 PM",
                 "Objections: Price / cost, Timeline", "/month (if closed)"):  # fmt: skip
        assert text in first_card.split("└")[0], first_card
    assert "Next follow-up: Monday at 9:00 AM" in first_card  # the next-step task, two working days on
    # The second replier's call is still to come, on Friday at 15:00.
    second = first_card.split("└")[1]
    assert "Status: scheduled" in second and "Next follow-up: Tomorrow at 3:00 PM" in second
    assert replier  # the cards are about the two who replied


def test_the_api_gives_the_same_numbers(seed_week, client):
    data = client.get("/api/dashboard", params={"week": SEED_WEEK}).json()
    assert data["week"]["label"] == SEED_WEEK and data["week"]["number"] == 1
    assert data["prospects"] == {"total": 340, "tier1": 25, "tier2": 100, "tier3": 215}
    out, eng = data["outreach"], data["engagement"]
    assert out["sent"] == 25
    assert (out["delivered"]["count"], out["delivered"]["rate"]) == (24, 0.96)
    assert (out["bounced"]["count"], out["failed"]["count"]) == (1, 0)
    assert (eng["opened"]["count"], eng["opened"]["rate"]) == (8, 0.32)
    assert (eng["humanOpened"]["count"], eng["machineOnlyOpened"], eng["machineOpens"]) == (6, 2, 2)
    assert (eng["clicked"]["count"], eng["clicked"]["rate"]) == (3, 0.12)
    assert (eng["replied"]["count"], eng["replied"]["rate"]) == (2, 0.08)
    assert data["calls"] == {
        "scheduled": 2, "completed": 1, "pending": 1, "noShow": 0,
        "averageDurationSeconds": 1500.0, "averageDurationMinutes": 25.0,
    }  # fmt: skip
    assert [(s["stage"], s["count"]) for s in data["pipeline"]] == [
        ("new", 315), ("contacted", 25), ("replied", 2), ("scheduled", 2), ("interested", 1), ("proposal", 0),
        ("closed_won", 0),
    ]  # fmt: skip
    metrics = {m["key"]: m for m in data["keyMetrics"]}
    assert (metrics["call_conversion"]["value"], metrics["call_conversion"]["count"]) == (1.0, 2)
    assert metrics["deal_conversion"]["value"] == 0.0
    assert [c["id"] for c in data["cards"]][:2] == seed_week["repliers"]


def test_the_weekly_report_shows_the_seeds_week(seed_week, cli):
    result = cli("report", "week", "--week", SEED_WEEK)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "WEEK 1 SALES REPORT"
    for expected in (
        "Emails Sent: 25 (+25 vs last week; goal 50)",
        "Email Open Rate: 32% (n/a vs last week; target 20%)",
        "Email Reply Rate: 8% (n/a vs last week; target 5%)",
        "Calls Scheduled: 2 (+2 vs last week; goal 3)",
        "Calls Completed: 1 (+1 vs last week)",
        "Deals Closed: 0 (±0 vs last week; goal 1)",
        "Next Week Target (2025-W48): 50 emails, 3 calls, 1 deal",
    ):
        assert expected in lines, f"missing {expected!r} in\n{result.stdout}"
    # The week after: nothing sent, the change is measured against the seed's week.
    after = cli("report", "week", "--week", "2025-W48", "--format", "json").json
    sent = next(line for line in after["lines"] if line["key"] == "emails_sent")
    assert (sent["value"], sent["previous"], sent["change"]) == (0, 25, -25)
    assert after["week"]["number"] == 2
