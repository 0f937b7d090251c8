"""Calls (/calls) over HTTP: the four lists, logging, booking, rescheduling, cancelling, no-shows."""

from __future__ import annotations

import re

import pytest

from leadline.web.pages.forms import label_of
from tests.factories import count, make_prospect, snapshot
from tests.web.helpers import ROLES, book_call, error_line, field_errors, stage_of


def section(html: str) -> str:
    found = re.search(r'<section aria-label="[^"]*calls" id="call-list">(.*?)</section>', html, re.S)
    assert found
    return found.group(1)


def read_call(settings, call_id: str) -> dict:
    from leadline.calls import service
    from leadline.db import unit_of_work

    with unit_of_work(settings, readonly=True) as session:
        return service.read(session, [service.get(session, call_id)])[0].model_dump()


@pytest.mark.parametrize("role", ROLES)
def test_the_lists_show_each_call_where_it_belongs_for_every_role(settings, signed_in, role):
    overdue = make_prospect(settings, name="Overdue Plumbing")
    upcoming = make_prospect(settings, name="Upcoming Roofing")
    book_call(settings, overdue.id, days=-0.001)  # a minute and a half ago: today (or just before), overdue
    book_call(settings, upcoming.id, days=3)
    browser = signed_in(role)
    lists = {tab: browser.get(f"/calls?tab={tab}") for tab in ("today", "upcoming", "overdue", "completed")}
    assert all(r.status_code == 200 for r in lists.values())
    assert "Overdue Plumbing" in section(lists["overdue"].text)
    assert "Upcoming Roofing" not in section(lists["overdue"].text)
    assert "Upcoming Roofing" in section(lists["upcoming"].text)
    assert "Overdue Plumbing" not in section(lists["upcoming"].text)
    assert "No calls logged yet." in section(lists["completed"].text)
    has_forms = 'action="/calls/log"' in lists["today"].text and 'action="/calls/book"' in lists["today"].text
    assert has_forms == (role != "viewer")


def test_anonymous_is_sent_to_sign_in(anon_client):
    for path in ("/calls", "/calls?tab=overdue", "/calls/call_x"):
        response = anon_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/calls")


