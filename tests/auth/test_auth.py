"""Accounts, sign-in, sessions, CSRF, roles and API tokens, through the CLI and over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from leadline import clock
from leadline.auth.models import ApiToken, LoginThrottle, User, WebSession
from leadline.db import unit_of_work
from tests.conftest import PASSWORD, make_token, make_user, session_csrf, sign_in
from tests.factories import count, make_prospect, snapshot

NEW = {"name": "Acme Plumbing", "email": "jo@acmeplumbing.com", "trade": "plumbing"}


def login_form(test_client, **fields):
    page = test_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return test_client.post("/login", data={"csrf_token": token, **fields}, follow_redirects=False)


class TestUsersCli:
    def test_add_with_a_password_then_sign_in(self, settings, cli, anon_client):
        result = cli("users", "add", "Ann@Example.com", "--role", "viewer", "--password-stdin", input=PASSWORD + "\n")
        assert result.exit_code == 0, result.stderr
        assert "Added ann@example.com (viewer)." in result.stdout
        listed = cli("users", "list", "--json").json
        assert [(u["email"], u["role"], u["hasPassword"]) for u in listed] == [("ann@example.com", "viewer", True)]
        with unit_of_work(settings, readonly=True) as session:
            stored = session.scalar(select(User.password_hash))
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert login_form(anon_client, email="ann@example.com", password=PASSWORD).status_code == 303

    def test_without_a_password_prints_a_one_time_link(self, cli, anon_client):
        result = cli("users", "add", "bo@example.com", "--link")
        assert result.exit_code == 0
        link = re.search(r"http://127\.0\.0\.1:8000(/set-password\?token=\S+)", result.stdout).group(1)
        form = anon_client.get(link)
        assert form.status_code == 200 and "bo@example.com" in form.text
        login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        token = link.split("token=")[1]
        data = {"token": token, "password": PASSWORD, "confirm": PASSWORD, "csrf_token": login_csrf}
        done = anon_client.post("/set-password", data=data, follow_redirects=False)
        assert done.status_code == 303 and anon_client.cookies.get("leadline_session")
        assert anon_client.get("/api/me").json()["name"] == "bo@example.com"
        # The link works once.
        again = anon_client.post("/set-password", data=data, follow_redirects=False)
        assert again.status_code == 400 and "not valid" in again.text

    @pytest.mark.parametrize(
        ("args", "stdin", "message"),
        [
            (["users", "add", "not-an-address", "--password-stdin"], PASSWORD, "not an e-mail address"),
            (["users", "add", "a@example.com", "--password-stdin"], "short", "at least 10 characters"),
            (["users", "add", "a@example.com", "--role", "boss", "--link"], None, "boss"),
            (["users", "role", "nobody@example.com", "viewer"], None, "no user"),
            (["users", "unlock", "nobody@example.com"], None, "no user"),
            (["users", "remove", "admin@example.com"], None, "last admin"),
            (["users", "role", "admin@example.com", "member"], None, "last admin"),
            (["users", "add", "ADMIN@example.com", "--link"], None, "already exists"),
        ],
    )
    def test_bad_input_is_one_line_and_changes_nothing(self, cli, settings, args, stdin, message):
        make_user(settings)
        before = snapshot(settings)
        result = cli(*args, input=stdin + "\n" if stdin else None)
        assert result.exit_code != 0
        assert message in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert snapshot(settings) == before

    def test_a_new_password_signs_every_browser_out(self, cli, settings, page_client):
        assert page_client.get("/api/me").status_code == 200
        result = cli("users", "set-password", "admin@example.com", "--password-stdin", input="another long password\n")
        assert result.exit_code == 0 and "signed out" in result.stdout
        assert page_client.get("/api/me").status_code == 401

    def test_removing_a_user_ends_their_sessions(self, cli, settings, page_client):
        make_user(settings, "second@example.com", "admin")
        assert cli("users", "remove", "admin@example.com").exit_code == 0
        assert page_client.get("/api/me").status_code == 401
        assert count(settings, "web_sessions") == 0


class TestTokens:
    def test_shown_once_only_the_hash_is_stored_and_revoking_stops_it(self, settings, cli, anon_client):
        created = cli("tokens", "create", "--name", "zapier", "--scope", "write")
        assert created.exit_code == 0
        token = re.search(r"(ll_\S+)", created.stdout).group(1)
        listed = cli("tokens", "list").stdout
        assert "zapier" in listed and token not in listed and token[:9] in listed
        with unit_of_work(settings, readonly=True) as session:
            row = session.scalar(select(ApiToken))
        assert token not in repr(row.__dict__) and row.token_hash != token
        auth = {"Authorization": f"Bearer {token}"}
        me = anon_client.get("/api/me", headers=auth).json()
        assert (me["kind"], me["name"], me["canWrite"]) == ("token", "zapier", True)
        assert anon_client.post("/api/prospects", json=NEW, headers=auth).status_code == 201
        assert cli("tokens", "revoke", "zapier").exit_code == 0
        refused = anon_client.get("/api/prospects", headers=auth)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        assert cli("tokens", "list", "--all", "--json").json[0]["revokedAt"]

    def test_a_read_token_reads_but_may_not_write(self, settings, anon_client):
        make_prospect(settings, id="acme", name="Acme")
        auth = {"Authorization": f"Bearer {make_token(settings, scope='read')}"}
        assert anon_client.get("/api/prospects", headers=auth).json()["total"] == 1
        before = snapshot(settings)
        refused = anon_client.post("/api/prospects", json=NEW, headers=auth)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert anon_client.patch("/api/prospects/acme", json={"tier": 1}, headers=auth).status_code == 403
        assert snapshot(settings) == before

    def test_the_token_is_the_actor_in_the_timeline(self, settings, anon_client):
        auth = {"Authorization": f"Bearer {make_token(settings, name='zapier')}"}
        made = anon_client.post("/api/prospects", json=NEW, headers=auth).json()
        timeline = anon_client.get(f"/api/prospects/{made['id']}/timeline", headers=auth).json()
        assert timeline and {entry["actor"] for entry in timeline} == {"token:zapier"}

    def test_a_token_is_answered_before_its_use_is_noted(self, sqlite_settings):
        """Noting a token's last use is a write: it waits for the write lock (on SQLite, behind the
        webhooks being stored), so it happens after the answer, never before it."""
        import sqlite3
        import time

        import httpx
        from sqlalchemy.engine import make_url

        from leadline.app import create_app
        from leadline.serving import background_server

        auth = {"Authorization": f"Bearer {make_token(sqlite_settings, name='poller', scope='read')}"}

        def last_used():
            with unit_of_work(sqlite_settings, readonly=True) as session:
                return session.scalar(select(ApiToken.last_used_at))

        from sqlalchemy import event

        from leadline.db import get_engine

        touches = []

        def note(_conn, _cursor, statement, *_):
            if statement.startswith("UPDATE api_tokens"):
                touches.append(statement)

        event.listen(get_engine(sqlite_settings), "before_cursor_execute", note)
        writer = sqlite3.connect(make_url(sqlite_settings.database_url).database, isolation_level=None)
        with background_server(create_app(sqlite_settings)) as base:
            writer.execute("BEGIN IMMEDIATE")  # another process's long write, say
            try:
                for _ in range(5):  # a poller: each answered at once, its use noted once
                    started = time.monotonic()
                    answer = httpx.get(f"{base}/api/me", headers=auth, timeout=10)
                    assert answer.status_code == 200 and answer.json()["name"] == "poller"
                    assert time.monotonic() - started < 5
                assert last_used() is None
            finally:
                writer.execute("COMMIT")
            deadline = time.monotonic() + 10
            while last_used() is None:
                assert time.monotonic() < deadline, "the token's use was never noted"
                time.sleep(0.05)
            time.sleep(0.3)  # any further note would have run by now
        writer.close()
        event.remove(get_engine(sqlite_settings), "before_cursor_execute", note)
        assert len(touches) == 1, touches

    @pytest.mark.parametrize("header", ["Bearer", "Bearer ll_wrong", "Basic YWRtaW46eA==", "Token abc", "ll_abc"])
    def test_bad_credentials_are_401(self, anon_client, header):
        response = anon_client.get("/api/prospects", headers={"Authorization": header})
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"

    def test_tokens_cannot_manage_users_or_tokens(self, settings, client):
        before = snapshot(settings)
        assert client.get("/api/users").status_code == 403
        assert client.post("/api/tokens", json={"name": "more", "scope": "write"}).status_code == 403
        assert snapshot(settings) == before


class TestSessionsAndCsrf:
    def test_a_session_writes_only_with_its_csrf_token(self, settings, page_client):
        before = snapshot(settings)
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            refused = page_client.post("/api/prospects", json=NEW, headers=headers)
            assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
        assert snapshot(settings) == before
        made = page_client.post("/api/prospects", json=NEW, headers={"X-CSRF-Token": page_client.csrf})
        assert made.status_code == 201
        timeline = page_client.get(f"/api/prospects/{made.json()['id']}/timeline").json()
        assert {entry["actor"] for entry in timeline} == {"user:admin@example.com"}

    def test_a_viewer_reads_and_may_not_write(self, settings, anon_client):
        csrf = sign_in(anon_client, make_user(settings, "vi@example.com", "viewer"))
        assert anon_client.get("/api/prospects").status_code == 200
        before = snapshot(settings)
        refused = anon_client.post("/api/prospects", json=NEW, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403 and "viewer" in refused.json()["message"]
        assert snapshot(settings) == before

    def test_only_admins_manage_users(self, settings, anon_client, page_client):
        csrf = sign_in(anon_client, make_user(settings, "mem@example.com", "member"))
        before = snapshot(settings)
        assert anon_client.post("/api/users", json={"email": "x@example.com"}, headers={"X-CSRF-Token": csrf}
                                ).status_code == 403  # fmt: skip
        assert snapshot(settings) == before
        added = page_client.post("/api/users", json={"email": "x@example.com", "role": "viewer"},
                                 headers={"X-CSRF-Token": page_client.csrf})  # fmt: skip
        assert added.status_code == 201 and "/set-password?token=" in added.json()["setPasswordLink"]
        token = page_client.post("/api/tokens", json={"name": "ci", "scope": "read"},
                                 headers={"X-CSRF-Token": page_client.csrf}).json()  # fmt: skip
        assert token["token"].startswith("ll_")
        assert page_client.delete(f"/api/tokens/{token['id']}", headers={"X-CSRF-Token": page_client.csrf}).json()[
            "revokedAt"
        ]

    def test_cookie_flags(self, settings, anon_client, monkeypatch):
        make_user(settings)
        response = login_form(anon_client, email="admin@example.com", password=PASSWORD)
        cookie = response.headers["set-cookie"]
        assert "leadline_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # http://127.0.0.1 (the default base_url)
        settings.base_url = "https://crm.example.com"
        anon_client.cookies.clear()
        secure = login_form(anon_client, email="admin@example.com", password=PASSWORD).headers["set-cookie"]
        assert "Secure" in secure

    def test_a_session_ends_after_its_maximum_age(self, settings, page_client):
        assert page_client.get("/api/me").status_code == 200
        clock.set_frozen(clock.utc_now() + timedelta(seconds=settings.session_max_age_seconds + 1))
        assert page_client.get("/api/me").status_code == 401

    def test_signing_out_ends_the_session_server_side(self, settings, page_client):
        cookie = page_client.cookies.get("leadline_session")
        out = page_client.post("/logout", data={"csrf_token": page_client.csrf}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
        page_client.cookies.set("leadline_session", cookie)  # a copied cookie no longer works
        assert page_client.get("/api/me").status_code == 401
        assert count(settings, "web_sessions") == 0

    def test_sign_out_needs_the_csrf_token(self, settings, page_client):
        refused = page_client.post("/logout", follow_redirects=False)
        assert refused.status_code == 403 and count(settings, "web_sessions") == 1

    def test_the_sign_in_form_needs_its_own_token(self, settings, anon_client):
        make_user(settings)
        forged = anon_client.post("/login", data={"email": "admin@example.com", "password": PASSWORD},
                                  follow_redirects=False)  # fmt: skip
        assert forged.status_code == 403 and count(settings, "web_sessions") == 0

    @pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "evil"])
    def test_no_open_redirect_after_sign_in(self, settings, anon_client, target):
        make_user(settings)
        response = login_form(anon_client, email="admin@example.com", password=PASSWORD, next=target)
        assert response.status_code == 303 and response.headers["location"] == "/"

    def test_next_brings_you_back(self, settings, anon_client):
        make_user(settings)
        response = login_form(anon_client, email="admin@example.com", password=PASSWORD, next="/prospects?tier=1")
        assert response.headers["location"] == "/prospects?tier=1"


class TestThrottling:
    def test_failures_slow_down_then_lock_even_the_right_password(self, settings, anon_client):
        make_user(settings)
        start = clock.utc_now()
        clock.set_frozen(start)
        for _ in range(2):
            assert login_form(anon_client, email="admin@example.com", password="wrong").status_code == 401
        # A third try at once must wait.
        slowed = login_form(anon_client, email="admin@example.com", password=PASSWORD)
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
        assert "try again in" in slowed.text and count(settings, "web_sessions") == 0
        for _ in range(3, settings.login_max_failures + 1):
            clock.set_frozen(clock.utc_now() + timedelta(seconds=31))
            assert login_form(anon_client, email="admin@example.com", password="wrong").status_code == 401
        clock.set_frozen(clock.utc_now() + timedelta(seconds=60))
        locked = login_form(anon_client, email="admin@example.com", password=PASSWORD)
        assert locked.status_code == 429 and "locked" in locked.text and count(settings, "web_sessions") == 0
        clock.set_frozen(clock.utc_now() + timedelta(seconds=settings.login_lockout_seconds))
        assert login_form(anon_client, email="admin@example.com", password=PASSWORD).status_code == 303
        assert count(settings, "login_throttle") == 0

    def test_the_count_is_shared_by_every_process(self, settings, anon_client):
        """Two app instances (as two `leadline serve` processes would) see one count, kept in the database."""
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        make_user(settings)
        clock.set_frozen(clock.utc_now())
        with TestClient(create_app(settings)) as other:
            assert login_form(anon_client, email="admin@example.com", password="wrong").status_code == 401
            assert login_form(other, email="admin@example.com", password="wrong").status_code == 401
            assert login_form(other, email="admin@example.com", password=PASSWORD).status_code == 429
        with unit_of_work(settings, readonly=True) as session:
            assert session.get(LoginThrottle, ("admin@example.com", "testclient")).failures == 2

    def test_attempts_at_the_same_moment_cannot_slip_past_the_count(self, settings):
        """Eight tries at once (eight browsers, one address): the first two are checked, the rest wait,
        as if they had come one after another."""
        import threading

        from fastapi.testclient import TestClient

        from leadline.app import create_app

        make_user(settings)
        clock.set_frozen(clock.utc_now())
        clients = [TestClient(create_app(settings)) for _ in range(8)]
        forms = []
        for one in clients:
            page = one.get("/login")
            forms.append(re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1))
        start = threading.Barrier(len(clients))
        codes: list[int] = []

        def attempt(index: int) -> None:
            start.wait()
            answer = clients[index].post("/login", data={"csrf_token": forms[index], "email": "admin@example.com",
                                                         "password": "wrong"}, follow_redirects=False)  # fmt: skip
            codes.append(answer.status_code)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for one in clients:
            one.close()
        assert sorted(codes) == [401, 401] + [429] * 6
        with unit_of_work(settings, readonly=True) as session:
            assert session.get(LoginThrottle, ("admin@example.com", "testclient")).failures == 2

    def test_a_stranger_locks_out_only_their_own_address(self, settings, anon_client):
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        make_user(settings)
        clock.set_frozen(clock.utc_now())
        with TestClient(create_app(settings), client=("198.51.100.9", 4711)) as stranger:
            for _ in range(settings.login_max_failures):
                assert login_form(stranger, email="admin@example.com", password="wrong").status_code == 401
                clock.set_frozen(clock.utc_now() + timedelta(seconds=31))
            locked = login_form(stranger, email="admin@example.com", password=PASSWORD)
            assert locked.status_code == 429 and "locked" in locked.text
        with TestClient(create_app(settings), client=("203.0.113.7", 4711)) as owner:
            assert login_form(owner, email="admin@example.com", password=PASSWORD).status_code == 303
        with unit_of_work(settings, readonly=True) as session:
            rows = session.execute(select(LoginThrottle.client, LoginThrottle.failures)).all()
        assert [tuple(row) for row in rows] == [("198.51.100.9", 0)]  # the stranger's lock stays

    def test_many_addresses_lock_new_browsers_but_not_one_that_signed_in_before(self, settings):
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        make_user(settings)
        make_user(settings, "bo@example.com", "member")
        settings.login_account_max_failures = 3
        clock.set_frozen(clock.utc_now())

        def browser(address: str) -> TestClient:
            return TestClient(create_app(settings), client=(address, 4711))

        with browser("203.0.113.7") as home, browser("192.0.2.9") as bos:
            assert login_form(home, email="admin@example.com", password=PASSWORD).status_code == 303
            assert login_form(bos, email="bo@example.com", password=PASSWORD).status_code == 303
            device, bos_device = home.cookies.get("leadline_device"), bos.cookies.get("leadline_device")
        assert device and bos_device
        for n in range(4):
            with browser(f"198.51.100.{n}") as stranger:
                expected = 401 if n < 3 else 429  # the third mistake locks the account for new browsers
                assert login_form(stranger, email="admin@example.com", password="wrong").status_code == expected

        def not_counts() -> dict[str, object]:
            return {table: rows for table, rows in snapshot(settings).items() if table != "login_throttle"}

        before = not_counts()
        with browser("192.0.2.1") as new:
            refused = login_form(new, email="admin@example.com", password=PASSWORD)
            assert refused.status_code == 429 and "locked for new browsers" in refused.text
            assert int(refused.headers["retry-after"]) == settings.login_lockout_seconds
            # Neither a made-up cookie nor one of another account makes a browser known.
            for cookie in (device[:-4] + "AAAA", bos_device):
                new.cookies.set("leadline_device", cookie, path="/login")
                assert login_form(new, email="admin@example.com", password=PASSWORD).status_code == 429
        assert not_counts() == before
        # The browser that signed in before gets in, from anywhere.
        with browser("192.0.2.44") as travelling:
            travelling.cookies.set("leadline_device", device, path="/login")
            assert login_form(travelling, email="admin@example.com", password=PASSWORD).status_code == 303
        # The lock on new browsers ends on time.
        clock.set_frozen(clock.utc_now() + timedelta(seconds=settings.login_lockout_seconds))
        with browser("192.0.2.1") as new:
            assert login_form(new, email="admin@example.com", password=PASSWORD).status_code == 303

    def test_a_full_queue_refuses_at_once_and_counts_nothing(self, settings, anon_client, monkeypatch):
        from leadline.auth import flows

        make_user(settings)
        monkeypatch.setattr(flows._strangers, "limit", 0)
        busy = login_form(anon_client, email="admin@example.com", password=PASSWORD)
        assert busy.status_code == 429 and busy.headers["retry-after"] == "2"
        assert "too many sign-ins at once" in busy.text
        assert count(settings, "login_throttle") == 0 and count(settings, "web_sessions") == 0

    def test_unknown_addresses_get_the_same_answer(self, settings, anon_client):
        make_user(settings)
        unknown = login_form(anon_client, email="nobody@example.com", password="whatever")
        wrong = login_form(anon_client, email="admin@example.com", password="whatever")
        assert unknown.status_code == wrong.status_code == 401
        assert "wrong e-mail address or password" in unknown.text and "wrong e-mail address or password" in wrong.text


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_client_key(host, key):
    from leadline.auth.service import client_key

    assert client_key(host) == key


class TestUnlock:
    def test_the_admin_sees_and_clears_a_lock(self, cli, settings, anon_client):
        make_user(settings)
        clock.set_frozen(clock.utc_now())
        for _ in range(settings.login_max_failures):
            login_form(anon_client, email="admin@example.com", password="wrong")
            clock.set_frozen(clock.utc_now() + timedelta(seconds=31))
        assert login_form(anon_client, email="admin@example.com", password=PASSWORD).status_code == 429
        (row,) = cli("users", "list", "--json").json
        assert row["lockedUntil"] and row["lockedAddresses"] == 1 and not row["lockedForNewBrowsers"]
        assert "locked for 1 address(es) until" in cli("users", "list").stdout
        result = cli("users", "unlock", "Admin@Example.com")
        assert result.exit_code == 0 and "Unlocked admin@example.com: 1 lock(s) ended" in result.stdout
        assert count(settings, "login_throttle") == 0
        assert cli("users", "list", "--json").json[0]["lockedUntil"] is None
        assert login_form(anon_client, email="admin@example.com", password=PASSWORD).status_code == 303
        again = cli("users", "unlock", "admin@example.com")
        assert again.exit_code == 0 and "it was not locked" in again.stdout


def test_sessions_and_tokens_are_stored_as_hashes(settings, page_client):
    raw = page_client.cookies.get("leadline_session")
    with unit_of_work(settings, readonly=True) as session:
        ids = list(session.scalars(select(WebSession.id_hash)))
    assert ids and raw not in ids
    assert session_csrf(page_client) == page_client.csrf
