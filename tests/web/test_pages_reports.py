"""Reports (/reports) over HTTP: the weekly report for a chosen week, templates, objections, forecast."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_prospect
from tests.web.helpers import ROLES, error_line


def log_call(settings, prospect_id: str, objections: list[str]) -> None:
    from leadline.calls import service
    from leadline.calls.schemas import CallLog
    from leadline.db import unit_of_work

    with unit_of_work(settings) as session:
        service.log(session, CallLog(prospect_id=prospect_id, outcome="interested", objections=objections),
                    actor="test")  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_every_view_renders_for_every_role(settings, signed_in, role):
    make_prospect(settings, name="Royal Plumbing Co", deal_value=2400, sales_status="proposal")
    browser = signed_in(role)
    week = browser.get("/reports?view=week&week=2026-W48")
    others = [browser.get(f"/reports?view={v}") for v in ("templates", "objections", "forecast")]
    assert week.status_code == 200 and all(r.status_code == 200 for r in others)
    assert "2026-W48 sales report" in week.text or "sales report" in week.text
    assert 'value="2026-W48"' in week.text
    assert 'href="/reports?view=week&amp;week=2026-W47"' in week.text  # the week before
    assert 'href="/api/reports/week?week=2026-W48&amp;format=csv"' in week.text
    assert "Sales pipeline" in week.text and '<svg class="chart"' in week.text


def test_anonymous_is_sent_to_sign_in(anon_client):
    response = anon_client.get("/reports?view=forecast", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/reports%3Fview%3Dforecast"


def test_a_bad_week_or_date_names_the_field(page_client):
    bad_week = page_client.get("/reports?week=next-tuesday")
    assert bad_week.status_code == 422 and error_line(bad_week.text).startswith("Week:")
    bad_day = page_client.get("/reports?view=templates&since=2026-13-01")
    assert bad_day.status_code == 422 and error_line(bad_day.text).startswith("Since: '2026-13-01' is not a date")
    backwards = page_client.get("/reports?view=templates&since=2026-11-10&until=2026-11-01")
    assert backwards.status_code == 422 and error_line(backwards.text) == "Until: must be after since"


def test_the_downloads_work_with_the_session_cookie(page_client):
    csv = page_client.get("/api/reports/week?week=2026-W48&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    html = page_client.get("/api/reports/week?week=2026-W48&format=html")
    assert html.status_code == 200 and "<main>" in html.text


def test_objections_and_forecast_show_the_analytics_figures(settings, page_client):
    first = make_prospect(settings, name="Royal Plumbing Co", deal_value=1000)
    second = make_prospect(settings, name="Baker Roofing", deal_value=3000)
    log_call(settings, first.id, ["How much will this cost?", "Too expensive"])
    log_call(settings, second.id, ["Do you have case studies?"])
    objections = page_client.get("/reports?view=objections").text
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", objections)
    assert sorted(rows) == [("Price / cost", "1"), ("Proof / case studies", "1")]
    assert "2 logged calls raised at least one objection." in objections
    forecast = page_client.get("/reports?view=forecast").text
    # Both prospects are at "Called" (interested, 35%): $4,000 a month, $1,400 weighted.
    called = re.search(r"<tr><td>Called</td>(.*?)</tr>", forecast).group(1)
    assert '<td class="num">$4,000</td>' in called and '<td class="num">$1,400</td>' in called


def test_next_weeks_targets_count_in_words(settings, page_client):
    """One deal is "1 deal" (the defaults: 50 emails, 3 calls, 1 deal), on the page and in the text report."""
    from leadline.analytics.render import report_text
    from leadline.analytics.service import common
    from leadline.analytics.service.report import weekly_report
    from leadline.db import unit_of_work

    week = page_client.get("/reports?view=week&week=2026-W48").text
    targets = " ".join(week.split("Next week's targets", 1)[1].split("</div>", 1)[0].split())
    assert targets.endswith("50 emails, 3 calls, 1 deal."), targets
    with unit_of_work(settings, readonly=True) as session:
        text = report_text(weekly_report(session, common.resolve_week("2026-W48", settings), settings=settings))
    assert "50 emails, 3 calls, 1 deal\n" in text
