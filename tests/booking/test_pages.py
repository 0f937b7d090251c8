"""The public booking pages over HTTP, as a prospect's browser meets them: no sign-in, no script,
a form per step; every refusal is a page saying why with a 4xx, and changes nothing."""

from __future__ import annotations

import re

import pytest

from leadline.booking import links
from tests.booking.helpers import at, counts, fresh, prospect_with_link, set_up, slot_value
from tests.calls.helpers import book as book_by_hand
from tests.factories import tampered


def _book(anon_client, token: str, slot: str, **extra: str):
    return anon_client.post(f"/book/{token}", data={"slot": slot, "length": "30", **extra}, follow_redirects=False)


class TestBookingPage:
    def test_shows_free_times_in_the_prospects_zone_without_script(self, settings, anon_client):
        set_up(settings)
        _, token = prospect_with_link(settings)  # New York; the host works 09:00-12:00 Chicago
        page = anon_client.get(f"/book/{token}")
        assert page.status_code == 200
        assert "<script" not in page.text and "America/New_York" in page.text
        assert re.findall(r'value="(2026-12-08T[^"]+)"', page.text)[0] == "2026-12-08T15:00:00Z"
        assert ">10:00<" in page.text and ">09:00<" not in page.text  # 09:00 Chicago is 10:00 in New York

    def test_a_fresh_install_shows_the_default_hours(self, settings, anon_client):
        """One user who never set availability: the page offers Mon-Fri 09:00-17:00 (the configured zone)."""
        fresh(settings)
        _, token = prospect_with_link(settings, timezone="America/Chicago")
        page = anon_client.get(f"/book/{token}")
        assert page.status_code == 200 and "No times are open" not in page.text
        offered = re.findall(r'value="(2026-12-\d\dT[^"]+)"', page.text)
        assert offered[0] == "2026-12-07T18:00:00Z"  # Monday 12:00 Chicago: 4 hours' notice from 08:00
        assert "2026-12-08T15:00:00Z" in offered and "2026-12-08T22:30:00Z" in offered  # Tuesday 09:00 and 16:30
        assert ">16:30<" in page.text and ">17:00<" not in page.text
        assert counts(settings)["offers"] == 0

    def test_choosing_a_time_books_it_and_the_confirmation_moves_and_cancels_it(self, settings, anon_client):
        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        booked = _book(anon_client, token, slot_value(at("2026-12-08 10:00")), note="Gate code 1234")
        assert booked.status_code == 303
        manage = booked.headers["location"].split("?")[0]
        confirmation = anon_client.get(booked.headers["location"])
        assert "Your call is booked" in confirmation.text and "11:00" in confirmation.text
        assert f'href="{manage}/reschedule"' in confirmation.text and f'href="{manage}/cancel"' in confirmation.text
        ics = anon_client.get(f"{manage}/invite.ics")
        assert ics.headers["content-type"].startswith("text/calendar") and "METHOD:REQUEST" in ics.text
        assert "already" in anon_client.get(f"/book/{token}").text  # the link now leads to the booked call
        path = manage.removeprefix(settings.base_url)
        offered = anon_client.get(f"{path}/reschedule")
        assert "Move your call" in offered.text and slot_value(at("2026-12-08 10:00")) not in offered.text
        moved = anon_client.post(f"{path}/reschedule", data={"slot": slot_value(at("2026-12-10 09:00"))},
                                 follow_redirects=False)  # fmt: skip
        assert moved.status_code == 303
        assert "has moved" in anon_client.get(moved.headers["location"]).text
        assert "SEQUENCE:1" in anon_client.get(f"{path}/invite.ics").text
        assert "Cancel your call?" in anon_client.get(f"{path}/cancel").text
        cancelled = anon_client.post(f"{path}/cancel", data={"reason": "busy"}, follow_redirects=False)
        assert cancelled.status_code == 303
        assert "Your call is cancelled" in anon_client.get(cancelled.headers["location"]).text
        final = anon_client.get(f"{path}/invite.ics").text
        assert "METHOD:CANCEL" in final and "SEQUENCE:2" in final
        assert dict(counts(settings)["stages"])[prospect_id] == "scheduled"

    def test_a_time_taken_since_the_page_was_drawn(self, settings, anon_client):
        set_up(settings)
        other, _ = prospect_with_link(settings)
        _, token = prospect_with_link(settings)
        slot = slot_value(at("2026-12-08 10:00"))
        assert slot in anon_client.get(f"/book/{token}").text
        book_by_hand(settings, other, "2026-12-08 10:00")
        before = counts(settings)
        answer = _book(anon_client, token, slot)
        assert answer.status_code == 409 and "taken; pick another" in answer.text
        assert 'role="alert"' in answer.text and 'name="slot"' in answer.text  # the times to pick from again
        assert counts(settings) == before

    @pytest.mark.parametrize(
        ("form", "status", "words"),
        [
            ({"slot": "2026-12-08T18:00:00Z"}, 422, "not offered"),  # noon Chicago: after hours
            ({"slot": "not a time"}, 422, "pick one of the times"),
            ({"slot": ""}, 422, "pick a time"),
            ({"slot": "2026-12-08T16:00:00Z", "length": "45"}, 422, "not offered"),
            ({"slot": "2026-12-08T16:00:00Z", "length": "lots"}, 422, "call lengths"),
            ({"slot": "2026-12-08T16:00:00Z", "note": "x" * 1001}, 422, "longer than"),
            # Found by a review: "²" is a digit to str.isdigit and not to int (500); a year-9999 time
            # in a zone west of UTC is past the last moment Python holds (500).
            ({"slot": "2026-12-08T16:00:00Z", "length": "\u00b2"}, 422, "call lengths"),
            ({"slot": "2026-12-08T16:00:00Z", "length": "3" * 5000}, 422, "call lengths"),
            ({"slot": "9999-12-31T23:59:59-23:59"}, 422, "pick one of the times"),
            ({"slot": "0001-01-01T00:00:00+23:59"}, 422, "pick one of the times"),
        ],
    )
    def test_bad_input(self, settings, anon_client, form, status, words):
        set_up(settings)
        _, token = prospect_with_link(settings)
        before = counts(settings)
        answer = anon_client.post(f"/book/{token}", data={"length": "30", **form}, follow_redirects=False)
        assert answer.status_code == status and words in answer.text
        assert counts(settings) == before

    def test_a_length_no_page_offers_is_a_plain_refusal_with_any_link(self, settings, anon_client):
        """A made-up link with such a length was a 500 (the length was read first); now the link's own 404."""
        set_up(settings)
        _, token = prospect_with_link(settings)
        before = counts(settings)
        for length in ("\u00b2", "\u0663", "9" * 5000):
            answer = anon_client.post("/book/not-a-link", data={"slot": "x", "length": length})
            assert answer.status_code == 404 and "not valid" in answer.text
        for length in ("\u00b2", "9" * 1000):
            shown = anon_client.get(f"/book/{token}", params={"length": length})
            assert shown.status_code == 422 and "call lengths" in shown.text
        assert counts(settings) == before

    def test_a_file_sent_as_the_note_is_not_read_as_text(self, settings, anon_client):
        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        booked = anon_client.post(f"/book/{token}", data={"slot": slot_value(at("2026-12-08 10:00")), "length": "30"},
                                  files={"note": ("a.txt", b"gate code", "text/plain")}, follow_redirects=False)  # fmt: skip
        assert booked.status_code == 303
        from leadline.calls.models import CallActivity
        from leadline.db import unit_of_work

        with unit_of_work(settings, readonly=True) as session:
            (call,) = session.query(CallActivity).filter_by(prospect_id=prospect_id).all()
            assert "UploadFile" not in (call.notes or "") and "gate code" not in (call.notes or "")

    def test_a_far_out_time_to_move_to_is_refused(self, settings, anon_client):
        set_up(settings)
        _, token = prospect_with_link(settings)
        booked = _book(anon_client, token, slot_value(at("2026-12-08 10:00")))
        path = booked.headers["location"].split("?")[0].removeprefix(settings.base_url)
        before = counts(settings)
        for slot in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
            moved = anon_client.post(f"{path}/reschedule", data={"slot": slot}, follow_redirects=False)
            assert moved.status_code == 422 and "pick one of the times" in moved.text
        assert counts(settings) == before

    def test_tampered_expired_and_revoked_links(self, settings, anon_client):
        from datetime import timedelta

        from leadline import clock
        from leadline.booking import service
        from leadline.db import unit_of_work
        from tests.booking.helpers import NOW

        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        slot = slot_value(at("2026-12-08 10:00"))
        before = counts(settings)
        forged = tampered(token)
        for path in (f"/book/{forged}", "/book/manage/abc"):
            answer = anon_client.get(path)
            assert answer.status_code == 404 and "not valid" in answer.text
        assert _book(anon_client, forged, slot).status_code == 404
        with unit_of_work(settings) as session:
            service.revoke(session, prospect_id, sender=None, reason=None, actor="test")
        before = counts(settings)
        revoked = _book(anon_client, token, slot)
        assert revoked.status_code == 410 and "withdrawn" in revoked.text
        clock.set_frozen(NOW + links.MAX_AGE + timedelta(days=1))
        _, old = prospect_with_link(settings)
        clock.set_frozen(NOW + 2 * links.MAX_AGE + timedelta(days=2))
        expired = anon_client.get(f"/book/{old}")
        assert expired.status_code == 410 and "expired" in expired.text
        assert counts(settings) | {"stages": None} == before | {"stages": None}


