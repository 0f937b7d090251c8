"""The duplicates page and the merge forms (no JavaScript: plain forms), on both databases."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from tests.factories import make_prospect, snapshot


def twins(settings):
    keep = make_prospect(settings, name="Royal Plumbing", phone="(512) 555-0101", contact_name=None)
    other = make_prospect(settings, name="Royal Plumbing LLC", phone="512.555.0101", contact_name="Daniel Reyes")
    return keep, other


def exists(settings, prospect_id: str) -> bool:
    with unit_of_work(settings, readonly=True) as session:
        return session.get(Prospect, prospect_id) is not None


def test_the_list_merges_through_a_plain_form(settings, page_client):
    keep, other = twins(settings)
    listed = page_client.get("/prospects/duplicates")
    assert listed.status_code == 200
    assert "Same phone" in listed.text and keep.id in listed.text and other.id in listed.text
    assert f'action="/prospects/{keep.id}/merge"' in listed.text and f"Merge into {keep.id}" in listed.text

    response = page_client.post(
        f"/prospects/{keep.id}/merge",
        data={"csrf_token": page_client.csrf, "other": other.id, "back": "duplicates", "reason": "phone"},
        follow_redirects=False,
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/prospects/duplicates?reason=phone&done=merged"
    )
    assert not exists(settings, other.id)
    with unit_of_work(settings, readonly=True) as session:
        assert prospects.get(session, keep.id).contact_name == "Daniel Reyes"
    after = page_client.get(response.headers["location"])
    assert "Merged:" in after.text and "No likely duplicates" in after.text


def test_a_refused_merge_is_shown_and_changes_nothing(settings, page_client):
    keep, _ = twins(settings)
    before = snapshot(settings)
    response = page_client.post(f"/prospects/{keep.id}/merge", data={"csrf_token": page_client.csrf, "other": keep.id,
                                                                    "back": "duplicates", "reason": "phone"})  # fmt: skip
    assert response.status_code == 422 and "with itself" in response.text and "data-error-line" in response.text
    assert '<option value="phone" selected>' in response.text  # the list as it was
    response = page_client.post(f"/prospects/{keep.id}/merge", data={"csrf_token": page_client.csrf, "other": "nobody"})
    assert response.status_code == 404 and "no prospect with id" in response.text
    assert snapshot(settings) == before


def test_a_bad_reason_is_named(page_client):
    response = page_client.get("/prospects/duplicates", params={"reason": "colour"})
    assert response.status_code == 422 and "Reason: unknown reason" in response.text


def test_the_prospect_page_offers_its_duplicates(settings, page_client):
    keep, other = twins(settings)
    shown = page_client.get(f"/prospects/{keep.id}")
    assert "Possible duplicates (1)" in shown.text and other.id in shown.text
    response = page_client.post(f"/prospects/{keep.id}/merge", data={"csrf_token": page_client.csrf, "other": other.id},
                                follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == f"/prospects/{keep.id}?done=merged"
    assert not exists(settings, other.id)
    assert "Possible duplicates" not in page_client.get(f"/prospects/{keep.id}").text


def test_a_viewer_sees_no_merge_button_and_may_not_merge(settings, signed_in):
    keep, other = twins(settings)
    viewer = signed_in("viewer")
    assert "Merge into" not in viewer.get("/prospects/duplicates").text
    assert "Merge into" not in viewer.get(f"/prospects/{keep.id}").text
    before = snapshot(settings)
    response = viewer.post(f"/prospects/{keep.id}/merge", data={"csrf_token": viewer.csrf, "other": other.id})
    assert response.status_code == 403
    assert snapshot(settings) == before


def test_a_customer_is_offered_as_the_one_kept(settings, page_client):
    from tests.prospects.test_merging import customer

    client, lead = twins(settings)
    customer(settings, client.id, "cust_1")
    shown = page_client.get(f"/prospects/{lead.id}").text
    assert "Merge this one into it" in shown and f'action="/prospects/{client.id}/merge"' in shown
    response = page_client.post(f"/prospects/{client.id}/merge", data={"csrf_token": page_client.csrf,
                                                                       "other": lead.id}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and not exists(settings, lead.id)
    listed = page_client.get("/prospects").text
    assert 'href="/prospects/duplicates"' in listed


def test_two_customers_are_shown_without_a_merge_button(settings, page_client):
    from tests.prospects.test_merging import customer

    one, two = twins(settings)
    customer(settings, one.id, "cust_1")
    customer(settings, two.id, "cust_2")
    shown = page_client.get(f"/prospects/{one.id}").text
    assert "both customers: never merged" in shown and "Merge into this one" not in shown
