"""``/api/availability`` and ``/api/booking``: set and read what a user offers, a prospect's link,
revoking it; bad input is a 4xx naming the field and changes nothing."""

from __future__ import annotations

from tests.booking.helpers import HOST, counts, later, prospect_with_link, set_up


class TestAvailability:
    def test_a_signed_in_user_sets_and_reads_their_own(self, settings, signed_in):
        member = signed_in("member")
        headers = {"X-CSRF-Token": member.csrf}
        assert member.get("/api/availability").json()["updatedAt"] is None  # the defaults
        answer = member.put("/api/availability", headers=headers, json={
            "timezone": "Europe/Paris", "weekly": "mon-thu 08:30-12:00", "lengths": [15, 45], "bufferAfter": 5,
            "horizonDays": 21, "minNoticeMinutes": 60, "dailyMax": 3})  # fmt: skip
        assert answer.status_code == 200, answer.text
        read = member.get("/api/availability").json()
        assert read["weekly"] == {d: ["08:30-12:00"] for d in ("mon", "tue", "wed", "thu")}
        assert (read["timezone"], read["lengths"], read["dailyMax"]) == ("Europe/Paris", [15, 45], 3)
        assert read["user"] == "member@example.com" and read["updatedBy"] == "user:member@example.com"

    def test_only_an_admin_sets_another_users(self, settings, signed_in):
        set_up(settings)
        member = signed_in("member")
        before = counts(settings)
        refused = member.put(
            f"/api/availability?user={HOST}", headers={"X-CSRF-Token": member.csrf}, json={"dailyMax": 1}
        )
        assert refused.status_code == 403 and refused.json()["field"] == "user"
        assert counts(settings) == before
        admin = signed_in("admin")
        assert admin.put(f"/api/availability?user={HOST}", headers={"X-CSRF-Token": admin.csrf},
                         json={"dailyMax": 1}).json()["dailyMax"] == 1  # fmt: skip

    def test_bad_input_names_the_field_and_changes_nothing(self, settings, client):
        set_up(settings)
        before = counts(settings)
        for body, field in (
            ({"weekly": "mon 17:00-09:00"}, "weekly"),
            ({"weekly": {"caturday": ["09:00-10:00"]}}, "weekly"),
            ({"lengths": [0]}, "lengths.0"),
            ({"lengths": []}, "lengths"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"dailyMax": 0}, "dailyMax"),
            ({"bufferBefore": -5}, "bufferBefore"),
            ({"colour": "blue"}, "colour"),
        ):
            answer = client.put(f"/api/availability?user={HOST}", json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["field"] == field, (body, answer.json())
        assert client.put("/api/availability", json={"dailyMax": 2}).json()["field"] == "user"  # a token is no user
        assert client.put("/api/availability?user=nobody@example.com", json={}).status_code == 404
        assert counts(settings) == before


class TestLinks:
    def test_a_prospects_link_opens_its_page_and_revoking_closes_it(self, settings, client, anon_client):
        set_up(settings)
        prospect_id, _ = prospect_with_link(settings)
        link = client.get(f"/api/booking/links/{prospect_id}").json()
        assert link["url"].startswith(f"{settings.base_url}/book/") and link["revokedAt"] is None
        path = link["url"].removeprefix(settings.base_url)
        assert anon_client.get(path).status_code == 200
        later(1)
        revoked = client.post("/api/booking/revoke", json={"prospectId": prospect_id, "reason": "asked us to stop"})
        assert revoked.status_code == 200 and revoked.json()["revokedAt"] and revoked.json()["url"] is None
        gone = anon_client.get(path)
        assert gone.status_code == 410 and "withdrawn" in gone.text

    def test_revoking_refuses_bad_input(self, settings, client):
        set_up(settings)
        prospect_id, _ = prospect_with_link(settings)
        before = counts(settings)
        assert client.post("/api/booking/revoke", json={"prospectId": "nobody"}).status_code == 404
        assert client.post("/api/booking/revoke", json={"prospectId": prospect_id, "reason": "a\nb"}).status_code == 422
        assert client.post("/api/booking/revoke", json={"prospect": prospect_id}).status_code == 422
        assert counts(settings) == before