class TestRateLimit:
    def test_each_client_gets_a_few_requests_a_minute_per_public_page(self, settings, anon_client):
        set_up(settings)
        _, token = prospect_with_link(settings)
        anon_client.app.state.settings.public_requests_per_minute = 3  # read per request
        answers = [anon_client.get(f"/book/{token}").status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        limited = anon_client.get(f"/book/{token}")
        assert int(limited.headers["retry-after"]) >= 1 and "too many requests" in limited.text
        # The unsubscribe page counts on its own, and is limited the same way.
        assert [anon_client.get("/unsubscribe/not-a-token").status_code for _ in range(4)] == [404, 404, 404, 429]
        assert anon_client.post("/unsubscribe/not-a-token").status_code == 429


class TestAvailabilityPage:
    def test_a_user_sets_their_hours_on_the_page(self, settings, signed_in):
        member = signed_in("member")
        shown = member.get("/settings/availability")
        assert shown.status_code == 200 and "mon 09:00-17:00" in shown.text and "Not set yet" in shown.text
        form = {"csrf_token": member.csrf, "weekly": "mon-wed 08:00-11:00\nfri 14:00-16:00", "timezone": "Europe/Paris",
                "lengths": "20, 40", "bufferBefore": "5", "bufferAfter": "5", "horizonDays": "10",
                "minNoticeMinutes": "60", "dailyMax": "4"}  # fmt: skip
        saved = member.post("/settings/availability", data=form, follow_redirects=False)
        assert saved.status_code == 303
        again = member.get("/api/availability").json()
        assert again["weekly"] == {"mon": ["08:00-11:00"], "tue": ["08:00-11:00"], "wed": ["08:00-11:00"],
                                   "fri": ["14:00-16:00"]}  # fmt: skip
        assert (again["lengths"], again["timezone"], again["dailyMax"]) == ([20, 40], "Europe/Paris", 4)

    def test_bad_hours_are_shown_beside_the_field_and_nothing_changes(self, settings, signed_in):
        member = signed_in("member")
        before = counts(settings)
        refused = member.post("/settings/availability", data={"csrf_token": member.csrf, "weekly": "mon 17:00-09:00",
                                                               "dailyMax": "0"})  # fmt: skip
        assert refused.status_code == 422 and "ends before it starts" in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert counts(settings) == before
        viewer = signed_in("viewer")
        assert (
            viewer.post("/settings/availability", data={"csrf_token": viewer.csrf, "dailyMax": "2"}).status_code == 403
        )
        assert counts(settings) == before
