"""One money format (issue 18, item 7): the reports page, the weekly report (text and its HTML file),
the forecast and the CLI write money as ``leadline.money.amount`` does, in the currency of the
settings: "$2,400/month", and "€2,400/month" once the currency is EUR (stored in the database, no
restart). Never a bare "2,400" nor "2,400/month"."""

from __future__ import annotations

import re

from leadline.db import unit_of_work
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from leadline.storedsettings import service as stored
from tests.conftest import run_leadline, settings_env
from tests.factories import make_prospect

BARE = re.compile(r"(?<![$€\d,.])\b2,400(?:/month)?\b")  # 2,400 with no currency before it


def _won_and_open(settings) -> None:
    """A deal won this week at 2,400 a month (new MRR, current MRR) and an open proposal worth 2,400."""
    won = make_prospect(settings, name="Royal Plumbing Co", sales_status="proposal")
    make_prospect(settings, name="Baker Roofing", deal_value=2400, sales_status="proposal")
    with unit_of_work(settings) as session:
        deals.won(session, DealWon(prospect_id=won.id, service_type="grid_health_analysis", monthly_fee=2400),
                  actor="test")  # fmt: skip


def _cli(settings, *args: str) -> str:
    done = run_leadline(*args, env=settings_env(settings))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_reports_and_the_weekly_report_write_money_with_the_currency(settings, page_client):
    _won_and_open(settings)
    week = page_client.get("/reports?view=week").text
    assert re.search(r"\$2,400/month", week), "the week's New MRR"
    forecast = page_client.get("/reports?view=forecast").text
    assert "$2,400/month" in forecast and "current MRR: <strong>$2,400/month</strong>" in forecast
    html_file = page_client.get("/api/reports/week?format=html").text
    assert "$2,400/month" in html_file
    text = _cli(settings, "report", "week")
    assert "New MRR: $2,400/month" in text
    assert "$2,400/month" in _cli(settings, "report", "week", "--format", "html")
    cli_forecast = _cli(settings, "analytics", "forecast")
    assert "current MRR: $2,400/month" in cli_forecast and "$2,400" in cli_forecast
    customers = _cli(settings, "customers", "list")
    assert "MRR $2,400/month" in customers
    for shown in (week, forecast, text, cli_forecast, customers):
        plain = re.sub(r"<[^>]+>", " ", shown)
        bare = BARE.search(plain)
        assert bare is None, f"money without its currency: {plain[max(0, bare.start() - 80) : bare.end() + 20]!r}"


def test_the_currency_from_the_settings_applies_without_a_restart(settings, page_client):
    _won_and_open(settings)
    with unit_of_work(settings) as session:
        stored.set_settings(session, {"currency": "EUR"}, actor="test")
    assert "€2,400/month" in page_client.get("/reports?view=week").text
    assert "current MRR: <strong>€2,400/month</strong>" in page_client.get("/reports?view=forecast").text
    assert "€2,400/month" in page_client.get("/api/reports/week?format=html").text
    assert "New MRR: €2,400/month" in _cli(settings, "report", "week")
    assert "current MRR: €2,400/month" in _cli(settings, "analytics", "forecast")
    timeline = _cli(settings, "prospects", "show", "royal_plumbing_co")
    assert "€2,400/month" in timeline and "deal_value" in timeline
