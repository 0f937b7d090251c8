"""Who may see and do what on the dashboard, prospects and emails pages."""

from __future__ import annotations

import pytest

from tests.factories import make_prospect, snapshot

READ_PAGES = ["/", "/dashboard/live", "/prospects", "/prospects?tier=1&sort=-name", "/prospects/{id}",
              "/prospects/{id}/email-preview?template=pain_point", "/emails", "/emails?status=sent"]  # fmt: skip
WRITE_PAGES = ["/prospects/import"]
POSTS = ["/prospects/import", "/prospects/import/mapping", "/prospects/import/confirm", "/prospects/{id}/edit",
         "/prospects/{id}/email", "/prospects/{id}/calls/book", "/prospects/{id}/calls/log", "/prospects/{id}/proposal",
         "/prospects/{id}/stage", "/prospects/{id}/won", "/prospects/{id}/lost"]  # fmt: skip
# A form that would change something if it were accepted.
FORM = {"name": "Changed", "tier": "2", "status": "active", "template": "pain_point", "scheduled_at": "2031-01-06T10:00",
        "outcome": "interested", "value": "900", "stage": "replied", "reason": "because", "service_type": "paid_ads",
        "monthly_fee": "900", "token": "x"}  # fmt: skip


def test_anonymous_browsers_are_sent_to_the_sign_in_page(anon_client, settings):
    pid = make_prospect(settings).id
    for path in READ_PAGES + WRITE_PAGES:
        url = path.format(id=pid)
        response = anon_client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login"), url
        if url != "/":
            assert "next=" + url.split("?")[0] in response.headers["location"]
    before = snapshot(settings)
    for path in POSTS:
        response = anon_client.post(path.format(id=pid), data=FORM, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    assert snapshot(settings) == before


def test_an_htmx_poll_without_a_session_is_told_to_reload_the_sign_in_page(anon_client):
    response = anon_client.get("/dashboard/live?v=abc", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_every_page_renders_for_each_role(settings, signed_in, role):
    pid = make_prospect(settings, name="Role Plumbing").id
    client = signed_in(role)
    for path in READ_PAGES:
        response = client.get(path.format(id=pid))
        assert response.status_code == 200, (path, response.text[:300])
    detail = client.get(f"/prospects/{pid}").text
    import_page = client.get("/prospects/import")
    listing = client.get("/prospects").text
    assert "Role Plumbing" in detail and "Role Plumbing" in listing
    if role == "viewer":  # sees everything, but no action forms
        assert import_page.status_code == 403
        assert f'action="/prospects/{pid}/' not in detail and "Import CSV" not in listing
        assert "<dt>Trade</dt><dd>plumbing</dd>" in detail
    else:
        assert import_page.status_code == 200
        for action in ("edit", "email", "calls/book", "calls/log", "proposal", "stage", "won", "lost"):
            assert f'action="/prospects/{pid}/{action}"' in detail


def test_a_viewer_may_not_post_anything(settings, signed_in):
    pid = make_prospect(settings).id
    client = signed_in("viewer")
    before = snapshot(settings)
    for path in POSTS:
        response = client.post(path.format(id=pid), data={**FORM, "csrf_token": client.csrf})
        assert response.status_code == 403, path
        assert "viewer" in response.json()["message"]
    assert snapshot(settings) == before


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(settings, page_client):
    pid = make_prospect(settings).id
    before = snapshot(settings)
    for path in POSTS:
        for token in (None, "wrong-token"):
            data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
            response = page_client.post(path.format(id=pid), data=data)
            assert response.status_code == 403, path
            assert "CSRF" in response.json()["message"]
    assert snapshot(settings) == before


def test_a_browser_gets_error_pages_and_the_api_json(settings, anon_client, page_client):
    """Pages answer a browser's bad request with an HTML page (one line, a way back); the API and
    HTMX requests keep the JSON error."""
    from tests.conftest import make_user, sign_in

    html = {"accept": "text/html,application/xhtml+xml"}
    missing = page_client.get("/prospects/no_such_shop", headers=html)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no_such_shop" in missing.text and "Traceback" not in missing.text
    bad = page_client.get("/calls?page=x", headers=html)
    assert bad.status_code == 422 and "<h1>Not understood</h1>" in bad.text
    sign_in(anon_client, make_user(settings, "viewer@example.com", "viewer"))
    forbidden = anon_client.get("/prospects/import", headers=html)
    assert forbidden.status_code == 403 and "<h1>Not allowed</h1>" in forbidden.text
    assert page_client.get("/api/prospects/no_such_shop", headers=html).json()["error"] == "not_found"
    fragment = page_client.get("/prospects/no_such_shop", headers={**html, "HX-Request": "true"})
    assert fragment.json()["error"] == "not_found"
