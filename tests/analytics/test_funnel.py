"""The funnel counts real events: a prospect moved to "replied" by hand is shown as moved by hand,
not counted as having replied; one who replied is counted (SQLite and PostgreSQL)."""

from __future__ import annotations

from leadline import clock
from leadline.analytics.service import common
from leadline.analytics.service import dashboard as figures
from leadline.analytics.service.funnel import STATEMENT
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.models import EmailActivity
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from tests.analytics.conftest import add_rows, email_row, local, prospect_row

WEEK = "2025-W47"


def lines(board):  # (stage, count, moved by hand)
    return {s.stage: (s.count, s.moved_by_hand) for s in board.pipeline}


def test_a_move_by_hand_is_shown_apart_and_a_reply_is_counted(settings, cli):
    add_rows(settings, Prospect.__table__, [prospect_row(id=pid, tier=1) for pid in ("replier", "moved", "quiet")])
    sent = local("2025-11-17 08:30")
    rows = [email_row(pid, sent, id=f"email_{pid}", status="delivered") for pid in ("replier", "moved", "quiet")]
    add_rows(settings, EmailActivity.__table__, rows)
    clock.set_frozen(local("2025-11-18 14:00"))
    with unit_of_work(settings) as session:
        emails.record_reply(session, "email_replier", "Interested! Can we talk this week?", actor="test")
        prospects.move_stage(session, "moved", "replied", reason="said yes on the phone", actor="test")
    week = common.resolve_week(WEEK, settings)
    now = local("2025-11-20 16:00")
    with unit_of_work(settings, readonly=True) as session:
        board = figures.dashboard(session, week, settings=settings, now=now)
        states = {p.id: p.sales_status for p in session.query(Prospect)}
    assert (states["replier"], states["moved"]) == ("replied", "replied")  # both stand at replied today
    found = lines(board)
    assert found["new"] == (0, 0) and found["contacted"] == (3, 0)
    assert found["replied"] == (1, 1)  # the replier counts; the one moved by hand is shown apart
    assert found["scheduled"] == (0, 0)
    assert board.engagement.replied.count == 1  # the tile and the funnel agree
    assert board.pipeline_definition == STATEMENT

    # The CLI prints the line with the move by hand apart, and the definition under the funnel.
    text = cli("dashboard", "--week", WEEK).stdout
    assert "├─ Replied (replied to email): 1 (+1 moved by hand, not counted)" in text.splitlines()
    assert f"({STATEMENT})" in text.splitlines()
    data = cli("dashboard", "--week", WEEK, "--json").json
    replied = next(s for s in data["pipeline"] if s["stage"] == "replied")
    assert (replied["count"], replied["movedByHand"]) == (1, 1)
    assert data["pipelineDefinition"] == STATEMENT


def test_a_move_by_hand_past_several_stages_is_shown_on_each(settings):
    add_rows(settings, Prospect.__table__, [prospect_row(id="jumped", tier=2)])
    clock.set_frozen(local("2025-11-19 10:00"))
    with unit_of_work(settings) as session:
        prospects.move_stage(session, "jumped", "interested", reason="met at a trade fair", actor="test")
    week = common.resolve_week(WEEK, settings)
    with unit_of_work(settings, readonly=True) as session:
        board = figures.dashboard(session, week, settings=settings, now=local("2025-11-25 10:00"))
    found = lines(board)
    assert found["new"] == (1, 0)  # never emailed: still New, and moved by hand past Contacted
    for stage in ("contacted", "replied", "scheduled", "interested"):
        assert found[stage] == (0, 1), stage
    assert found["proposal"] == (0, 0) and found["closed_won"] == (0, 0)
