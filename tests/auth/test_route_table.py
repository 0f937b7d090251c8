"""Walks the whole route table: nothing answers an anonymous request except the short list of
open routes below, each of which has its own protection (a signature, a secret in the URL, or
nothing to protect). A new route is refused until it is either guarded or added here on purpose."""

from __future__ import annotations

import re

from tests.conftest import make_token, make_user, sign_in
from tests.factories import snapshot
from tests.routes import route_table

OPEN = {
    ("GET", "/healthz"),  # status only
    ("GET", "/openapi.json"),  # the API's description, no data
    ("GET", "/docs"),  # Swagger UI (vendored files; no OAuth2 redirect page: the API takes bearer tokens)
    ("MOUNT", "/static"),  # the stylesheet and scripts
    ("GET", "/favicon.ico"),  # a redirect to /static/favicon.svg
    ("GET", "/login"),
    ("POST", "/login"),  # its own double-submit CSRF token and throttling
    ("GET", "/set-password"),  # a one-time secret link
    ("POST", "/set-password"),
    ("GET", "/unsubscribe/{token}"),  # a signed token per recipient
    ("POST", "/unsubscribe/{token}"),
    ("POST", "/webhooks/sendgrid"),  # SendGrid's ECDSA signature
    ("POST", "/webhooks/sendgrid/inbound"),  # the inbound secret (query or path)
    ("POST", "/webhooks/sendgrid/inbound/{token}"),
    ("GET", "/calendar/{token}.ics"),  # a secret URL for calendar apps
    ("GET", "/book/{token}"),  # a prospect's booking page: a signed token per prospect and sender
    ("POST", "/book/{token}"),
    ("GET", "/book/manage/{token}"),  # a booked call's page: a signed token per booking
    ("GET", "/book/manage/{token}/reschedule"),
    ("POST", "/book/manage/{token}/reschedule"),
    ("GET", "/book/manage/{token}/cancel"),
    ("POST", "/book/manage/{token}/cancel"),
    ("GET", "/book/manage/{token}/invite.ics"),
    ("GET", "/p/{token}"),  # a proposal's private link (HMAC of the secret key; rate-limited)
    ("GET", "/p/{token}/pdf"),
    ("POST", "/p/{token}/accept"),
    ("POST", "/p/{token}/decline"),
    ("POST", "/p/{token}/views/{view_id}"),
    ("POST", "/webhooks/twilio/status"),  # Twilio's X-Twilio-Signature (HMAC-SHA1 with the auth token)
    ("POST", "/webhooks/twilio/sms"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def routes(test_client) -> list[tuple[str, str]]:
    return [(m, p) for m, p in route_table(test_client.app) if m != "MOUNT"]


def test_the_open_routes_are_exactly_the_listed_ones(anon_client):
    table = set(route_table(anon_client.app))
    assert table >= OPEN, f"listed as open but gone: {OPEN - table}"
    assert len(table) > 70


def test_every_other_route_refuses_an_anonymous_request(settings, anon_client):
    before = snapshot(settings)
    checked = 0
    for method, path in routes(anon_client):
        if (method, path) in OPEN:
            continue
        response = anon_client.request(method, concrete(path), follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
            assert response.json()["error"] == "unauthorized"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, path)
        checked += 1
    assert checked > 60
    assert snapshot(settings) == before


def test_the_open_routes_protect_themselves(anon_client):
    assert anon_client.post("/webhooks/sendgrid", content=b"[]").status_code in (401, 403)
    assert anon_client.post("/webhooks/sendgrid/inbound/wrong", data={"to": "x"}).status_code in (401, 403, 404)
    assert anon_client.get("/calendar/wrong.ics").status_code == 404
    assert anon_client.get("/book/wrong").status_code == 404
    assert anon_client.get("/book/manage/wrong").status_code == 404
    assert anon_client.post("/webhooks/twilio/sms", data={"Body": "STOP"}).status_code == 403
    assert anon_client.post("/webhooks/twilio/status", data={"MessageStatus": "failed"}).status_code == 403
    assert anon_client.get("/unsubscribe/wrong").status_code in (400, 404)
    assert anon_client.get("/p/wrong").status_code == 404
    assert anon_client.post("/p/wrong/accept", data={"name": "x", "agree": "yes"}).status_code in (404, 422)
    assert anon_client.get("/set-password?token=wrong").status_code == 400


def test_a_read_token_is_refused_every_change(settings, anon_client):
    headers = {"Authorization": f"Bearer {make_token(settings, scope='read')}"}
    before = snapshot(settings)
    for method, path in routes(anon_client):
        if method in UNSAFE and path.startswith("/api/"):
            response = anon_client.request(method, concrete(path), headers=headers)
            assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
    assert snapshot(settings) == before


def test_a_session_without_its_csrf_token_is_refused_every_change(settings, page_client):
    before = snapshot(settings)
    checked = 0
    for method, path in routes(page_client):
        if method in UNSAFE and (method, path) not in OPEN:
            response = page_client.request(method, concrete(path), headers={"X-CSRF-Token": "forged"},
                                           follow_redirects=False)  # fmt: skip
            assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
            checked += 1
    assert checked > 30
    assert snapshot(settings) == before


def test_a_viewer_is_refused_every_change_even_with_the_csrf_token(settings, anon_client):
    csrf = sign_in(anon_client, make_user(settings, "viewer@example.com", "viewer"))
    before = snapshot(settings)
    for method, path in routes(anon_client):
        if method in UNSAFE and (method, path) not in OPEN and path != "/logout":
            response = anon_client.request(method, concrete(path), headers={"X-CSRF-Token": csrf},
                                           follow_redirects=False)  # fmt: skip
            assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
    assert snapshot(settings) == before


def test_the_api_documents_how_to_authenticate(anon_client):
    document = anon_client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer" and schemes["APIKeyCookie"]["name"] == "leadline_session"
    guarded = [op for path, ops in document["paths"].items() if path.startswith("/api/") for op in ops.values()]
    assert guarded and all(op.get("security") for op in guarded)
    assert "/webhooks/sendgrid" in document["paths"] and not document["paths"]["/webhooks/sendgrid"]["post"].get(
        "security"
    )
    assert anon_client.get("/docs").status_code == 200
