"""The proposal page a prospect opens, in Chromium at phone size: axe finds nothing serious, nothing is
wider than the phone, it works without JavaScript (accept with a typed name and the box), the only
requests go to this server (the beacon included), and an old version's link says it was replaced.
Screenshots: test-artifacts/screenshots/proposal-*.png."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from leadline.db import unit_of_work
from leadline.proposals import flows
from leadline.proposals import service as proposals
from leadline.proposals.schemas import ProposalCreate, ProposalUpdate
from tests.factories import make_prospect, tampered
from tests.web.conftest import settle, shoot
from tests.web.test_browser_axe import SIZES, audit


def _sent(settings: Any, name: str) -> tuple[str, str, str]:
    p = make_prospect(settings, name=name, contact_name="Daniel Reyes", city="Austin")
    with unit_of_work(settings) as session:
        data = ProposalCreate.model_validate({"prospectId": p.id, "serviceType": "grid_health_analysis",
                                              "monthlyFee": 2400, "intro": "Thanks for your time on Tuesday."})  # fmt: skip
        proposal_id = proposals.create(session, data, actor="test").id
    sent = flows.send(settings, proposal_id, actor="test")
    return p.id, proposal_id, sent.url.rsplit("/p/", 1)[1]


def test_accept_on_a_phone_without_javascript(browser, live):
    prospect_id, proposal_id, token = _sent(live.settings, "Royal Plumbing Co")
    context = browser.new_context(base_url=live.url, viewport=SIZES["phone"], java_script_enabled=False,
                                  user_agent="Mozilla/5.0 (iPhone) test")  # fmt: skip
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        tab.goto(f"/p/{token}")
        assert tab.get_by_role("heading", name="Proposal for Royal Plumbing Co").count() == 1
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= SIZES["phone"]["width"]
        shoot(tab, "proposal-page")
        tab.get_by_label("Your full name").fill("Daniel Reyes")
        tab.get_by_role("button", name="Accept the proposal").click()
        assert "tick the box" in tab.get_by_role("alert").inner_text()
        shoot(tab, "proposal-refused")
        with unit_of_work(live.settings, readonly=True) as session:
            assert session.execute(text("SELECT count(*) FROM customers")).scalar_one() == 0
        tab.get_by_label("Your full name").fill("Daniel Reyes")
        tab.get_by_label("I accept this proposal").check()
        tab.get_by_role("button", name="Accept the proposal").click()
        tab.wait_for_url("**done=accepted")
        assert "Accepted by Daniel Reyes" in tab.locator("[data-accepted]").inner_text()
        shoot(tab, "proposal-accepted")
    finally:
        context.close()
    with unit_of_work(live.settings, readonly=True) as session:
        proposal = proposals.get(session, proposal_id)
        assert (proposal.status, proposal.signer_agent) == ("accepted", "Mozilla/5.0 (iPhone) test")
        fee = session.execute(text("SELECT monthly_fee FROM customers WHERE prospect_id = :p"),
                              {"p": prospect_id}).scalar_one()  # fmt: skip
        assert fee == 2400


def test_axe_phone_only_this_server_and_the_beacon(browser, live):
    _, proposal_id, token = _sent(live.settings, "Summit Electric Cooperative of the Hill Country Incorporated")
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live.url, viewport=viewport)
        context.set_default_timeout(10_000)
        tab = context.new_page()
        asked: list[str] = []
        tab.on("request", lambda request, asked=asked: asked.append(request.url))
        try:
            tab.goto(f"/p/{token}")
            settle(tab)
            assert audit(tab) == [], size
            if size == "phone":
                assert tab.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
            tab.get_by_text("Decline", exact=True).click()  # the details open
            assert tab.get_by_label("Why not? A few words help us").is_visible()
            assert audit(tab) == [], size
            tab.wait_for_timeout(1600)
            tab.goto("/healthz")  # leaving the page sends the beacon: how long it was open
        finally:
            context.close()
        assert asked and all(url.startswith(live.url) for url in asked), asked
    deadline = time.monotonic() + 10
    while True:
        with unit_of_work(live.settings, readonly=True) as session:
            seconds = session.execute(text("SELECT seconds FROM proposal_views WHERE proposal_id = :p"),
                                      {"p": proposal_id}).scalars().all()  # fmt: skip
        if (len(seconds) == 2 and min(seconds) >= 1) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(seconds) == 2 and min(seconds) >= 1, seconds


def test_an_old_link_says_it_was_replaced(browser, live):
    _, proposal_id, token = _sent(live.settings, "Baker Roofing")
    with unit_of_work(live.settings) as session:
        proposals.update(session, proposal_id, ProposalUpdate(monthly_fee=2100), actor="test")
    context = browser.new_context(base_url=live.url, viewport=SIZES["phone"], java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto(f"/p/{token}")
        assert "This version was replaced" in tab.locator("[data-replaced]").inner_text()
        assert tab.get_by_role("button", name="Accept the proposal").count() == 0
        shoot(tab, "proposal-replaced")
        tab.goto(f"/p/{tampered(token)}")
        assert tab.get_by_role("heading", name="This proposal link is not valid").count() == 1
        shoot(tab, "proposal-invalid-link")
    finally:
        context.close()
