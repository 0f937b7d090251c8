"""The pipeline board (/board) over HTTP: columns, weighted values, moves through the service."""

from __future__ import annotations

import re

import pytest

from leadline.prospects.stages import STAGE_LABELS, STAGES
from tests.conftest import make_user
from tests.factories import make_prospect, snapshot
from tests.web.helpers import ROLES, stage_of

FRAGMENT = {"X-Leadline-Fragment": "1"}


def column(html: str, stage: str) -> str:
    """The HTML of one column of the board."""
    found = re.search(rf'<section class="board-col" data-stage="{stage}".*?</section>', html, re.S)
    assert found, f"no column {stage}"
    return found.group(0)


def timeline_moves(settings, prospect_id: str) -> list[tuple[str, dict, str]]:
    from leadline.db import unit_of_work
    from leadline.prospects import service

    with unit_of_work(settings, readonly=True) as session:
        return [(e.status, dict(e.details), e.actor) for e in service.timeline(session, prospect_id)
                if e.type == "stage_change"]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_a_column_per_stage_with_cards_and_weighted_values(settings, signed_in, role):
    make_prospect(
        settings, name="Royal Plumbing Co", trade="plumbing", tier=1, deal_value=2400, sales_status="proposal"
    )
    make_prospect(settings, name="Baker Roofing", trade="roofing", tier=2, deal_value=1000, sales_status="proposal")
    make_prospect(settings, name="Hughes HVAC", trade="hvac", tier=3)
    browser = signed_in(role)
    response = browser.get("/board")
    assert response.status_code == 200
    html = response.text
    assert [m for m in re.findall(r'<section class="board-col" data-stage="([a-z_]+)"', html)] == list(STAGES)
    for stage in STAGES:
        assert STAGE_LABELS[stage] in column(html, stage)
    proposal = column(html, "proposal")
    assert "Royal Plumbing Co" in proposal and "Baker Roofing" in proposal and "Hughes HVAC" not in proposal
    assert "roofing · tier 2" in proposal
    # The forecast's weights: proposal 60% of 3,400 = 2,040 a month.
    assert "$3,400/month" in proposal and "<strong data-weighted>$2,040/month</strong>" in proposal
    assert "Hughes HVAC" in column(html, "new")
    movable = 'draggable="true"' in html and 'action="/board/move"' in html
    assert movable == (role != "viewer")


def test_anonymous_is_sent_to_sign_in(anon_client):
    response = anon_client.get("/board", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/board"


def test_a_move_goes_through_the_service_with_the_user_as_actor(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co")
    response = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "replied",
                                                     "reason": "answered the pain-point email"},
                                headers={**FRAGMENT, "X-CSRF-Token": page_client.csrf})  # fmt: skip
    assert response.status_code == 200
    assert stage_of(settings, prospect.id) == "replied"
    assert f'id="card-{prospect.id}"' in column(response.text, "replied")
    assert "Royal Plumbing Co moved to Replied." in response.text
    assert timeline_moves(settings, prospect.id)[-1] == (
        "replied", {"from": "new", "to": "replied", "manual": True, "reason": "answered the pain-point email"},
        "user:admin@example.com"
    )  # fmt: skip


def test_the_move_form_works_without_javascript(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co")
    response = page_client.post("/board/move", data={"csrf_token": page_client.csrf, "prospectId": prospect.id,
                                                     "stage": "closed_lost", "reason": "went with a competitor"})  # fmt: skip
    assert response.status_code == 200 and "<h1>Pipeline board</h1>" in response.text
    assert stage_of(settings, prospect.id) == "closed_lost"


def test_an_illegal_move_is_refused_with_the_services_message_and_changes_nothing(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co", sales_status="proposal")
    before = snapshot(settings)
    response = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "closed_won", "reason": "x"},
                                headers={**FRAGMENT, "X-CSRF-Token": page_client.csrf})  # fmt: skip
    assert response.status_code == 409
    answer = response.json()
    # Plain words and a link to the button that does it, not a command line.
    assert answer["message"] == "To win a deal, use Won on the prospect's page: it makes the customer record."
    assert answer["link"] == f"/prospects/{prospect.id}#won-form" and answer["field"] == "stage"
    assert "leadline" not in answer["message"]
    assert snapshot(settings) == before
    # Without JavaScript: the board again, with the same line.
    page_response = page_client.post("/board/move", data={"csrf_token": page_client.csrf, "prospectId": prospect.id,
                                                          "stage": "closed_won", "reason": "x"})  # fmt: skip
    assert (
        page_response.status_code == 409 and "To win a deal, use Won on the prospect&#39;s page" in page_response.text
    )
    assert "moved to" not in page_response.text
    assert snapshot(settings) == before