def test_a_call_logged_on_the_form_is_stored_like_the_cli_stores_it(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co")
    booked = book_call(settings, prospect.id, days=-0.01)
    response = page_client.post("/calls/log", data={
        "csrf_token": page_client.csrf, "prospectId": prospect.id, "outcome": "interested", "duration": "25m",
        "objections": "How much will this cost?\nDo you have case studies?", "notes": "Very interested",
        "nextSteps": "Send ROI proposal",
    }, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/calls?tab=completed&done=logged"
    call = read_call(settings, booked)  # the booked call was completed, as `leadline calls log` does
    assert call["status"] == "completed" and call["outcome"] == "interested" and call["duration"] == 1500
    assert call["objections"] == ["How much will this cost?", "Do you have case studies?"]
    assert call["objection_categories"] == ["price", "proof"]
    assert stage_of(settings, prospect.id) == "interested"
    completed = page_client.get(response.headers["location"]).text
    assert "Call logged." in completed
    assert (
        "Royal Plumbing Co" in section(completed) and "How much will this cost?; Do you have case studies?" in completed
    )


def test_a_bad_log_form_names_the_field_keeps_the_input_and_changes_nothing(settings, page_client):
    prospect = make_prospect(settings)
    before = snapshot(settings)
    base = {"csrf_token": page_client.csrf, "prospectId": prospect.id, "notes": "kept as typed"}
    cases = [
        ({"outcome": ""}, "Outcome: is required"),
        ({"outcome": "interested", "duration": "forever"}, "Duration:"),
        ({"outcome": "closed_won"}, "Service type: is required for outcome closed_won"),
        ({"outcome": "interested", "lostReason": "price"}, "Why lost: is only for outcome not_interested"),
        ({"outcome": "interested", "completedAt": "2099-01-01T10:00"}, "Completed at: is in the future"),
        ({"outcome": "interested", "prospectId": "nobody"}, "Prospect: no prospect with id 'nobody'"),
    ]
    for extra, expected in cases:
        response = page_client.post("/calls/log", data={**base, **extra})
        assert response.status_code in (404, 422), (extra, response.status_code)
        line = error_line(response.text)
        assert line.startswith(expected), (extra, line)
        assert "\n" not in line
        beside = [label_of(name) for name in field_errors(response.text)]  # each input's own error, by its label
        assert expected.split(":")[0].capitalize() in [b.capitalize() for b in beside], (expected, beside)
        assert ">kept as typed</textarea>" in response.text
    assert snapshot(settings) == before


def test_book_reschedule_cancel_and_no_show(settings, page_client):
    prospect = make_prospect(settings, name="Baker Roofing")
    booked = page_client.post("/calls/book", data={"csrf_token": page_client.csrf, "prospectId": prospect.id,
                                                   "scheduledAt": "2099-03-02T15:00", "notes": "intro"},
                              follow_redirects=False)  # fmt: skip
    assert booked.status_code == 303
    upcoming = page_client.get(booked.headers["location"]).text
    assert "Call booked." in upcoming
    call_id = re.search(r'href="/calls/(call_[^"]+)"', section(upcoming)).group(1)
    assert stage_of(settings, prospect.id) == "scheduled"
    assert "Mon 2 Mar 2099 15:00" in upcoming  # shown in LEADLINE_TIMEZONE, as typed
    moved = page_client.post(f"/calls/{call_id}/reschedule", data={"csrf_token": page_client.csrf,
                             "scheduledAt": "2099-03-03T10:30", "reason": "asked"}, follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    assert "Call rescheduled." in page_client.get(moved.headers["location"]).text
    assert read_call(settings, call_id)["ics_sequence"] == 1
    before = snapshot(settings)
    too_soon = page_client.post(f"/calls/{call_id}/no-show", data={"csrf_token": page_client.csrf})
    assert too_soon.status_code == 409 and "still to come" in error_line(too_soon.text)
    past = page_client.post(f"/calls/{call_id}/reschedule", data={"csrf_token": page_client.csrf,
                            "scheduledAt": "2001-01-01T10:00"})  # fmt: skip
    assert past.status_code == 422 and error_line(past.text).startswith("When: Mon 1 Jan 2001 10:00 CST is in the past")
    assert snapshot(settings) == before
    cancelled = page_client.post(f"/calls/{call_id}/cancel", data={"csrf_token": page_client.csrf, "reason": "busy"},
                                 follow_redirects=False)  # fmt: skip
    assert cancelled.status_code == 303 and read_call(settings, call_id)["status"] == "cancelled"
    assert read_call(settings, call_id)["cancel_reason"] == "busy"


def test_a_missed_call_is_marked_no_show_with_a_task(settings, page_client):
    prospect = make_prospect(settings)
    call_id = book_call(settings, prospect.id, days=-0.01)
    tasks = count(settings, "tasks")
    response = page_client.post(f"/calls/{call_id}/no-show", data={"csrf_token": page_client.csrf, "notes": "no answer"},
                                follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    assert read_call(settings, call_id)["status"] == "no_show" and count(settings, "tasks") == tasks + 1
    assert "Marked as a no-show" in page_client.get(response.headers["location"]).text


def test_a_viewer_gets_403_on_every_post_and_no_csrf_token_is_403(settings, signed_in, page_client):
    prospect = make_prospect(settings)
    call_id = book_call(settings, prospect.id, days=1)
    before = snapshot(settings)
    posts = [("/calls/log", {"prospectId": prospect.id, "outcome": "interested"}),
             ("/calls/book", {"prospectId": prospect.id, "scheduledAt": "2099-01-01T10:00"}),
             (f"/calls/{call_id}/reschedule", {"scheduledAt": "2099-01-01T10:00"}),
             (f"/calls/{call_id}/cancel", {}), (f"/calls/{call_id}/no-show", {})]  # fmt: skip
    viewer = signed_in("viewer")
    for path, data in posts:
        assert viewer.post(path, data={**data, "csrf_token": viewer.csrf}).status_code == 403, path
    for path, data in posts:
        assert page_client.post(path, data=data).status_code == 403, path
    after = snapshot(settings)
    for table in ("call_activities", "prospects", "outreach_activities", "tasks"):
        assert after[table] == before[table]


def test_call_notes_and_objections_with_markup_are_shown_as_text(settings, page_client):
    prospect = make_prospect(settings, name="<img src=x onerror=alert(1)>")
    page_client.post("/calls/log", data={"csrf_token": page_client.csrf, "prospectId": prospect.id,
                                         "outcome": "follow_up", "notes": "<script>alert('notes')</script>",
                                         "objections": "<b>cost</b>"})  # fmt: skip
    html = page_client.get("/calls?tab=completed").text
    assert "<script>alert('notes')</script>" not in html and "<b>cost</b>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;notes&#39;)&lt;/script&gt;" in html and "&lt;b&gt;cost&lt;/b&gt;" in html
    call_id = re.search(r'href="/calls/(call_[^"]+)"', section(html)).group(1)
    detail = page_client.get(f"/calls/{call_id}").text
    assert "<script>alert('notes')</script>" not in detail and "&lt;img src=x" in detail


def test_an_unknown_tab_is_said_as_every_bad_filter_is(page_client):
    """It fell back to today's calls without a word (a 200)."""
    response = page_client.get("/calls", params={"tab": "banana"})
    assert response.status_code == 422
    assert error_line(response.text) == "Tab: 'banana' is not a tab (today, upcoming, overdue, completed)"
    assert page_client.get("/calls", params={"tab": "overdue"}).status_code == 200


def test_an_unknown_call_is_a_404_page(page_client):
    response = page_client.get("/calls/call_nothing")
    assert response.status_code == 404 and "no call with id" in response.text


def test_a_booked_call_is_logged_from_its_own_page(settings, signed_in, page_client):
    first = make_prospect(settings, name="Royal Plumbing Co")
    earlier = book_call(settings, first.id, days=-0.02)
    chosen = book_call(settings, first.id, days=-0.01)
    page = page_client.get(f"/calls/{chosen}").text
    assert f'<input type="hidden" name="callId" value="{chosen}">' in page
    before = snapshot(settings)
    refused = page_client.post("/calls/log", data={"csrf_token": page_client.csrf, "callId": chosen,
                                                   "outcome": "follow_up", "lostReason": "price"})  # fmt: skip
    assert refused.status_code == 422 and "<h1>Call with" in refused.text  # the call's page again
    assert error_line(refused.text) == "Why lost: is only for outcome not_interested"
    assert snapshot(settings) == before
    logged = page_client.post("/calls/log", data={"csrf_token": page_client.csrf, "callId": chosen,
                                                  "outcome": "follow_up", "followUpAt": "2099-01-05"},
                              follow_redirects=False)  # fmt: skip
    assert logged.status_code == 303 and logged.headers["location"] == f"/calls/{chosen}?done=logged"
    assert (
        read_call(settings, chosen)["status"] == "completed" and read_call(settings, earlier)["status"] == "scheduled"
    )
    viewer = signed_in("viewer")
    seen = viewer.get(f"/calls/{earlier}").text
    assert "Royal Plumbing Co" in seen and 'action="/calls/log"' not in seen and "/reschedule" not in seen
