"""Issue 18's remaining pieces over HTTP and as real CLI processes: tags on the board's cards and the
board's tag filter; round-robin assignment as ``leadline prospects bulk --round-robin``; the log-a-call
form, the same on every page that shows it; one date-and-time format in the web timeline."""

from __future__ import annotations

import re

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.prospects import bulk
from leadline.prospects.models import Prospect
from leadline.prospects.schemas import BulkRequest
from tests.conftest import make_user, run_leadline, settings_env
from tests.factories import make_prospect
from tests.web.helpers import book_call, book_call_later_today
from tests.web.test_pages_board import column


def _tag(settings, ids: list[str], *tags: str) -> None:
    bulk.start(settings, BulkRequest.model_validate({"ids": ids, "addTags": list(tags)}), actor="test")


def test_board_cards_show_their_tags_and_the_board_filters_by_tag(settings, page_client):
    royal = make_prospect(settings, name="Royal Plumbing Co", deal_value=2400)
    baker = make_prospect(settings, name="Baker Roofing", sales_status="proposal")
    make_prospect(settings, name="Summit Electric")
    _tag(settings, [royal.id, baker.id], "spring push")
    _tag(settings, [royal.id], "vip")
    html = page_client.get("/board").text
    new = column(html, "new")
    card = re.search(r'<li class="board-card" id="card-royal_plumbing_co".*?</li>', new, re.S).group(0)
    assert '<span class="badge tag">spring push</span>' in card and '<span class="badge tag">vip</span>' in card
    assert '<option value="spring push">spring push</option>' in html  # the tag filter offers tags in use
    filtered = page_client.get("/board", params={"tag": "Spring Push"}).text
    assert "Royal Plumbing Co" in filtered and "Baker Roofing" in filtered and "Summit Electric" not in filtered
    assert '<option value="spring push" selected>' in filtered
    assert 'name="tag" value="spring push"' in filtered  # every move form keeps the filter
    none = page_client.get("/board", params={"tag": "nobody has this"}).text
    assert "Royal Plumbing Co" not in none and none.count('class="board-card"') == 0
    listed = page_client.get("/prospects").text  # the list's rows show tags too
    assert '<span class="badge tag">vip</span>' in listed


def test_round_robin_deals_a_selection_out_in_turn_from_the_cli(settings):
    make_user(settings, "ann@example.com", "member")
    make_user(settings, "bob@example.com", "member")
    for n in range(5):
        make_prospect(settings, name=f"Roofer {n}", trade="roofing")
    make_prospect(settings, name="Plumber", trade="plumbing")
    env = settings_env(settings)
    done = run_leadline("prospects", "bulk", "--trade", "roofing", "--round-robin", "ann@example.com,bob@example.com",
                        env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with unit_of_work(settings, readonly=True) as session:
        owners = dict(session.execute(select(Prospect.name, Prospect.owner)).tuples().all())
    assert sorted(owners[f"Roofer {n}"] for n in range(5)) == ["ann@example.com"] * 3 + ["bob@example.com"] * 2
    assert owners["Plumber"] is None
    refused = run_leadline("prospects", "bulk", "--trade", "plumbing", "--round-robin", "ann@example.com,nobody@x.test",
                           env=env)  # fmt: skip
    assert refused.returncode != 0 and "nobody@x.test" in refused.stderr
    with unit_of_work(settings, readonly=True) as session:
        assert session.scalar(select(Prospect.owner).where(Prospect.name == "Plumber")) is None


def _log_form(html: str) -> str:
    """The log-a-call form's fields, without what differs by page (the action, the hidden ids)."""
    form = re.search(r'<form method="post" action="[^"]*" class="form" id="log-form">(.*?)</form>', html, re.S)
    assert form, "no log-a-call form"
    body = re.sub(r'<input type="hidden" name="(callId|csrf_token)"[^>]*>', "", form.group(1))
    return re.sub(r"<label[^>]*>\s*<span[^>]*>Prospect.*?</label>", "", body, flags=re.S)


def test_the_log_a_call_form_is_the_same_on_every_page(settings, page_client):
    royal = make_prospect(settings, name="Royal Plumbing Co")
    call = book_call_later_today(settings, royal.id)
    pages = {
        "calls": page_client.get("/calls").text,
        "call": page_client.get(f"/calls/{call}").text,
        "prospect": page_client.get(f"/prospects/{royal.id}").text,
    }
    outcomes = {}
    for name, html in pages.items():
        select_html = re.search(r'<select name="outcome".*?</select>', html, re.S).group(0)
        outcomes[name] = select_html
        assert " selected" not in select_html, f"{name}: an outcome is preselected"
        assert '<option value="">Choose…</option>' in select_html
    assert outcomes["calls"] == outcomes["call"] == outcomes["prospect"]
    service = {name: re.search(r'<select name="serviceType".*?</select>', html, re.S).group(0)
               for name, html in pages.items()}  # fmt: skip
    assert len(set(service.values())) == 1
    assert 'href="/calls/' in page_client.get("/today").text  # Today's "Log the call" opens the call's form


def test_the_web_timeline_writes_times_in_the_one_format(settings, page_client):
    royal = make_prospect(settings, name="Royal Plumbing Co")
    book_call(settings, royal.id, days=2)
    html = page_client.get(f"/prospects/{royal.id}").text
    timeline = html[html.index("booked for") :][:120]
    assert re.match(r"booked for (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} [A-Z]", timeline)
    assert not re.search(r"booked for \w{3} \d{4}-\d{2}-\d{2}", html)
