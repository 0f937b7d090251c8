"""Settings (/settings) over HTTP: integration status without secrets, SendGrid URLs, users, tokens."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from pydantic import SecretStr

from leadline.config import Settings
from tests.conftest import make_user
from tests.factories import snapshot
from tests.web.helpers import ROLES, error_line

SECRETS = {
    "sendgrid_api_key": "SG.very-secret-api-key-value-123",
    "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/slacksecretvalue",
    "smtp_password": "smtp-password-secret-456",
    "inbound_secret": "inbound-secret-789xyz",
}


def configured(settings: Settings) -> Settings:
    """The test's settings with secrets in them (the same database)."""
    return settings.model_copy(update={
        **{name: SecretStr(value) for name, value in SECRETS.items()},
        "email_backend": "sendgrid", "notify_email": "boss@example.com",
        "sendgrid_webhook_public_key": ["MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpublickey"],
        "base_url": "https://crm.example.com", "cookie_secure": False,  # the test client speaks plain http
    })  # fmt: skip


def new_token(html: str) -> str:
    found = re.search(r'<code id="token-value">([^<]+)</code>', html)
    assert found, "no token shown"
    return html_lib.unescape(found.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_status_and_urls_for_everyone_and_no_secret_ever(settings, signed_in, role):
    response = signed_in(role, app_settings=configured(settings)).get("/settings")
    assert response.status_code == 200
    html = response.text
    for name in ("sendgrid_api_key", "slack_webhook_url", "smtp_password"):
        assert SECRETS[name] not in html, name
    assert settings.secret() not in html
    assert "SendGrid API key" in html and re.search(r"SendGrid API key</td><td><span class=\"badge ok\">set<", html)
    assert re.search(r"Slack webhook</td><td><span class=\"badge ok\">set<", html)
    assert "boss@example.com" in html and "set (1 key)" in html
    assert "<code>https://crm.example.com/webhooks/sendgrid</code>" in html
    inbound = "https://crm.example.com/webhooks/sendgrid/inbound/" + SECRETS["inbound_secret"]
    # The Inbound Parse URL is its secret: admins see it (to paste it into SendGrid), nobody else.
    assert (inbound in html) == (role == "admin")
    assert (SECRETS["inbound_secret"] in html) == (role == "admin")
    assert ('id="users"' in html and 'id="tokens"' in html) == (role == "admin")


def test_secrets_not_set_say_so(page_client):
    html = page_client.get("/settings").text
    assert re.search(r"SendGrid API key</td><td><span class=\"badge ok\">not set<", html)  # fine for the outbox
    assert re.search(r"Slack webhook</td><td><span class=\"badge warn\">not set<", html)
    assert "derived from the secret key" in html


def test_anonymous_is_sent_to_sign_in(anon_client):
    response = anon_client.get("/settings", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/settings"


def test_a_token_made_on_the_page_is_shown_once_works_and_stops_when_revoked(page_client, anon_client):
    response = page_client.post("/settings/tokens", data={"csrf_token": page_client.csrf, "name": "zapier",
                                                          "scope": "write"})  # fmt: skip
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    token = new_token(response.text)
    assert token.startswith("ll_")
    me = anon_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json() == {"kind": "token", "name": "zapier", "role": "member",
                                                   "canWrite": True}  # fmt: skip
    listing = page_client.get("/settings").text
    assert token not in listing and 'data-token="zapier"' in listing and f"<code>{token[:9]}…</code>" in listing
    token_id = re.search(r'<tr data-token="zapier">.*?name="id" value="([^"]+)"', listing, re.S).group(1)
    revoked = page_client.post("/settings/tokens/revoke", data={"csrf_token": page_client.csrf, "id": token_id},
                               follow_redirects=False)  # fmt: skip
    assert revoked.status_code == 303
    assert "Token revoked." in page_client.get(revoked.headers["location"]).text
    assert anon_client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_bad_token_and_user_forms_name_the_field_and_change_nothing(settings, page_client):
    page_client.post("/settings/tokens", data={"csrf_token": page_client.csrf, "name": "taken", "scope": "read"})
    before = snapshot(settings)
    cases = [
        ("/settings/tokens", {"name": "", "scope": "read"}, 422, "Name: a token needs a name of 1 to 100 characters"),
        ("/settings/tokens", {"name": "x", "scope": "admin"}, 422, "Scope: unknown scope 'admin': use read or write"),
        ("/settings/tokens", {"name": "taken", "scope": "read"}, 409, "Name: a token named 'taken' exists"),
        ("/settings/users", {"email": "not an address", "role": "member"}, 422, "Email: not an e-mail address"),
        ("/settings/users", {"email": "new@example.com", "role": "boss"}, 422, "Role: unknown role 'boss'"),
        ("/settings/users", {"email": "admin@example.com", "role": "member"}, 409,
         "Email: a user admin@example.com already exists"),
    ]  # fmt: skip
    for path, data, status, expected in cases:
        response = page_client.post(path, data={**data, "csrf_token": page_client.csrf})
        assert response.status_code == status, (data, response.status_code)
        assert error_line(response.text).startswith(expected), (data, error_line(response.text))
        assert 'id="token-value"' not in response.text
    assert snapshot(settings) == before


def test_users_added_with_a_link_role_changed_removed_and_the_last_admin_kept(settings, page_client):
    added = page_client.post("/settings/users", data={"csrf_token": page_client.csrf, "email": "Sam@Example.com",
                                                      "role": "viewer"})  # fmt: skip
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    link = html_lib.unescape(re.search(r'<code id="link-value">([^<]+)</code>', added.text).group(1))
    assert link.startswith(f"{settings.base_url}/set-password?token=")
    assert 'data-user="sam@example.com"' in added.text
    assert "sam@example.com" in page_client.get(link.removeprefix(settings.base_url)).text  # the link works
    assert link not in page_client.get("/settings").text  # shown once
    changed = page_client.post("/settings/users/role", data={"csrf_token": page_client.csrf,
                               "email": "sam@example.com", "role": "member"}, follow_redirects=False)  # fmt: skip
    assert changed.status_code == 303
    assert re.search(r'data-user="sam@example.com">.*?<option value="member" selected>', page_client.get("/settings").text,
                     re.S)  # fmt: skip
    before = snapshot(settings)
    last = page_client.post("/settings/users/remove", data={"csrf_token": page_client.csrf,
                                                            "email": "admin@example.com"})  # fmt: skip
    assert last.status_code == 409
    assert error_line(last.text) == "Email: admin@example.com is the last admin; make someone else admin first"
    demote = page_client.post("/settings/users/role", data={"csrf_token": page_client.csrf,
                              "email": "admin@example.com", "role": "viewer"})  # fmt: skip
    assert demote.status_code == 409 and "is the last admin" in error_line(demote.text)
    assert snapshot(settings) == before
    removed = page_client.post("/settings/users/remove", data={"csrf_token": page_client.csrf,
                               "email": "sam@example.com"}, follow_redirects=False)  # fmt: skip
    assert removed.status_code == 303
    assert 'data-user="sam@example.com"' not in page_client.get("/settings").text


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_management_is_for_admins_and_needs_the_csrf_token(settings, signed_in, page_client, role):
    make_user(settings, "other@example.com", "member")
    before = snapshot(settings)
    posts = [("/settings/tokens", {"name": "mine", "scope": "write"}),
             ("/settings/tokens/revoke", {"id": "tok_x"}),
             ("/settings/users", {"email": "x@example.com", "role": "admin"}),
             ("/settings/users/role", {"email": "other@example.com", "role": "admin"}),
             ("/settings/users/remove", {"email": "other@example.com"})]  # fmt: skip
    browser = signed_in(role)
    for path, data in posts:
        response = browser.post(path, data={**data, "csrf_token": browser.csrf})
        assert response.status_code == 403, path
    for path, data in posts:
        assert page_client.post(path, data=data).status_code == 403, path
    after = snapshot(settings)
    assert len(after["users"]) == len(before["users"]) + 1  # the one signed in here, nothing else
    assert [row for row in after["users"] if "other@example.com" in row[1]] == [
        row for row in before["users"] if "other@example.com" in row[1]
    ]
    assert after["api_tokens"] == before["api_tokens"]


def test_names_with_markup_are_shown_as_text(page_client):
    page_client.post("/settings/tokens", data={"csrf_token": page_client.csrf, "name": "<script>alert(1)</script>",
                                               "scope": "read"})  # fmt: skip
    html = page_client.get("/settings").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- settings kept in the database (targets, sending, sales rules, digest) -----------------------


def test_settings_page_shows_kept_settings_to_everyone_but_only_admins_change_them(signed_in, settings):
    viewer, member = signed_in("viewer"), signed_in("member")
    page = viewer.get("/settings")
    assert page.status_code == 200 and 'data-setting="dailySendLimit"' in page.text
    assert "Only an admin can change these." in page.text
    before = snapshot(settings)
    for client in (viewer, member):
        refused = client.post("/settings/values", data={"csrf_token": client.csrf, "group": "Sending",
                                                         "dailySendLimit": "9"})  # fmt: skip
        assert refused.status_code == 403
    assert snapshot(settings) == before


def test_admin_changes_a_group_and_bad_values_are_refused_naming_the_field(page_client, settings):
    before = snapshot(settings)
    refused = page_client.post("/settings/values", data={
        "csrf_token": page_client.csrf, "group": "Sending", "dailySendLimit": "12", "sendWindowStart": "25:00",
        "sendWindowEnd": "17:00", "sendWindowDays": "mon, tue"})  # fmt: skip
    assert refused.status_code == 422
    assert error_line(refused.text).startswith("Send window start: '25:00' is not a time of day")
    assert 'value="25:00"' in refused.text  # what was typed stays in the form
    assert snapshot(settings) == before
    cleared = page_client.post("/settings/values", data={"csrf_token": page_client.csrf, "group": "Sending",
                                                        "dailySendLimit": ""})  # fmt: skip
    assert cleared.status_code == 422 and error_line(cleared.text).startswith("Daily send limit:")
    assert snapshot(settings) == before
    saved = page_client.post("/settings/values", data={
        "csrf_token": page_client.csrf, "group": "Sending", "dailySendLimit": "12", "sendWindowStart": "08:00",
        "sendWindowEnd": "17:00", "sendWindowDays": "mon, tue, wed, thu, fri"})  # fmt: skip
    assert saved.status_code == 200 and "Daily send cap: 50 → 12" in html_lib.unescape(saved.text)
    assert "Send window" not in html_lib.unescape(saved.text).split("Saved.")[1].split("</p>")[0]  # unchanged ones
    fresh = Settings(database_url=settings.database_url, data_dir=settings.data_dir, _env_file=None)
    from leadline.db import unit_of_work

    with unit_of_work(fresh, readonly=True):
        assert fresh.daily_send_limit == 12
    assert "changed by user:admin@example.com" in page_client.get("/settings").text


def test_a_setting_from_the_environment_is_shown_so_and_cannot_be_changed(signed_in, settings):
    env_set = settings.model_copy(update={"daily_send_limit": 5})
    admin = signed_in("admin", app_settings=env_set)
    page = admin.get("/settings").text
    field = page.split('data-setting="dailySendLimit"')[1].split("</label>")[0]
    assert "set by the environment (LEADLINE_DAILY_SEND_LIMIT)" in field and "disabled" in field
    before = snapshot(settings)
    refused = admin.post("/settings/values", data={"csrf_token": admin.csrf, "group": "Sending",
                                                    "dailySendLimit": "9"})  # fmt: skip
    assert refused.status_code == 409
    assert error_line(refused.text).startswith("Daily send limit: is set by the environment")
    assert snapshot(settings) == before
