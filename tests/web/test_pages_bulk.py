"""Bulk actions from the prospects list page (the form, the preview, the operation's page, Undo)."""

from __future__ import annotations

from tests.factories import count, make_prospect, snapshot
from tests.prospects.test_bulk import state


def test_ticked_rows_get_a_tag_shown_in_the_list_and_undo_removes_it(settings, page_client):
    ids = [make_prospect(settings, name=f"Roofer {n}", trade="roofing").id for n in range(4)]
    listing = page_client.get("/prospects").text
    assert 'id="bulk-form"' in listing and 'name="ids"' in listing
    before = state(settings)
    form = {"csrf_token": page_client.csrf, "ids": ids[:3], "scope": "selected", "add_tag": "Storm Leads",
            "go": "apply"}  # fmt: skip
    response = page_client.post("/prospects/bulk", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    operation = page_client.get(response.headers["location"]).text
    assert "done" in operation and "Undo" in operation
    listed = page_client.get("/prospects", params={"tag": "storm leads"}).text
    assert listed.count('class="badge tag"') == 3 and "Roofer 3" not in listed
    undo = page_client.post(response.headers["location"] + "/undo", data={"csrf_token": page_client.csrf},
                            follow_redirects=False)  # fmt: skip
    assert undo.status_code == 303
    assert state(settings) == before


def test_preview_of_all_matching_says_who_is_skipped_and_changes_nothing(settings, page_client):
    for n in range(3):
        make_prospect(settings, name=f"Roofer {n}", trade="roofing")
    make_prospect(settings, name="Plumber", trade="plumbing")
    before = snapshot(settings)
    form = {"csrf_token": page_client.csrf, "scope": "all", "list_query": "?trade=roofing", "stage": "new",
            "reason": "reset", "go": "preview"}  # fmt: skip
    response = page_client.post("/prospects/bulk", data=form)
    assert response.status_code == 200, response.text
    assert "3</strong> selected" in response.text and "3 skipped: already in stage new" in response.text
    assert snapshot(settings) == before


def test_a_stage_move_without_a_reason_is_refused_beside_its_input(settings, page_client):
    ids = [make_prospect(settings, name=f"Roofer {n}").id for n in range(2)]
    before = snapshot(settings)
    form = {"csrf_token": page_client.csrf, "ids": ids, "scope": "selected", "stage": "contacted", "go": "apply"}
    response = page_client.post("/prospects/bulk", data=form)
    assert response.status_code == 422
    assert 'id="err-reason"' in response.text and "needs a reason" in response.text
    assert snapshot(settings) == before


def test_my_prospects(settings, page_client):
    make_prospect(settings, name="Mine Roofing", owner="admin@example.com")
    make_prospect(settings, name="Theirs Roofing")
    mine = page_client.get("/prospects", params={"owner": "me"}).text
    assert "Mine Roofing" in mine and "Theirs Roofing" not in mine


def test_send_a_template_preview_says_who_is_skipped_then_sends_to_the_others(settings, page_client):
    ok = [make_prospect(settings, name=f"Roofer {n}", trade="roofing").id for n in range(2)]
    blocked = make_prospect(settings, name="Roofer DNC", trade="roofing", do_not_contact=True).id
    before = snapshot(settings)
    form = {"csrf_token": page_client.csrf, "ids": [*ok, blocked], "scope": "selected", "template": "pain_point",
            "go": "preview"}  # fmt: skip
    response = page_client.post("/prospects/bulk", data=form)
    assert response.status_code == 200, response.text
    report = response.text.split('id="send-report"')[1].split("</section>")[0]
    assert "<strong>2</strong> would be sent" in report and "1 skipped" in report and blocked in report
    assert snapshot(settings) == before
    response = page_client.post("/prospects/bulk", data=form | {"go": "apply"})
    assert response.status_code == 200 and "<strong>2</strong> sent" in response.text
    assert count(settings, "email_activities") == 2


def test_start_a_sequence_preview_then_start(settings, page_client):
    ok = [make_prospect(settings, name=f"Roofer {n}", trade="roofing").id for n in range(2)]
    blocked = make_prospect(settings, name="Roofer DNC", trade="roofing", do_not_contact=True).id
    before = snapshot(settings)
    form = {"csrf_token": page_client.csrf, "scope": "all", "list_query": "?trade=roofing", "template": "pain_point",
            "sequence": "on", "go": "preview"}  # fmt: skip
    response = page_client.post("/prospects/bulk", data=form)
    assert response.status_code == 200, response.text
    report = response.text.split('id="sequence-report"')[1].split("</section>")[0]
    assert "<strong>2</strong> would be enrolled, 1 skipped" in report and blocked in report
    assert snapshot(settings) == before
    response = page_client.post("/prospects/bulk", data=form | {"go": "apply"})
    assert response.status_code == 200 and "<strong>2</strong> enrolled" in response.text
    assert count(settings, "sequence_enrollments") == len(ok)


def test_after_apply_a_send_or_a_sequence_shows_what_was_done_without_the_form(settings, page_client):
    ids = [make_prospect(settings, name=f"Roofer {n}", trade="roofing").id for n in range(2)]
    send = {"csrf_token": page_client.csrf, "ids": ids[:1], "scope": "selected", "template": "pain_point"}
    preview = page_client.post("/prospects/bulk", data=send | {"go": "preview"}).text
    assert "<h1>Bulk action: preview</h1>" in preview and 'id="bulk-form"' in preview
    sent = page_client.post("/prospects/bulk", data=send | {"go": "apply"}).text
    assert "<h1>Bulk action: done</h1>" in sent and "<title>Bulk action: done" in sent
    assert "<strong>1</strong> sent" in sent and 'id="bulk-form"' not in sent and "preview" not in sent.lower()
    sequence = {"csrf_token": page_client.csrf, "scope": "all", "list_query": "?trade=roofing", "template": "pain_point",
                "sequence": "on", "go": "apply"}  # fmt: skip
    started = page_client.post("/prospects/bulk", data=sequence).text
    assert "<h1>Bulk action: done</h1>" in started and "enrolled" in started and 'id="bulk-form"' not in started
    assert 'href="/prospects?trade=roofing"' in started  # back to the list it came from


def test_a_refused_bulk_action_is_not_called_a_preview(settings, page_client):
    ids = [make_prospect(settings, name=f"Roofer {n}").id for n in range(2)]
    form = {"csrf_token": page_client.csrf, "ids": ids, "scope": "selected", "stage": "contacted", "go": "apply"}
    response = page_client.post("/prospects/bulk", data=form)
    assert response.status_code == 422 and "<h1>Bulk action</h1>" in response.text and 'id="bulk-form"' in response.text


def test_the_operation_page_says_what_it_did_in_words(settings, page_client):
    ids = [make_prospect(settings, name=f"Roofer {n}", trade="roofing", tier=2).id for n in range(4)]
    tag = {"csrf_token": page_client.csrf, "ids": ids[:3], "scope": "selected", "add_tag": "roof-promo", "go": "apply"}
    operation = page_client.get(page_client.post("/prospects/bulk", data=tag).url).text
    assert '<p class="what">Add tag roof-promo to 3 prospects.</p>' in operation
    assert "addTags" not in operation and "[&#39;" not in operation
    stage = {"csrf_token": page_client.csrf, "scope": "all", "list_query": "?tier=2&trade=roofing", "tier": "1",
             "stage": "contacted", "reason": "spring push", "go": "apply"}  # fmt: skip
    operation = page_client.get(page_client.post("/prospects/bulk", data=stage).url).text
    assert (
        "Set the tier to 1 and move to Contacted (why: spring push) for 4 prospects matching tier 2, trade roofing."
        in operation
    )
