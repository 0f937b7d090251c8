"""Notes and tasks in a real browser: two notes shown in order, editing one's own note (not another's
as a member), completing a task from the prospect page, overdue tasks in red."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.notes import service as notes
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate
from tests.conftest import make_user
from tests.factories import make_prospect
from tests.web.conftest import shoot, sign_in


def test_two_notes_in_order_and_editing_ones_own(page, live):
    baker = make_prospect(live.settings, name="Baker Roofing")
    with unit_of_work(live.settings) as session:
        notes.add(session, baker.id, "Bob's note: owner is away in June", actor="user:bob@example.com")
    sign_in(page, make_user(live.settings, "ann@example.com", "member"))
    page.goto(f"/prospects/{baker.id}")
    form = page.locator("#note-form")
    form.get_by_label("Add a note").fill("Daniel prefers text messages")
    form.get_by_role("button", name="Add the note").click()
    page.wait_for_url("**done=noted")
    page.locator("#note-form").get_by_label("Add a note").fill("Send ROI proposal\nand the case studies")
    page.locator("#note-form").get_by_role("button", name="Add the note").click()
    page.wait_for_url("**done=noted")
    shown = page.locator("[data-note] .text").all_inner_texts()
    assert shown == ["Bob's note: owner is away in June", "Daniel prefers text messages",
                     "Send ROI proposal\nand the case studies"]  # fmt: skip
    bobs, first, _ = page.locator("[data-note]").all()
    assert bobs.get_by_text("Edit or remove").count() == 0  # a member may not change Bob's note
    first.get_by_text("Edit or remove").click()
    first.get_by_label("Note").fill("Daniel prefers texts after 5pm")
    first.get_by_role("button", name="Save the note").click()
    page.wait_for_url("**done=note-edited")
    edited = page.locator("[data-note]").nth(1)
    assert edited.locator(".text").inner_text() == "Daniel prefers texts after 5pm"
    assert edited.locator("[data-edited]").inner_text().startswith("edited ")
    timeline = page.get_by_role("region", name="Timeline").inner_text()
    assert "now reads: Daniel prefers texts after 5pm" in timeline
    shoot(page, "prospect-notes")
    with unit_of_work(live.settings, readonly=True) as session:
        stored = [(n.text, n.author) for n in notes.for_prospect(session, baker.id)]
    assert stored[0] == ("Bob's note: owner is away in June", "user:bob@example.com")
    assert stored[1] == ("Daniel prefers texts after 5pm", "user:ann@example.com")


def test_complete_a_task_from_the_prospect_page_and_overdue_is_red(admin_page, live):
    baker = make_prospect(live.settings, name="Baker Roofing")
    with unit_of_work(live.settings) as session:
        late = tasks.create(session, TaskCreate(title="Send ROI proposal", prospect_id=baker.id, kind="proposal",
                                                due="2020-01-02"), actor="user:admin@example.com").id  # fmt: skip
        tasks.create(session, TaskCreate(title="Check in after the holidays", prospect_id=baker.id, due="2099-01-05"),
                     actor="user:admin@example.com")  # fmt: skip
    tab = admin_page
    tab.goto(f"/prospects/{baker.id}")
    row = tab.locator(f"#task-{late}")
    badge = row.locator("[data-task-state=overdue]")
    assert badge.inner_text().startswith("overdue")
    assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(155, 28, 28)"  # --bad
    open_badge = tab.locator("[data-task-state=open]")
    assert open_badge.evaluate("e => getComputedStyle(e).color") != "rgb(155, 28, 28)"
    tab.goto("/tasks")
    assert tab.locator(f"#task-{late} [data-task-state=overdue]").evaluate(
        "e => getComputedStyle(e).color") == "rgb(155, 28, 28)"  # fmt: skip
    shoot(tab, "tasks")
    tab.goto(f"/prospects/{baker.id}")
    tab.locator(f"#task-{late}").get_by_role("button", name="Complete").click()
    tab.wait_for_url("**done=task-done")
    assert tab.get_by_role("status").inner_text() == "The task is done."
    assert tab.locator(f"#task-{late} [data-task-state=done]").count() == 1
    assert tab.locator(f"#task-{late}").get_by_role("button", name="Reopen").count() == 1
    with unit_of_work(live.settings, readonly=True) as session:
        assert tasks.get(session, late).done_by == "user:admin@example.com"
    shoot(tab, "prospect-tasks")
