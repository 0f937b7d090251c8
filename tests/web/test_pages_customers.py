"""Customers (/customers, /customers/{id}) over HTTP: the list with MRR, editing, status changes."""

from __future__ import annotations

import re

import pytest

from leadline.web.pages.forms import label_of
from tests.factories import make_prospect, snapshot
from tests.web.helpers import ROLES, error_line, field_errors, make_customer


def customer_row(settings, customer_id: str) -> dict:
    from leadline.customers import service
    from leadline.customers.schemas import CustomerRead
    from leadline.db import unit_of_work

    with unit_of_work(settings, readonly=True) as session:
        return CustomerRead.model_validate(service.get(session, customer_id)).model_dump()


def edit_form(html: str) -> dict[str, str]:
    """The edit form's inputs as the page fills them in (what a browser would send back)."""
    import html as html_lib

    form = re.search(r'<form method="post" action="/customers/[^"/]+" class="form" id="edit-form">(.*?)</form>',
                     html, re.S).group(1)  # fmt: skip
    values = {
        n: html_lib.unescape(v) for n, v in re.findall(r'<input type="[a-z-]+" name="(\w+)" value="([^"]*)"', form)
    }
    values.update(
        {n: html_lib.unescape(v) for n, v in re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S)}
    )
    chosen = re.search(r'<select name="serviceType".*?<option value="(\w+)" selected>', form, re.S)
    values["serviceType"] = chosen.group(1) if chosen else ""
    values["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return values


@pytest.mark.parametrize("role", ROLES)
def test_the_list_shows_mrr_and_status_for_every_role(settings, signed_in, role):
    royal = make_customer(settings, make_prospect(settings, name="Royal Plumbing Co").id, fee=2400)
    make_customer(settings, make_prospect(settings, name="Baker Roofing").id, fee=1200)
    browser = signed_in(role)
    if role != "viewer":
        assert browser.post(f"/customers/{royal}/pause", data={"csrf_token": browser.csrf},
                            follow_redirects=False).status_code == 303  # fmt: skip
    listing = browser.get("/customers")
    paused = browser.get("/customers?status=paused")
    detail = browser.get(f"/customers/{royal}")
    assert listing.status_code == paused.status_code == detail.status_code == 200
    expected_mrr = "$1,200/month" if role != "viewer" else "$3,600/month"
    assert f'<div class="value" id="mrr">{expected_mrr}</div>' in listing.text
    assert "Royal Plumbing Co" in listing.text and "Baker Roofing" in listing.text
    assert ("Baker Roofing" in paused.text) is False
    assert ("Royal Plumbing Co" in paused.text) == (role != "viewer")
    assert ('id="edit-form"' in detail.text) == (role != "viewer")


def test_anonymous_is_sent_to_sign_in(anon_client):
    for path in ("/customers", "/customers/cus_x"):
        response = anon_client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


def test_editing_goes_through_the_service_and_lands_on_the_timeline(settings, page_client):
    prospect = make_prospect(settings, name="Royal Plumbing Co")
    customer_id = make_customer(settings, prospect.id)
    form = edit_form(page_client.get(f"/customers/{customer_id}").text)
    before = snapshot(settings)
    unchanged = page_client.post(f"/customers/{customer_id}", data=form, follow_redirects=False)
    assert unchanged.status_code == 303  # the form as shown changes nothing
    assert "Nothing was changed." in page_client.get(unchanged.headers["location"]).text
    assert snapshot(settings) == before
    form.update(monthlyFee="2600", slackChannel="#royal", leadsGenerated="12", phone="")
    response = page_client.post(f"/customers/{customer_id}", data=form, follow_redirects=False)
    assert response.status_code == 303
    row = customer_row(settings, customer_id)
    assert (row["monthly_fee"], row["slack_channel"], row["leads_generated"]) == (2600, "#royal", 12)
    page = page_client.get(response.headers["location"]).text
    assert "Saved." in page and "$2,600" in page
    changed = re.search(r"· updated \(([^)]*)\) <span class=\"muted small\">by user:admin@example.com", page).group(1)
    assert sorted(changed.split(", ")) == ["leadsGenerated", "monthlyFee", "slackChannel"]


def test_a_bad_edit_names_the_field_and_changes_nothing(settings, page_client):
    customer_id = make_customer(settings, make_prospect(settings).id)
    form = edit_form(page_client.get(f"/customers/{customer_id}").text)
    before = snapshot(settings)
    for change, expected in [({"monthlyFee": "-5"}, "Monthly fee: must be at least 0"),
                             ({"monthlyFee": "lots"}, "Monthly fee: 'lots' is not a number"),
                             ({"companyName": ""}, "Company name: cannot be empty"),
                             ({"email": "not-an-address"}, "Email:"),
                             ({"currentGridHealth": "140"}, "Current grid health: must be at most 100")]:  # fmt: skip
        response = page_client.post(f"/customers/{customer_id}", data={**form, **change})
        assert response.status_code == 422, change
        assert error_line(response.text).startswith(expected), (change, error_line(response.text))
        beside = [label_of(name) for name in field_errors(response.text)]  # each input's own error, by its label
        assert expected.split(":")[0] in beside, (expected, beside)
    assert snapshot(settings) == before


def test_status_changes_follow_the_service_rules(settings, page_client):
    customer_id = make_customer(settings, make_prospect(settings).id)
    churn = page_client.post(f"/customers/{customer_id}/churn", data={"csrf_token": page_client.csrf,
                             "reason": "closed the business"}, follow_redirects=False)  # fmt: skip
    assert churn.status_code == 303 and customer_row(settings, customer_id)["status"] == "churned"
    before = snapshot(settings)
    again = page_client.post(f"/customers/{customer_id}/pause", data={"csrf_token": page_client.csrf})
    assert again.status_code == 409
    assert "is churned; only active customers can be paused" in error_line(again.text)
    assert snapshot(settings) == before
    back = page_client.post(f"/customers/{customer_id}/reactivate", data={"csrf_token": page_client.csrf},
                            follow_redirects=False)  # fmt: skip
    assert back.status_code == 303 and customer_row(settings, customer_id)["status"] == "active"


def test_a_viewer_gets_403_and_a_post_without_csrf_is_refused(settings, signed_in, page_client):
    customer_id = make_customer(settings, make_prospect(settings).id)
    form = edit_form(page_client.get(f"/customers/{customer_id}").text)
    before = snapshot(settings)
    viewer = signed_in("viewer")
    assert viewer.post(f"/customers/{customer_id}", data={**form, "csrf_token": viewer.csrf}).status_code == 403
    assert viewer.post(f"/customers/{customer_id}/churn", data={"csrf_token": viewer.csrf}).status_code == 403
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert page_client.post(f"/customers/{customer_id}", data={**no_csrf, "monthlyFee": "1"}).status_code == 403
    assert page_client.post(f"/customers/{customer_id}/churn", data={}).status_code == 403
    assert snapshot(settings)["customers"] == before["customers"]


def test_customer_fields_with_markup_are_shown_as_text(settings, page_client):
    customer_id = make_customer(settings, make_prospect(settings, name="<script>alert(1)</script> Co").id)
    form = edit_form(page_client.get(f"/customers/{customer_id}").text)
    form.update(notes="<img src=x onerror=alert(2)>", slackChannel='"><script>alert(3)</script>')
    assert page_client.post(f"/customers/{customer_id}", data=form, follow_redirects=False).status_code == 303
    for path in ("/customers", f"/customers/{customer_id}"):
        html = page_client.get(path).text
        assert "<script>alert(" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Co" in html
    assert customer_row(settings, customer_id)["slack_channel"] == '"><script>alert(3)</script>'


def test_an_unknown_customer_is_a_404_page(page_client):
    response = page_client.get("/customers/cus_nothing")
    assert response.status_code == 404 and "no customer" in response.text