def test_a_move_needs_the_reason_the_user_gives(settings, page_client):
    """Issue 14: the board used to default the reason to "moved on the board"; the service now refuses
    a move without one, from the board as from every other shell (tests/test_one_rule.py)."""
    prospect = make_prospect(settings)
    before = snapshot(settings)
    headers = {**FRAGMENT, "X-CSRF-Token": page_client.csrf}
    for reason in ("", "   ", "x" * 501):
        refused = page_client.post("/board/move", data={"prospect_id": prospect.id, "stage": "replied",
                                                        "reason": reason}, headers=headers)  # fmt: skip
        assert refused.status_code == 422 and refused.json()["field"] == "reason", reason
        assert refused.json()["message"].startswith("Reason: must")
    no_script = page_client.post("/board/move", data={"csrf_token": page_client.csrf, "prospect_id": prospect.id,
                                                      "stage": "replied"})  # fmt: skip
    assert no_script.status_code == 422 and "Reason: must not be empty" in no_script.text
    assert 'name="reason"' in page_client.get("/board").text
    assert snapshot(settings) == before


def test_an_unknown_stage_or_prospect_names_the_field(settings, page_client):
    prospect = make_prospect(settings)
    before = snapshot(settings)
    headers = {**FRAGMENT, "X-CSRF-Token": page_client.csrf}
    bad_stage = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "won", "reason": "x"},
                                 headers=headers)  # fmt: skip
    assert bad_stage.status_code == 422 and bad_stage.json()["field"] == "stage"
    missing = page_client.post("/board/move", data={"prospectId": "nobody", "stage": "replied", "reason": "x"},
                               headers=headers)  # fmt: skip
    assert missing.status_code == 404 and missing.json()["field"] == "prospectId"
    assert snapshot(settings) == before


def test_a_viewer_may_not_move_and_a_post_without_csrf_is_refused(settings, signed_in, page_client):
    prospect = make_prospect(settings)
    before = snapshot(settings)
    viewer = signed_in("viewer")
    refused = viewer.post("/board/move", data={"csrf_token": viewer.csrf, "prospectId": prospect.id,
                                               "stage": "replied"})  # fmt: skip
    assert refused.status_code == 403
    no_token = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "replied"})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["message"]
    wrong = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "replied", "csrf_token": "x"})
    assert wrong.status_code == 403
    assert stage_of(settings, prospect.id) == "new"
    # A viewer session exists now; nothing else changed.
    after = snapshot(settings)
    assert after["prospects"] == before["prospects"] and after["outreach_activities"] == before["outreach_activities"]


def test_a_name_with_markup_is_shown_as_text(settings, page_client):
    make_prospect(settings, name="<script>alert(1)</script> Plumbing", trade="<b>pipes</b>")
    html = page_client.get("/board").text
    assert "<script>alert(1)</script>" not in html and "<b>pipes</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Plumbing" in html and "&lt;b&gt;pipes&lt;/b&gt;" in html


def test_a_long_column_is_capped_with_a_link_to_the_prospects_list(settings, page_client, monkeypatch):
    from leadline.web.pages import board

    monkeypatch.setattr(board, "CARDS_PER_COLUMN", 2)
    for n in range(5):
        make_prospect(settings, name=f"Plumber {n}", sales_status="contacted")
    html = column(page_client.get("/board").text, "contacted")
    assert html.count('class="board-card"') == 2
    assert '<a href="/prospects?stage=contacted">and 3 more</a>' in html
    assert '<span class="badge" data-count>5</span>' in html


def test_tier_one_cards_come_first_and_an_unknown_stage_is_refused(settings, page_client):
    from leadline.db import unit_of_work
    from leadline.errors import Invalid
    from leadline.prospects import service

    for name, tier in (("Third", 3), ("First", 1), ("Second", 2)):
        make_prospect(settings, name=f"{name} Plumbing", tier=tier)
    html = column(page_client.get("/board").text, "new")
    assert html.index("First Plumbing") < html.index("Second Plumbing") < html.index("Third Plumbing")
    with unit_of_work(settings, readonly=True) as session:
        with pytest.raises(Invalid):
            service.in_stage(session, "won", limit=5)
        assert service.in_stage(session, "new", limit=1)[1] == 3


