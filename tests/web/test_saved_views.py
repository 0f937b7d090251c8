"""Saved views (issue 18.3): a list page's filters under a name, private or shared, listed in the
navigation, in the API; opening one gives the same list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import make_prospect, snapshot


def test_save_list_and_remove_through_the_api(client, settings):
    saved = client.post("/api/views", json={"name": "Tier 1 roofers", "page": "prospects",
                                            "params": "?tier=1&trade=roofing&cursor=abc", "shared": True})  # fmt: skip
    assert saved.status_code == 201, saved.text
    view = saved.json()
    assert view["params"] == "tier=1&trade=roofing" and view["url"] == "/prospects?tier=1&trade=roofing"
    assert [v["name"] for v in client.get("/api/views", params={"page": "prospects"}).json()] == ["Tier 1 roofers"]
    assert client.get("/api/views", params={"page": "emails"}).json() == []
    before = snapshot(settings)
    for body, field in (
        ({"name": "Tier 1 roofers", "page": "prospects"}, "name"),  # yours already
        ({"name": "", "page": "prospects"}, "name"),
        ({"name": "x", "page": "planets"}, "page"),
        ({"name": "x", "page": "prospects", "params": "https://evil.example/?a=1"}, "params"),
        ({"name": "x", "page": "prospects", "params": "a" * 1001}, "params"),
    ):
        refused = client.post("/api/views", json=body)
        assert refused.status_code in (409, 422) and field in refused.text, (body, refused.text)
    assert snapshot(settings) == before
    assert client.delete(f"/api/views/{view['id']}").status_code == 204
    assert client.get("/api/views").json() == []
    assert client.delete(f"/api/views/{view['id']}").status_code == 404


def test_a_private_view_is_its_owners_and_a_shared_one_everyones(signed_in, settings):
    ann = signed_in("member", email="ann@example.com")
    bob = signed_in("member", email="bob@example.com")
    for name, shared in (("Mine only", ""), ("For the team", "on")):
        made = ann.post("/views", data={"csrf_token": ann.csrf, "name": name, "page": "emails",
                                        "query": "status=opened", "shared": shared}, follow_redirects=False)  # fmt: skip
        assert made.status_code == 303 and made.headers["location"] == "/emails?status=opened"
    assert "Mine only" in ann.get("/views").text and "For the team" in ann.get("/views").text
    bobs = bob.get("/views").text
    assert "For the team" in bobs and "Mine only" not in bobs
    assert '<a href="/views"' in bobs  # in the navigation


def test_save_the_filtered_list_in_the_browser_and_open_it_again(admin_page, live):
    make_prospect(live.settings, name="Delta HVAC", trade="hvac")
    make_prospect(live.settings, name="Cedar Roofing", trade="roofing")
    page = admin_page
    page.goto("/prospects")
    page.get_by_label("Search", exact=True).fill("cedar")  # htmx filters and changes the address
    page.wait_for_url("**/prospects?*search=cedar*")
    page.get_by_text("Save this view").click()
    page.get_by_label("Name").fill("Cedar")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/prospects?*search=cedar*")
    page.goto("/views")
    page.get_by_role("link", name="Cedar").click()
    page.wait_for_url("**/prospects?*search=cedar*")
    expect(page.locator("table.prospects tbody tr")).to_have_count(1)
