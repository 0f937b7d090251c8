"""Customers, reports and settings in a real browser (and a screenshot of each)."""

from __future__ import annotations

from tests.factories import make_prospect
from tests.web.conftest import shoot
from tests.web.helpers import book_call, make_customer


def test_customers_and_reports(admin_page, live):
    royal = make_prospect(live.settings, name="Royal Plumbing Co", contact_name="Daniel Royal", deal_value=2400)
    customer = make_customer(live.settings, royal.id, fee=2400)
    make_customer(live.settings, make_prospect(live.settings, name="Summit Electric").id, fee=1500)
    make_prospect(live.settings, name="Baker Roofing", deal_value=1800, sales_status="proposal")
    book_call(live.settings, make_prospect(live.settings, name="Hughes HVAC", sales_status="replied").id, days=1)
    tab = admin_page
    tab.goto("/customers")
    assert tab.locator("#mrr").inner_text() == "$3,900/month"
    shoot(tab, "customers")
    tab.get_by_role("link", name="Royal Plumbing Co").click()
    tab.wait_for_url(f"**/customers/{customer}")
    tab.locator("#edit-form").get_by_label("Slack channel").fill("#royal-plumbing")
    tab.locator("#edit-form").get_by_role("button", name="Save").click()
    tab.wait_for_url(f"**/customers/{customer}?done=saved")
    assert "#royal-plumbing" in tab.locator("main").inner_text()
    tab.locator("#status").get_by_role("button", name="Pause").click()
    tab.wait_for_url(f"**/customers/{customer}?done=pause")
    assert tab.get_by_role("heading", level=1).inner_text().endswith("paused")
    shoot(tab, "customer")
    tab.goto("/reports")
    assert "sales report" in tab.get_by_role("heading", level=1).nth(1).inner_text()
    shoot(tab, "reports")
    tab.get_by_role("link", name="Forecast").click()
    assert (
        "Expected new MRR" in tab.locator(".report").inner_text()
        or "expected new MRR" in tab.locator(".report").inner_text()
    )


def test_settings_create_a_token_and_see_it_once(admin_page, live):
    tab = admin_page
    tab.goto("/settings")
    tab.get_by_text("Create a token", exact=True).click()
    tab.get_by_role("textbox", name="Name what uses it").fill("zapier")
    tab.get_by_label("Scope").select_option("write")
    tab.get_by_role("button", name="Create token").click()
    token = tab.locator("#token-value").inner_text()
    assert token.startswith("ll_")
    shoot(tab, "settings")
    tab.goto("/settings")
    assert token not in tab.content()
    assert tab.locator('tr[data-token="zapier"]').count() == 1
    import httpx

    assert httpx.get(f"{live.url}/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "zapier"


def test_admin_changes_the_daily_cap_and_a_fresh_cli_process_uses_it(admin_page, live):
    import json

    from tests.conftest import run_leadline, settings_env
    from tests.factories import snapshot

    for _ in range(3):
        make_prospect(live.settings)
    tab = admin_page
    tab.goto("/settings")
    sending = tab.locator('form[data-group="Sending"]')
    cap = sending.get_by_label("Daily send cap")
    assert cap.input_value() == "50"
    before = snapshot(live.settings)
    cap.fill("ten")
    sending.get_by_role("button", name="Save sending").click()
    assert tab.locator('form[data-group="Sending"] [data-error-line]').inner_text().startswith("Daily send limit:")
    assert snapshot(live.settings) == before
    tab.locator('form[data-group="Sending"]').get_by_label("Daily send cap").fill("2")
    tab.locator('form[data-group="Sending"]').get_by_role("button", name="Save sending").click()
    assert "Daily send cap: 50 → 2" in tab.locator(".flash").inner_text()
    shoot(tab, "settings-kept")
    sent = run_leadline("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "3", "--json",
                        env=settings_env(live.settings))  # fmt: skip
    assert json.loads(sent.stdout)["sent"] == 2, sent.stderr


def test_a_viewer_reads_kept_settings_and_an_environment_value_is_locked(page, live):
    from tests.conftest import make_user
    from tests.factories import snapshot
    from tests.web.conftest import sign_in

    live.settings.daily_send_limit = 7  # as LEADLINE_DAILY_SEND_LIMIT=7 would set it
    sign_in(page, make_user(live.settings, "viewer@example.com", "viewer"))
    page.goto("/settings")
    cap = page.locator('form[data-group="Sending"]').get_by_label("Daily send cap")
    assert cap.input_value() == "7" and cap.is_disabled()
    assert (
        "set by the environment (LEADLINE_DAILY_SEND_LIMIT)"
        in page.locator('[data-setting="dailySendLimit"]').inner_text()
    )
    assert page.locator('form[data-group="Targets"]').get_by_label("Emails per week (goal)").is_disabled()
    assert page.get_by_role("button", name="Save targets").count() == 0
    assert "Only an admin can change these." in page.locator("#app-settings").inner_text()
    before = snapshot(live.settings)
    csrf = page.evaluate("window.leadline.csrf()")
    refused = page.request.post("/settings/values", form={"csrf_token": csrf, "group": "Targets",
                                                          "weeklyEmailGoal": "80"})  # fmt: skip
    assert refused.status == 403 and "CSRF" not in refused.text()  # refused for the role, not the token
    assert snapshot(live.settings) == before
