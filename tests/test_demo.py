"""`leadline demo`: a realistic data set through the real code paths."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.demo import demo_week_monday
from leadline.prospects.models import Prospect
from tests.factories import count


def test_demo_loads_340_realistic_prospects(settings, cli, tmp_path):
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    assert "Imported 340 researched prospects" in result.stdout
    with unit_of_work(settings, readonly=True) as session:
        people = list(session.scalars(select(Prospect)))
    assert len(people) == 340
    assert Counter(p.tier for p in people) == {1: 25, 2: 100, 3: 215}
    assert len({p.trade for p in people}) >= 8
    assert {"plumbing", "hvac", "electrical", "roofing"} <= {p.trade for p in people}
    for p in people:
        assert p.email and re.fullmatch(r"[a-z]+@[a-z0-9]+\.com", p.email), p.email
        assert p.website and p.website.startswith("https://www.")
        assert p.phone and re.fullmatch(r"\(\d{3}\) 555-01\d\d", p.phone)
        assert p.city and p.state and p.timezone
        assert 0 <= (p.grid_health or 0) <= 100
        assert p.top_competitor and p.top_competitor != p.name
        assert (p.competitor_health or 0) > (p.grid_health or 0)
        assert len(p.gaps) >= (p.critical_gaps or 0)
    royal = next(p for p in people if p.id == "royal_plumbing_co")
    assert (royal.contact_name, royal.grid_health, royal.tier) == ("Daniel Reyes", 48, 1)
    # Tier 1 is the weakest online: the biggest opportunity, analysed first.
    mean = {t: sum(p.grid_health or 0 for p in people if p.tier == t) / n for t, n in ((1, 25), (2, 100), (3, 215))}
    assert mean[1] < mean[2] < mean[3]
    assert count(settings, "outreach_activities") >= 340
    # Week 1: pain_point to the 25 tier-1 prospects, through the outbox, on the demo week's Monday
    # (this week's follow-ups and proposal came after: issue 15).
    every = cli("emails", "list", "--limit", "100", "--json").json
    sent = [e for e in every if e["template"] == "pain_point"]
    assert len(sent) == 25
    # follow_up_1 goes out only inside the sending window: not yet when the demo runs early on a Monday.
    assert {"pain_point", "proposal"} <= {e["template"] for e in every} <= {"pain_point", "follow_up_1", "proposal"}
    assert {e["prospectId"] for e in sent} == {p.id for p in people if p.tier == 1}
    assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) == len(every)
    # The rest of the week, through the signed webhook and Inbound Parse (the seed's numbers).
    assert sum(e["deliveredAt"] is not None for e in sent) == 24
    assert [e["status"] for e in sent].count("bounced") == 1
    assert sum(e["openedAt"] is not None for e in sent) == 8
    assert sum(e["clickCount"] > 0 for e in sent) == 3
    assert sorted(e["prospectId"] for e in sent if e["repliedAt"]) == sorted(
        [e["prospectId"] for e in sent if e["status"] == "replied"]
    )
    # Week 1's two replies; this week's reply is to a pain_point email too when the demo sent no follow-up yet
    # (run before 10:00 on a Monday, this week's story fits before the sending window opened).
    this_monday = demo_week_monday(settings) + timedelta(days=7)
    week_one = [e for e in sent if e["repliedAt"] and datetime.fromisoformat(e["repliedAt"]) < this_monday]
    assert len(week_one) == 2
    assert "royal_plumbing_co" in {e["prospectId"] for e in week_one}
    # Every reply the demo tells of is labelled, this week's too (logged as `leadline emails reply` would).
    replied = {e["id"]: e["prospectId"] for e in every if e["repliedAt"]}
    assert len(replied) == 3
    listed = cli("replies", "list", "--json").json
    assert {r["emailId"]: r["prospectId"] for r in listed} == replied
    assert all(r["label"] in ("interested", "meeting_request") and r["setBy"] == "rule" for r in listed)
    counted = cli("replies", "labels", "--json").json
    assert counted["total"] == 3 and counted["setBy"]["rule"] == 3


def test_demo_refuses_to_load_twice_unless_asked(settings, cli):
    assert cli("demo").exit_code == 0
    again = cli("demo")
    assert again.exit_code == 1 and "already has 340 prospects" in again.stderr
    quiet = cli("demo", "--if-empty")
    assert quiet.exit_code == 0 and "was not loaded again" in quiet.stdout
    reset = cli("demo", "--reset")
    assert reset.exit_code == 0 and count(settings, "prospects") == 340


# --- the seed's Week 1, exactly, and this week going on from it (issue 15) ------------------------

#: The seed's WEEK 1 SALES METRICS block, as `leadline dashboard --week last --json` gives it.
SEED_BLOCK = {
    "prospects": {"total": 340, "tier1": 25, "tier2": 100, "tier3": 215},
    "sent": 25, "delivered": (24, 0.96), "bounced": (1, 0.04), "failed": 0,
    "opened": (8, 0.32), "clicked": (3, 0.12), "replied": (2, 0.08),
    "calls": (2, 1, 1, 25.0),  # scheduled, completed, pending, average minutes
    "pipeline": [("new", 315), ("contacted", 25), ("replied", 2), ("scheduled", 2), ("interested", 1),
                 ("proposal", 0), ("closed_won", 0)],
}  # fmt: skip
SEED_TEXT = [
    "Total Prospects: 340", "├─ Tier-1 (analyzed first): 25", "├─ Tier-2: 100", "└─ Tier-3: 215",
    "├─ Emails Sent: 25 (this week)", "│  ├─ Delivered: 24 (96%)", "│  ├─ Bounced: 1 (4%)", "│  └─ Failed: 0",
    "│  ├─ Opened: 8 (32% open rate)", "│  ├─ Clicked: 3 (12% click rate)", "│  └─ Replied: 2 (8% reply rate)",
    "├─ Calls Scheduled: 2", "├─ Calls Completed: 1 (avg duration: 25 mins)", "└─ Calls Pending: 1",
    "├─ New (not contacted): 315", "├─ Contacted (email sent): 25", "├─ Replied (replied to email): 2",
    "├─ Scheduled (call booked): 2", "├─ Called (completed): 1", "├─ Proposal (sent proposal): 0",
    "└─ Closed (customers): 0",
]  # fmt: skip


def seed_figures(data: dict) -> dict:
    out, eng, calls = data["outreach"], data["engagement"], data["calls"]
    return {
        "prospects": data["prospects"],
        "sent": out["sent"],
        "delivered": (out["delivered"]["count"], out["delivered"]["rate"]),
        "bounced": (out["bounced"]["count"], out["bounced"]["rate"]),
        "failed": out["failed"]["count"],
        "opened": (eng["opened"]["count"], eng["opened"]["rate"]),
        "clicked": (eng["clicked"]["count"], eng["clicked"]["rate"]),
        "replied": (eng["replied"]["count"], eng["replied"]["rate"]),
        "calls": (calls["scheduled"], calls["completed"], calls["pending"], calls["averageDurationMinutes"]),
        "pipeline": [(s["stage"], s["count"]) for s in data["pipeline"]],
    }


def test_last_week_is_the_seeds_week_one_and_stays_so(cli, settings):
    from datetime import datetime

    from leadline import clock

    clock.set_frozen(datetime(2026, 12, 5, 11, 0, tzinfo=settings.zone))  # a Saturday: this week has gone by
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    last = cli("dashboard", "--week", "last", "--json").json
    assert last["week"]["number"] == 1 and not last["week"]["isCurrent"]
    assert seed_figures(last) == SEED_BLOCK
    assert all(s["movedByHand"] == 0 for s in last["pipeline"])
    text = cli("dashboard", "--week", "last").stdout
    assert text.splitlines()[0] == "WEEK 1 SALES METRICS"
    for line in SEED_TEXT:
        assert line in text.splitlines(), f"missing {line!r} in\n{text}"
    # The seed's sample prospect card: Royal Plumbing Co (plumbing, Daniel, grid health 48%),
    # as it stood at the week's end: called, its objections cost and timeline, $2,400/month.
    royal = next(card for card in last["cards"] if card["id"] == "royal_plumbing_co")
    assert royal["name"] == "Royal Plumbing Co" and royal["status"] == "interested"
    assert (royal["emailsSent"], royal["emailsOpened"], royal["valuePerMonth"]) == (1, 1, 2400.0)
    assert royal["objections"] == ["Price / cost", "Timeline"]
    prospect = cli("prospects", "show", "royal_plumbing_co", "--json").json
    assert (prospect["trade"], prospect["contactName"], prospect["gridHealth"]) == ("plumbing", "Daniel Reyes", 48)
    report = cli("report", "week", "--week", "last", "--format", "json").json
    assert [(s["stage"], s["count"]) for s in report["pipeline"]] == SEED_BLOCK["pipeline"]

    # This week goes on from there: follow-ups, a reply, a call, Royal's proposal and the won deal.
    now = cli("dashboard", "--json").json
    assert now["week"]["isCurrent"]
    assert now["outreach"]["sent"] > 0 and now["engagement"]["replied"]["count"] >= 1
    assert now["calls"]["completed"] >= 1 and now["dealsWon"] == 1 and now["newMrr"] == 2400.0
    assert dict((s["stage"], s["count"]) for s in now["pipeline"])["closed_won"] == 1
    customers = cli("customers", "list", "--json").json
    assert [c["monthlyFee"] for c in customers["items"]] == [2400.0] and customers["mrr"] == 2400.0
    won = customers["items"][0]["prospectId"]
    assert won != "royal_plumbing_co"
    mail = cli("emails", "list", "--prospect", won, "--json").json
    assert sorted(e["template"] for e in mail) == ["follow_up_1", "pain_point", "proposal"]
    follow_up = next(e for e in mail if e["template"] == "follow_up_1")  # in the first email's thread
    assert follow_up["repliedAt"] and follow_up["threadRootId"] == next(
        e["id"] for e in mail if e["template"] == "pain_point"
    )
    sequence = cli("sequences", "status", "--json").json
    assert len(sequence) >= 20  # the tier-1 follow-up sequence the demo started this week
    # Royal stays where Week 1 left it: called, its next step open, ready for a proposal.
    assert cli("prospects", "show", "royal_plumbing_co", "--json").json["salesStatus"] == "interested"

    # More happens now: a reply to a week-1 email, a stage moved by hand, a call logged. Last
    # week's dashboard and report do not change.
    emails = cli("emails", "list", "--limit", "100", "--json").json
    quiet = next(e for e in emails if e["template"] == "pain_point" and not e["repliedAt"] and e["deliveredAt"])
    assert cli("emails", "reply", quiet["id"], "--text", "Sorry for the delay: yes, let's talk.").exit_code == 0
    other = next(e["prospectId"] for e in emails if e["template"] == "pain_point" and not e["repliedAt"]
                 and e["prospectId"] != quiet["prospectId"])  # fmt: skip
    moved = cli("prospects", "stage", other, "scheduled", "--reason", "met at the trade fair")
    assert moved.exit_code == 0, moved.stderr
    logged = cli("calls", "log", "--prospect", quiet["prospectId"], "--outcome", "interested", "--duration", "15m")
    assert logged.exit_code == 0, logged.stderr
    again = cli("dashboard", "--week", "last", "--json").json
    assert seed_figures(again) == SEED_BLOCK
    assert [c["status"] for c in again["cards"]] == [c["status"] for c in last["cards"]]
    assert cli("report", "week", "--week", "last", "--format", "json").json["lines"] == report["lines"]
    # ... while this week's funnel shows the move by hand apart.
    after = {s["stage"]: s for s in cli("dashboard", "--json").json["pipeline"]}
    assert after["scheduled"]["movedByHand"] >= 1


def test_run_early_on_a_monday_the_week_still_goes_on_before_now(cli, settings):
    """Run at 00:20 on a Monday: this week's story fits in the twenty minutes before now."""
    from datetime import datetime

    from leadline import clock

    monday = datetime(2026, 3, 2, 0, 20, tzinfo=settings.zone)
    clock.set_frozen(monday)
    assert cli("demo").exit_code == 0
    last = cli("dashboard", "--week", "last", "--json").json
    assert seed_figures(last) == SEED_BLOCK
    now = cli("dashboard", "--json").json
    assert now["week"]["label"] == "2026-W10" and now["dealsWon"] == 1 and now["outreach"]["sent"] > 0
    emails = cli("emails", "list", "--limit", "200", "--json").json
    assert max(datetime.fromisoformat(e["sentAt"]) for e in emails) < monday  # nothing in the future


def test_run_on_a_tuesday_afternoon_the_follow_ups_went_out_on_monday_morning(cli, settings):
    """The week's passed mornings and afternoons hold its story; the rest is spread over the time since:
    the follow-ups go out at Monday 10:00, inside the sending window, and the reply answers one."""
    from leadline import clock

    tuesday = datetime(2026, 3, 3, 15, 0, tzinfo=settings.zone)
    clock.set_frozen(tuesday)
    assert cli("demo").exit_code == 0
    emails = cli("emails", "list", "--limit", "200", "--json").json
    follow_ups = [e for e in emails if e["template"] == "follow_up_1" and e["sentAt"]]
    assert follow_ups, "no follow-up sent on Monday"
    monday_ten = datetime(2026, 3, 2, 10, 0, tzinfo=settings.zone)
    assert all(monday_ten <= datetime.fromisoformat(e["sentAt"]) < tuesday for e in follow_ups)
    this_week = [e for e in emails if e["repliedAt"] and datetime.fromisoformat(e["repliedAt"]) >= monday_ten]
    assert [e["template"] for e in this_week] == ["follow_up_1"]
    assert max(datetime.fromisoformat(e["sentAt"]) for e in emails if e["sentAt"]) < tuesday
