"""`/api/calls`, `/api/objections` and `/calendar/{token}.ics` through a real ASGI client."""

from __future__ import annotations

import icalendar
import pytest

from leadline.calls import calendar
from tests.calls.helpers import SEED_NEXT, SEED_NOTES, SEED_OBJECTIONS, book, freeze, local, prospect
from tests.factories import make_prospect, snapshot

SEED_BODY = {
    "duration": 1500,
    "notes": SEED_NOTES,
    "objections": SEED_OBJECTIONS,
    "outcome": "interested",
    "nextSteps": SEED_NEXT,
}


class TestPostCalls:
    def test_the_seeds_body_logs_a_call_and_the_cli_sees_it(self, settings, client, cli):
        freeze("2025-11-21 15:25")
        p = make_prospect(settings, name="Royal Plumbing Co", sales_status="replied")
        response = client.post("/api/calls", json={"prospectId": p.id, **SEED_BODY})
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["outcome"], body["salesStatus"]) == (
            "completed",
            "interested",
            "interested",
        )
        assert (body["duration"], body["objections"], body["nextSteps"]) == (1500, SEED_OBJECTIONS, SEED_NEXT)
        assert body["objectionCategories"] == ["price", "proof", "timeline"]
        assert body["scheduledAt"] == "2025-11-21T21:00:00Z" and body["completedAt"] == "2025-11-21T21:25:00Z"
        assert body["task"]["title"] == SEED_NEXT and body["task"]["dueAt"] == "2025-11-25T15:00:00Z"
        shown = cli("calls", "show", body["id"], "--json").json
        assert shown == client.get(f"/api/calls/{body['id']}").json()
        assert {k: shown[k] for k in ("duration", "notes", "objections", "outcome", "nextSteps")} == SEED_BODY
        after = prospect(settings, p.id)
        assert (after.calls_scheduled_count, after.calls_completed_count) == (1, 1)

    def test_scheduled_at_books_and_patch_completes(self, settings, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        booked = client.post("/api/calls", json={"prospectId": p.id, "scheduledAt": "2025-11-21 15:00"})
        assert booked.status_code == 201, booked.text
        call = booked.json()
        assert (call["status"], call["outcome"], call["salesStatus"]) == ("scheduled", "pending", "scheduled")
        assert call["scheduledAt"] == "2025-11-21T21:00:00Z"
        offset = client.post("/api/calls", json={"prospectId": p.id, "scheduledAt": "2025-11-22T18:00:00Z"})
        assert offset.json()["scheduledAt"] == "2025-11-22T18:00:00Z"
        freeze("2025-11-21 15:30")
        done = client.patch(
            f"/api/calls/{call['id']}",
            json={"outcome": "proposal_sent", "duration": "28m", "objections": ["cost"], "recordingUrl": "rec.example.com/1"},
        )  # fmt: skip
        assert done.status_code == 200, done.text
        data = done.json()
        assert (data["status"], data["salesStatus"], data["duration"]) == ("completed", "proposal", 1680)
        assert data["recordingUrl"] == "https://rec.example.com/1"
        fixed = client.patch(f"/api/calls/{call['id']}", json={"notes": "sent the proposal"})
        assert fixed.status_code == 200 and fixed.json()["notes"] == "sent the proposal"
        refused = client.patch(f"/api/calls/{call['id']}", json={"outcome": "closed_won"})
        assert refused.status_code == 409 and refused.json()["field"] == "outcome"

    def test_reschedule_cancel_no_show(self, settings, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        one = book(settings, p.id, "2025-11-18 10:00")
        two = book(settings, p.id, "2025-11-19 10:00")
        moved = client.post(f"/api/calls/{two}/reschedule", json={"scheduledAt": "2025-11-20 10:00", "reason": "x"})
        assert moved.status_code == 200 and moved.json()["icsSequence"] == 1
        assert client.post(f"/api/calls/{one}/no-show").status_code == 409  # still to come
        freeze("2025-11-18 11:00")
        missed = client.post(f"/api/calls/{one}/no-show", json={"notes": "no answer"})
        assert missed.status_code == 200 and missed.json()["task"]["kind"] == "follow_up"
        cancelled = client.post(f"/api/calls/{two}/cancel", json={"reason": "budget"})
        assert cancelled.status_code == 200 and cancelled.json()["cancelReason"] == "budget"
        assert client.post(f"/api/calls/{two}/cancel").status_code == 409
        listed = client.get("/api/calls", params={"status": "no_show"}).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == one

    def test_list_filters(self, settings, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co")
        today = book(settings, p.id, "2025-11-18 23:30")  # 05:30 UTC tomorrow, but today in Chicago
        later = book(settings, p.id, "2025-11-19 09:00")
        ids = lambda **q: [c["id"] for c in client.get("/api/calls", params=q).json()["items"]]  # noqa: E731
        assert ids(today="true") == [today]
        assert ids(status="pending") == [today, later]
        assert ids(status="overdue") == []
        assert client.get("/api/calls", params={"status": "pending"}).json()["items"][0]["prospectName"] == (
            "Royal Plumbing Co"
        )
        assert ids(prospectId="nobody") == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"outcome": "maybe"}, 422, "outcome"),
            ({"outcome": "pending"}, 422, "outcome"),
            ({"scheduledAt": "2025-11-17 15:00"}, 422, "scheduledAt"),
            ({"scheduledAt": "2026-03-08 02:30"}, 422, "scheduledAt"),
            ({"scheduledAt": "not a time"}, 422, "scheduledAt"),
            ({"outcome": "interested", "duration": -60}, 422, "duration"),
            ({"outcome": "interested", "duration": "-1m"}, 422, "duration"),
            ({"outcome": "interested", "duration": 50000}, 422, "duration"),
            ({"outcome": "interested", "prospectId": "nobody"}, 404, "prospectId"),
            ({"scheduledAt": "2025-11-21 15:00", "prospectId": "nobody"}, 404, "prospectId"),
            ({"outcome": "interested", "surprise": 1}, 422, "surprise"),
            ({"outcome": "interested", "objections": [1, 2]}, 422, "objections"),
            ({"outcome": "interested", "recordingUrl": "not a url"}, 422, "recordingUrl"),
            ({"outcome": "closed_won"}, 422, "serviceType"),
            ({"outcome": "closed_won", "serviceType": "seo", "monthlyFee": 10}, 422, "serviceType"),
            ({}, 422, "scheduledAt"),
            ({"duration": 1500, "notes": "no outcome"}, 422, "outcome"),
        ],
    )
    def test_refused_naming_the_field_and_nothing_changes(self, settings, client, body, status, field):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        before = snapshot(settings)
        response = client.post("/api/calls", json={"prospectId": p.id} | body)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
        assert snapshot(settings) == before

    def test_unknown_call(self, client):
        assert client.get("/api/calls/call_nope").json()["field"] == "callId"
        assert client.patch("/api/calls/call_nope", json={"notes": "x"}).status_code == 404


