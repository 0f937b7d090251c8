"""The dashboard page, its week picker, and the cheap "anything changed?" poll."""

from __future__ import annotations

import re

from leadline.analytics.service import dashboard as analytics
from leadline.calls import service as calls
from leadline.calls.schemas import CallLog
from leadline.db import unit_of_work
from leadline.emails import service as emails
from tests.factories import make_prospect
from tests.web.helpers import book_call, send_email


def metric(html: str, name: str) -> str:
    found = re.search(rf'data-metric="{name}">(.*?)</div>', html)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1))  # the figure, without the link to its list


def version_of(html: str) -> str:
    found = re.search(r'data-version="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def test_the_dashboard_shows_the_weeks_figures(settings, page_client):
    pid = make_prospect(settings, name="Dash Plumbing").id
    send_email(settings, pid)
    html = page_client.get("/").text
    assert metric(html, "prospects") == "1" and metric(html, "sent") == "1"
    assert metric(html, "opened") == "0%" and metric(html, "calls-completed") == "0"
    assert "Sales pipeline" in html and 'class="chart"' in html
    assert 'hx-trigger="every 3s"' in html
    last = page_client.get("/?week=last").text  # nothing was sent last week
    assert metric(last, "sent") == "0"


def test_a_bad_week_is_one_line_naming_the_field(page_client):
    response = page_client.get("/?week=someday")
    assert response.status_code == 422
    flash = re.findall(r'<p class="flash bad" role="status">([^<]*)</p>', response.text)
    assert len(flash) == 1 and flash[0].startswith("Week:")
    assert 'data-metric="sent"' in response.text  # this week is shown instead


def test_the_poll_answers_204_until_something_changes(settings, page_client):
    pid = make_prospect(settings, name="Poll Heating").id
    email_id = send_email(settings, pid)
    shown = version_of(page_client.get("/").text)
    quiet = page_client.get(f"/dashboard/live?v={shown}")
    assert quiet.status_code == 204 and quiet.content == b""
    assert page_client.get(f"/dashboard/live?v={shown}").status_code == 204

    with unit_of_work(settings) as session:  # a reply arrives
        emails.record_reply(session, email_id, "Sounds good, call me", actor="test")
    changed = page_client.get(f"/dashboard/live?v={shown}")
    assert changed.status_code == 200 and "<html" not in changed.text
    assert metric(changed.text, "replied") == "100%"
    newer = version_of(changed.text)
    assert newer != shown and page_client.get(f"/dashboard/live?v={newer}").status_code == 204

    with unit_of_work(settings) as session:  # a call is logged
        calls.log(session, CallLog.model_validate({"prospectId": pid, "outcome": "interested", "duration": "20m"}),
                  actor="test")  # fmt: skip
    logged = page_client.get(f"/dashboard/live?v={newer}")
    assert logged.status_code == 200 and metric(logged.text, "calls-completed") == "1"


def test_the_data_version_moves_with_every_kind_of_change(settings):
    def version() -> str:
        with unit_of_work(settings, readonly=True) as session:
            return analytics.data_version(session)

    first = version()
    assert version() == first  # reading changes nothing
    pid = make_prospect(settings, name="Version Roofing").id
    second = version()
    assert second != first
    send_email(settings, pid)
    third = version()
    assert third != second
    with unit_of_work(settings) as session:
        from leadline.prospects import service as prospects

        prospects.move_stage(session, pid, "interested", reason="by hand", actor="test")
    assert version() != third


def test_each_figure_links_to_the_list_of_exactly_what_it_counts(settings, page_client):
    import html as html_lib

    first = make_prospect(settings, name="Linked Plumbing").id
    second = make_prospect(settings, name="Other Plumbing").id
    send_email(settings, first)
    replied = send_email(settings, second)
    with unit_of_work(settings) as session:
        emails.record_reply(session, replied, "Sounds good, call me", actor="test")
    book_call(settings, second)
    board = page_client.get("/").text

    def follow(key: str) -> str:
        found = re.search(rf'<a href="([^"]+)" data-figure="{re.escape(key)}">([^<]*)</a>', board)
        assert found, key
        return page_client.get(html_lib.unescape(found.group(1))).text

    replies = follow("engagement.replied")
    assert "Other Plumbing" in replies and "Linked Plumbing" not in replies
    sent = follow("outreach.sent")
    assert "Other Plumbing" in sent and "Linked Plumbing" in sent  # sent: ever sent, replied to or not
    funnel = follow("pipeline.replied")
    assert "Other Plumbing" in funnel and "Linked Plumbing" not in funnel
    assert "data-prospect-filter" in funnel
    assert "No emails match." in follow("outreach.bounced")
    booked = follow("calls.scheduled")
    assert "data-call-filter" in booked and len(re.findall(r'<tr data-call="', booked)) == 1
    assert "No calls match." in follow("calls.completed")
    report = page_client.get("/reports?view=week").text
    assert 'data-figure="this.emails_sent"' in report and 'data-figure="pipeline.contacted"' in report
