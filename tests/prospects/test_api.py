"""`/api/prospects` through a real ASGI client, on both databases."""

from __future__ import annotations

import io

import pytest

from tests.factories import count, make_prospect, snapshot


class TestList:
    def test_pages_with_cursor_cover_everything_once(self, settings, client):
        for n in range(7):
            make_prospect(settings, name=f"Biz {n}", email=f"b{n}@x.com", grid_health=n * 10)
        seen, cursor = [], None
        while True:
            params = {"limit": 3, "sort": "-grid_health"} | ({"cursor": cursor} if cursor else {})
            body = client.get("/api/prospects", params=params).json()
            assert body["total"] == 7
            seen += [p["gridHealth"] for p in body["items"]]
            cursor = body["nextCursor"]
            if not cursor:
                break
        assert seen == [60, 50, 40, 30, 20, 10, 0]

    @pytest.mark.parametrize("sort", ["name", "-name"])
    def test_name_pages_with_cursor_past_a_non_ascii_capital(self, settings, client, sort):
        """The cursor lowers a name as the database's lower() does (SQLite's folds ASCII letters only):
        lowered otherwise, paging past "Émile A" skipped "Émile B", or returned it for ever."""
        names = ["Émile A", "Émile B", "émile C", "Zoë", "Ärzte", "alpha", "Ölwerk"]
        for n, name in enumerate(names):
            make_prospect(settings, name=name, email=f"n{n}@x.com")
        everything = client.get("/api/prospects", params={"limit": 50, "sort": sort}).json()["items"]
        seen, cursor = [], None
        for _ in range(len(names) + 1):
            params = {"limit": 1, "sort": sort} | ({"cursor": cursor} if cursor else {})
            body = client.get("/api/prospects", params=params).json()
            seen += [p["name"] for p in body["items"]]
            cursor = body["nextCursor"]
            if not cursor:
                break
        assert seen == [p["name"] for p in everything] and sorted(seen) == sorted(names)

    def test_page_numbers(self, settings, client):
        for n in range(5):
            make_prospect(settings, name=f"Biz {n}", email=f"b{n}@x.com")
        body = client.get("/api/prospects", params={"limit": 2, "page": 3, "sort": "name"}).json()
        assert [p["name"] for p in body["items"]] == ["Biz 4"]
        assert body["total"] == 5 and body["page"] == 3

    def test_filters(self, settings, client):
        make_prospect(settings, email="a@x.com", tier=1, trade="plumbing", grid_health=30, do_not_contact=True)
        make_prospect(settings, email="b@x.com", tier=2, trade="hvac", grid_health=70)

        def ids(**params):
            return [p["email"] for p in client.get("/api/prospects", params=params).json()["items"]]

        assert ids(tier=1) == ["a@x.com"]
        assert ids(trade="HVAC") == ["b@x.com"]
        assert ids(doNotContact="true") == ["a@x.com"]
        assert ids(gridHealthMin=50) == ["b@x.com"]
        assert ids(search="B@X") == ["b@x.com"]
        assert ids(doNotContact="false") == ["b@x.com"]

    def test_the_search_filter_reads_the_text_index_of_every_searchable_field(self, settings, client):
        """The list's search is the global search's index: name, contact, email, city, id and the phone's
        digits however the number was written; short terms too; a term found nowhere finds nothing."""
        make_prospect(settings, name="Royal Plumbing Co", email="office@royal.test", contact_name="Pat Núñez",
                      city="Austin", phone="(512) 555-0147")  # fmt: skip
        make_prospect(settings, name="Baker Roofing", email="hi@baker.test", city="Denver", phone="+1 303 555 9911")

        def names(term: str) -> list[str]:
            answer = client.get("/api/prospects", params={"search": term, "sort": "name"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["total"] == len(answer.json()["items"])
            return [p["name"] for p in answer.json()["items"]]

        assert names("plumb") == ["Royal Plumbing Co"]
        assert names("NÚÑEZ") == ["Royal Plumbing Co"]  # contact, any case
        assert names("denver") == ["Baker Roofing"]
        assert names("5120147") == []  # digits are searched as one run: the number's own digits
        assert names("5125550147") == ["Royal Plumbing Co"]
        assert names("555") == ["Baker Roofing", "Royal Plumbing Co"]
        assert names("ro") == ["Baker Roofing", "Royal Plumbing Co"]  # two characters: below the trigram index
        assert names("baker_roofing") == ["Baker Roofing"]  # the id
        assert names('"quoted" zq') == []

    def test_bad_parameters_name_the_field(self, client):
        response = client.get("/api/prospects", params={"tier": 9})
        assert response.status_code == 422 and response.json()["field"] == "tier"
        response = client.get("/api/prospects", params={"cursor": "garbage"})
        assert response.status_code == 422 and response.json()["field"] == "cursor"
        response = client.get("/api/prospects", params={"status": "won"})
        assert response.status_code == 422 and response.json()["field"] == "status"


class TestOne:
    def test_read_and_timeline(self, settings, client):
        p = make_prospect(settings, name="Royal Plumbing Co", email="d@royal.com")
        body = client.get(f"/api/prospects/{p.id}").json()
        assert body["id"] == "royal_plumbing_co" and body["salesStatus"] == "new" and body["emailsSentCount"] == 0
        assert [e["type"] for e in client.get(f"/api/prospects/{p.id}/timeline").json()] == ["created"]

    def test_not_found(self, client):
        response = client.get("/api/prospects/nobody")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "prospectId: no prospect with id 'nobody'",
                                   "field": "prospectId"}  # fmt: skip

    def test_create(self, client):
        response = client.post(
            "/api/prospects",
            json={
                "name": "Royal Plumbing Co",
                "email": "D@Royal.com",
                "gridHealth": 48,
                "tier": 1,
                "gaps": ["No booking"],
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["id"] == "royal_plumbing_co" and response.json()["email"] == "d@royal.com"

    def test_create_refuses_bad_input_and_changes_nothing(self, settings, client):
        make_prospect(settings, email="taken@x.com")
        before = snapshot(settings)
        bad = [
            ({"email": "x@y.com"}, 422, "name"),
            ({"name": "X", "tier": 0}, 422, "tier"),
            ({"name": "X", "gridHealth": "lots"}, 422, "gridHealth"),
            ({"name": "X", "favouriteColour": "blue"}, 422, "favouriteColour"),
            ({"name": "X", "email": "TAKEN@x.com"}, 409, "email"),
            ({"name": "X", "salesStatus": "closed_won"}, 409, "salesStatus"),
        ]
        for body, status, field in bad:
            response = client.post("/api/prospects", json=body)
            assert response.status_code == status, (body, response.text)
            assert response.json()["field"] == field, (body, response.json())
        response = client.post("/api/prospects", content=b"{not json", headers={"content-type": "application/json"})
        assert response.status_code == 422
        for kind in ("text/plain", "application/x-www-form-urlencoded"):  # not JSON: say what is wanted
            response = client.post("/api/prospects", content=b'{"name": "X"}', headers={"content-type": kind})
            assert response.status_code == 422 and response.json()["message"] == (
                "body: must be a JSON object, sent with Content-Type: application/json"
            ), response.text
        assert snapshot(settings) == before

    def test_patch(self, settings, client):
        p = make_prospect(settings, tier=3)
        response = client.patch(f"/api/prospects/{p.id}", json={"tier": 1, "notes": "Owner prefers texts"})
        assert response.status_code == 200 and response.json()["tier"] == 1
        before = snapshot(settings)
        response = client.patch(f"/api/prospects/{p.id}", json={"website": "no site"})
        assert response.status_code == 422 and response.json()["field"] == "website"
        assert snapshot(settings) == before

    def test_patch_stage_is_a_recorded_manual_move(self, settings, client):
        p = make_prospect(settings)
        response = client.patch(f"/api/prospects/{p.id}", json={"salesStatus": "interested", "stageReason": "expo"})
        assert response.status_code == 200
        timeline = client.get(f"/api/prospects/{p.id}/timeline").json()
        assert timeline[-1]["type"] == "stage_change" and timeline[-1]["details"]["reason"] == "expo"

    def test_stage_endpoint(self, settings, client):
        p = make_prospect(settings)
        response = client.post(f"/api/prospects/{p.id}/stage", json={"stage": "closed_lost", "reason": "no budget"})
        assert response.status_code == 200 and response.json()["lostReason"] == "no budget"


class TestFiles:
    def test_import_dry_run_then_real(self, settings, client):
        csv = b"Company,Email,Tier\nRoyal Plumbing Co,d@royal.com,1\nBad,not-an-email,1\n"
        files = {"file": ("p.csv", io.BytesIO(csv), "text/csv")}
        dry = client.post("/api/prospects/import", params={"dryRun": "true"}, files=files).json()
        assert (dry["created"], dry["rejected"], dry["dryRun"]) == (1, 1, True)
        assert dry["errors"][0]["line"] == 3 and dry["errors"][0]["column"] == "Email"
        assert count(settings, "prospects") == 0
        files = {"file": ("p.csv", io.BytesIO(csv), "text/csv")}
        refused = client.post("/api/prospects/import", files=files)
        assert refused.status_code == 422 and count(settings, "prospects") == 0
        files = {"file": ("p.csv", io.BytesIO(csv), "text/csv")}
        done = client.post("/api/prospects/import", params={"skipInvalid": "true"}, files=files).json()
        assert done["created"] == 1 and count(settings, "prospects") == 1

    def test_export_csv(self, settings, client):
        make_prospect(settings, name="=cmd|' /C calc'!A0", email="a@x.com")
        response = client.get("/api/prospects/export", params={"format": "csv"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "'=cmd|" in response.text


class TestService:
    def test_health_and_docs(self, client):
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/openapi.json").json()["info"]["title"] == "Leadline"
        assert client.get("/docs").status_code == 200

    def test_database_down_is_503(self, settings, tmp_path):
        from fastapi.testclient import TestClient

        from leadline.app import create_app
        from leadline.config import Settings

        down = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", data_dir=tmp_path)
        with TestClient(create_app(down), raise_server_exceptions=False) as client:
            assert client.get("/healthz").status_code == 503
            response = client.get("/api/prospects", headers={"Authorization": "Bearer ll_any"})
            assert response.status_code == 503 and response.json()["error"] == "unavailable"
            assert response.headers["retry-after"] == "30"