class TestObjections:
    def test_summary(self, settings, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        client.post("/api/calls", json={"prospectId": p.id, **SEED_BODY})
        data = client.get("/api/objections").json()
        assert {d["category"]: (d["count"], d["label"]) for d in data} == {
            "price": (1, "Price / cost"), "proof": (1, "Proof / case studies"), "timeline": (1, "Timeline"),
        }  # fmt: skip


class TestCalendarFeed:
    def test_the_secret_url_serves_the_feed(self, client, settings):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes")
        call_id = book(settings, p.id, "2025-11-21 15:00")
        freeze("2025-11-21 15:30")
        logged = client.post("/api/calls", json={"prospectId": p.id, **SEED_BODY})  # completes the booked call
        assert logged.json()["id"] == call_id, logged.text
        token = calendar.token(settings)
        response = client.get(f"/calendar/{token}.ics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
        assert str(event["UID"]) == f"{call_id}@leadline"
        assert event.decoded("DTSTART") == local("2025-11-21 15:00")
        assert event.decoded("DTEND") == local("2025-11-21 15:25")  # the real 25 minutes
        assert "Objections: How much will this cost?" in str(event["DESCRIPTION"])
        assert int(event["SEQUENCE"]) == 1

    def test_a_wrong_token_is_not_found(self, client, settings):
        token = calendar.token(settings)
        assert client.get(f"/calendar/{'0' * 32}.ics").status_code == 404
        assert client.get(f"/calendar/{token[:-1]}.ics").status_code == 404
        assert client.get(f"/calendar/{token}").status_code == 404
