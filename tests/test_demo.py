"""`leadline demo`: a realistic data set through the real code paths."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select

from leadline.db import unit_of_work
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
    # Week 1: pain_point to the 25 tier-1 prospects, through the outbox, on the demo week's Monday.
    sent = cli("emails", "list", "--limit", "100", "--json").json
    assert len(sent) == 25 and {e["template"] for e in sent} == {"pain_point"}
    assert {e["prospectId"] for e in sent} == {p.id for p in people if p.tier == 1}
    assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) == 25
    # The rest of the week, through the signed webhook and Inbound Parse (the seed's numbers).
    sent = cli("emails", "list", "--limit", "100", "--json").json
    assert sum(e["deliveredAt"] is not None for e in sent) == 24
    assert [e["status"] for e in sent].count("bounced") == 1
    assert sum(e["openedAt"] is not None for e in sent) == 8
    assert sum(e["clickCount"] > 0 for e in sent) == 3
    assert sorted(e["prospectId"] for e in sent if e["repliedAt"]) == sorted(
        [e["prospectId"] for e in sent if e["status"] == "replied"]
    )
    assert len([e for e in sent if e["repliedAt"]]) == 2
    assert "royal_plumbing_co" in {e["prospectId"] for e in sent if e["repliedAt"]}


def test_demo_refuses_to_load_twice_unless_asked(settings, cli):
    assert cli("demo").exit_code == 0
    again = cli("demo")
    assert again.exit_code == 1 and "already has 340 prospects" in again.stderr
    quiet = cli("demo", "--if-empty")
    assert quiet.exit_code == 0 and "was not loaded again" in quiet.stdout
    reset = cli("demo", "--reset")
    assert reset.exit_code == 0 and count(settings, "prospects") == 340