def test_a_move_after_the_session_ended_asks_the_script_to_sign_in_again(anon_client):
    response = anon_client.post("/board/move", data={"prospectId": "x", "stage": "new"},
                                headers={**FRAGMENT, "HX-Request": "true"})  # fmt: skip
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_filters_value_per_column_with_closed_ones_and_the_currency(settings, page_client):
    for owner in ("ann@example.com", "bob@example.com"):  # an owner is a user
        make_user(settings, owner, "member")
    make_prospect(
        settings, name="Royal Plumbing Co", trade="plumbing", tier=1, deal_value=2400, owner="ann@example.com"
    )
    make_prospect(settings, name="Baker Roofing", trade="roofing", tier=2, deal_value=1000, owner="bob@example.com")
    make_prospect(settings, name="Lost Electric", trade="electrical", tier=1, deal_value=700,
                  sales_status="closed_lost")  # fmt: skip
    html = page_client.get("/board").text
    assert "$3,400/month" in column(html, "new")
    assert "$700/month" in column(html, "closed_lost")  # closed columns have their value too
    for query, shown, hidden in (("tier=2", "Baker Roofing", "Royal Plumbing Co"),
                                 ("owner=ann%40example.com", "Royal Plumbing Co", "Baker Roofing"),
                                 ("trade=roofing", "Baker Roofing", "Royal Plumbing Co")):  # fmt: skip
        filtered = page_client.get(f"/board?{query}").text
        new = column(filtered, "new")
        assert shown in new and hidden not in new, query
        assert '<span class="badge" data-count>1</span>' in new
    assert "Lost Electric" not in column(page_client.get("/board?tier=2").text, "closed_lost")
    from leadline.db import unit_of_work
    from leadline.storedsettings import service as stored

    with unit_of_work(settings) as session:
        stored.set_settings(session, {"currency": "EUR"}, actor="test")
    assert "€3,400/month" in column(page_client.get("/board").text, "new")


def test_the_new_column_shows_its_first_cards_and_more_on_request(settings, page_client):
    for n in range(25):
        make_prospect(settings, name=f"Plumber {n}")
    html = column(page_client.get("/board").text, "new")
    assert html.count('class="board-card"') == 20
    assert '<a href="/board?new=40" data-more>Show 5 more</a>' in html
    assert column(page_client.get("/board?new=40").text, "new").count('class="board-card"') == 25


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("new=99999", "new"),
        ("new=5", "new"),
        ("new=ten", "new"),
        ("new=-20", "new"),
        ("tier=7", "tier"),
        ("tier=one", "tier"),
        ("tag=" + "x" * 41, "tag"),
    ],
)
def test_a_board_view_it_cannot_show_is_said_naming_the_field_and_moves_nothing(settings, page_client, query, field):
    """The board used to clamp ``new`` and drop a bad tier or an over-long tag without a word."""
    for n in range(25):
        make_prospect(settings, name=f"Plumber {n}", tier=2)
    shown = page_client.get(f"/board?{query}")
    assert shown.status_code == 422
    assert f'<span class="board-status-text">{field}: ' in shown.text
    assert column(shown.text, "new").count('class="board-card"') == 20  # the default board, not a guess
    before = snapshot(settings)
    prospect_id = "plumber_0"
    name, value = query.split("=", 1)
    form = {"prospectId": prospect_id, "stage": "replied", "reason": "answered", name: value}
    moved = page_client.post("/board/move", data=form, headers={**FRAGMENT, "X-CSRF-Token": page_client.csrf})
    assert moved.status_code == 422 and moved.json()["field"] == field
    no_script = page_client.post("/board/move", data={**form, "csrf_token": page_client.csrf})
    assert no_script.status_code == 422 and f"{field}: " in no_script.text
    assert snapshot(settings) == before and stage_of(settings, prospect_id) == "new"


def test_the_largest_new_column_is_still_shown(settings, page_client):
    assert page_client.get("/board?new=500&tier=1").status_code == 200
    assert page_client.get("/board?new=&tier=&tag=").status_code == 200


def test_undo_moves_the_card_back_with_the_reason_undo(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co", tier=1)
    headers = {**FRAGMENT, "X-CSRF-Token": page_client.csrf}
    moved = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "replied", "reason": "answered",
                                                  "tier": "1"}, headers=headers)  # fmt: skip
    undo = re.search(
        r'<form method="post" action="/board/move" class="inline board-undo">(.*?)</form>', moved.text, re.S
    )
    assert undo and 'name="stage" value="new"' in undo.group(1) and 'name="tier" value="1"' in undo.group(1)
    back = page_client.post("/board/move", data={"prospectId": prospect.id, "stage": "new", "reason": "undo"},
                            headers=headers)  # fmt: skip
    assert back.status_code == 200 and "Undone: Royal Plumbing Co is back in New." in back.text
    assert "board-undo" not in back.text
    assert stage_of(settings, prospect.id) == "new"
    assert [(to, details["reason"]) for to, details, _ in timeline_moves(settings, prospect.id)][-2:] == [
        ("replied", "answered"), ("new", "undo")]  # fmt: skip
