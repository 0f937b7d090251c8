"""Notes and tasks on the prospect page, and the tasks page, over HTTP (the same services as the CLI
and the API; a refused form changes nothing)."""

from __future__ import annotations

import re

from leadline.db import unit_of_work
from leadline.notes import service as notes
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate
from tests.conftest import make_user
from tests.factories import make_prospect, snapshot
from tests.web.helpers import error_line


def texts(settings, prospect_id: str) -> list[str]:
    with unit_of_work(settings, readonly=True) as session:
        return [n.text for n in notes.for_prospect(session, prospect_id)]


def test_notes_are_added_edited_and_guarded(settings, signed_in):
    p = make_prospect(settings, name="Baker Roofing", notes="Daniel prefers text messages")
    ann = signed_in("member", "ann@example.com")
    added = ann.post(f"/prospects/{p.id}/notes", data={"csrf_token": ann.csrf, "text": "Send ROI proposal"},
                     follow_redirects=False)  # fmt: skip
    assert added.status_code == 303 and added.headers["location"].endswith("done=noted")
    page = ann.get(f"/prospects/{p.id}").text
    assert page.index("Daniel prefers text messages") < page.index("Send ROI proposal")
    edit_form = re.search(r'id="edit-form">(.*?)</form>', page, re.S).group(1)
    assert 'name="notes"' not in edit_form  # the old single field is gone from the edit form
    with unit_of_work(settings, readonly=True) as session:
        seed, mine = notes.for_prospect(session, p.id)
    assert f"/notes/{mine.id}/edit" in page and f"/notes/{seed.id}/edit" not in page  # only her own
    before = snapshot(settings)
    refused = ann.post(f"/prospects/{p.id}/notes/{seed.id}/edit", data={"csrf_token": ann.csrf, "text": "mine"})
    assert refused.status_code == 403 and "only its author" in error_line(refused.text)
    blank = ann.post(f"/prospects/{p.id}/notes", data={"csrf_token": ann.csrf, "text": "  "})
    assert blank.status_code == 422 and error_line(blank.text) == "Note: cannot be empty"
    assert snapshot(settings) == before
    edited = ann.post(f"/prospects/{p.id}/notes/{mine.id}/edit",
                      data={"csrf_token": ann.csrf, "text": "Send ROI proposal by Friday"})  # fmt: skip
    assert edited.status_code == 200 and "data-edited" in edited.text
    admin = signed_in("admin")
    assert admin.post(f"/prospects/{p.id}/notes/{seed.id}/remove", data={"csrf_token": admin.csrf}).status_code == 200
    assert texts(settings, p.id) == ["Send ROI proposal by Friday"]
    viewer = signed_in("viewer")
    assert "note-form" not in viewer.get(f"/prospects/{p.id}").text
    assert viewer.post(f"/prospects/{p.id}/notes", data={"csrf_token": viewer.csrf, "text": "x"}).status_code == 403


def test_a_note_is_changed_only_under_its_own_prospects_address(settings, signed_in):
    """An admin's edit posted under another prospect's address changed the note and sent them to the
    wrong prospect saying "note-edited"."""
    apex = make_prospect(settings, name="Apex Plumbing", notes="Gate code 1234")
    royal = make_prospect(settings, name="Royal Plumbing Co")
    with unit_of_work(settings, readonly=True) as session:
        (note,) = notes.for_prospect(session, apex.id)
    admin = signed_in("admin")
    before = snapshot(settings)
    for verb, data in (("edit", {"text": "changed"}), ("remove", {})):
        wrong = admin.post(f"/prospects/{royal.id}/notes/{note.id}/{verb}", data={"csrf_token": admin.csrf, **data},
                           follow_redirects=False)  # fmt: skip
        assert wrong.status_code == 404 and f"no note with id '{note.id}' on {royal.id}" in wrong.json()["message"]
    assert snapshot(settings) == before and texts(settings, apex.id) == ["Gate code 1234"]
    right = admin.post(f"/prospects/{apex.id}/notes/{note.id}/edit", data={"csrf_token": admin.csrf, "text": "x"})
    assert right.status_code == 200 and texts(settings, apex.id) == ["x"]


def test_tasks_on_the_prospect_page_and_the_tasks_page(settings, signed_in):
    p = make_prospect(settings, name="Baker Roofing")
    ann = signed_in("member", "ann@example.com")
    make_user(settings, "bob@example.com", "member")
    form = {"csrf_token": ann.csrf, "title": "Send ROI proposal", "due": "2020-01-02T10:00", "kind": "proposal",
            "owner": "ann@example.com"}  # fmt: skip
    assert ann.post(f"/prospects/{p.id}/tasks", data=form, follow_redirects=False).status_code == 303
    with unit_of_work(settings) as session:
        (task,) = tasks.search(session, prospect_id=p.id)
        tasks.create(session, TaskCreate(title="Order the vans", owner="bob@example.com", due="2099-01-01"), actor="x")
    page = ann.get(f"/prospects/{p.id}").text
    assert re.search(rf'id="task-{task.id}" class="overdue"', page) and "overdue ·" in page
    before = snapshot(settings)
    bad = ann.post(f"/prospects/{p.id}/tasks", data={**form, "title": "", "due": "someday"})
    assert bad.status_code == 422 and "Title:" in error_line(bad.text) and "Due:" in error_line(bad.text)
    assert snapshot(settings) == before
    mine = ann.get("/tasks").text  # mine, open
    assert "Send ROI proposal" in mine and "Order the vans" not in mine
    assert "Order the vans" in ann.get("/tasks?whose=all").text
    snoozed = ann.post(f"/prospects/{p.id}/tasks/{task.id}/snooze", data={"csrf_token": ann.csrf, "snooze": "3d"},
                       follow_redirects=False)  # fmt: skip
    assert snoozed.status_code == 303
    done = ann.post(f"/tasks/{task.id}/complete?next=/tasks%3Fwhose%3Dmine", data={"csrf_token": ann.csrf},
                    follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/tasks?whose=mine&ok=done"
    assert "Send ROI proposal" in ann.get("/tasks?state=done").text
    assert "Send ROI proposal" not in ann.get("/tasks").text
    reopened = ann.post(f"/prospects/{p.id}/tasks/{task.id}/reopen", data={"csrf_token": ann.csrf},
                        follow_redirects=False)  # fmt: skip
    assert reopened.status_code == 303
    with unit_of_work(settings, readonly=True) as session:
        assert tasks.get(session, task.id).done_at is None
    assert 'href="/tasks"' in mine  # in the main navigation


def test_the_customer_page_shows_its_notes_and_open_tasks(settings, page_client):
    from tests.web.helpers import make_customer

    p = make_prospect(settings, name="Royal Plumbing Co", notes="Pays by cheque")
    customer = make_customer(settings, p.id)
    with unit_of_work(settings) as session:
        notes.add(session, p.id, "Wants a monthly call", actor="user:ann@example.com")
        tasks.create(session, TaskCreate(title="Send the monthly report", customer_id=customer), actor="x")
    page = page_client.get(f"/customers/{customer}").text
    assert page.index("Pays by cheque") < page.index("Wants a monthly call")
    assert "Send the monthly report" in page and f'href="/prospects/{p.id}#notes"' in page
