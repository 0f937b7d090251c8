"""Signing in and out in a real browser."""

from __future__ import annotations

from tests.conftest import Cli, make_user
from tests.web.conftest import shoot, sign_in


def test_wrong_password_says_so_and_the_right_one_signs_in_and_out(page, live):
    email = make_user(live.settings, "sam@example.com", "member")
    page.goto("/prospects")
    assert "/login?next=/prospects" in page.url
    shoot(page, "sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "wrong e-mail address or password"
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/prospects")
    cookie = next(c for c in page.context.cookies() if c["name"] == "leadline_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")
    assert "You are signed out." in page.content()
    page.goto("/prospects")
    assert "/login" in page.url


def test_the_demo_user_signs_in_with_the_printed_password(page, live):
    printed = Cli(live.settings)("demo").stdout  # on the live server's database
    password = printed.rsplit("with the password ", 1)[1].split()[0]
    sign_in(page, "demo@leadline.local", password)
    assert page.url.rstrip("/") == live.url
