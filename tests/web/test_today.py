"""The Today page (issue 17.2): calls today and coming up (our time and theirs), replies waiting
with their text, tasks due with one-click complete / snooze / give to, overdue in red; the same
figures as ``leadline today``."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from leadline import clock
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate
from tests.conftest import Cli, make_user
from tests.factories import make_prospect
from tests.web.conftest import shoot
from tests.web.helpers import book_call, book_call_later_today, send_email


def _day(settings):
    """Royal: a call today; Harbor (New York): a call in three days; Baker: a reply waiting;
    an overdue task of the admin's and one of someone else."""
    royal = make_prospect(settings, name="Royal Plumbing Co", phone="(312) 555-0142")
    harbor = make_prospect(settings, name="Harbor Electric", timezone="America/New_York")
    baker = make_prospect(settings, name="Baker Roofing", contact_name="Mia Baker")
    book_call_later_today(settings, royal.id, notes="Intro call")
    book_call(settings, harbor.id, days=3)
    email_id = send_email(settings, baker.id)
    make_user(settings, "ann@example.com", "member")
    with unit_of_work(settings) as session:
        emails.record_reply(session, email_id, "Sounds good. Can you call Thursday?", actor="test")
        late = tasks.create(session, TaskCreate(title="Send ROI proposal", prospect_id=royal.id, kind="proposal",
                                                due=clock.utc_now() - timedelta(days=2), owner="admin@example.com"),
                            actor="test").id  # fmt: skip
        tasks.create(session, TaskCreate(title="Check Ann's list", due=clock.utc_now() - timedelta(hours=1),
                                         owner="ann@example.com"), actor="test")  # fmt: skip
    return {"royal": royal, "harbor": harbor, "baker": baker, "email": email_id, "late": late}


def test_the_page_lists_the_days_work_as_the_cli_does(page_client, settings):
    day = _day(settings)
    html = page_client.get("/today").text
    cli = Cli(settings)("today", "--json").json
    assert len(cli["calls"]) == 1 and len(cli["replies"]) == 1 and len(cli["tasks"]) == 2
    assert "1 call to make today · 2 tasks due · 1 reply waiting" in " ".join(html.split())  # the lists' lengths
    assert html.count("data-call=") == 2  # today's and the coming one
    assert "Royal Plumbing Co" in html and 'href="tel:(312)555-0142"' in html
    assert "EST their time" in html  # Harbor's clock beside ours
    assert "Sounds good. Can you call Thursday?" in html and f'href="/emails/{day["email"]}/reply"' in html
    assert 'class="badge bad overdue" data-task-state="overdue"' in html
    assert '<a href="/today" aria-current="page">Today</a>' in html


def test_complete_snooze_and_give_a_task_in_one_click(admin_page, live):
    day = _day(live.settings)
    page = admin_page
    page.goto("/today")
    shoot(page, "today")
    task = page.locator(f"#task-{day['late']}")
    expect(task).to_have_class("overdue")
    task.get_by_role("button", name="+1d").click()
    page.wait_for_url("**/today?ok=snoozed")
    expect(page.locator(f"#task-{day['late']}")).to_have_count(0)  # no longer due today
    with unit_of_work(live.settings, readonly=True) as session:
        assert tasks.get(session, day["late"]).due_at > clock.utc_now()
    other = page.locator("[data-task]").filter(has_text="Check Ann's list")
    other.get_by_role("button", name="Complete").click()
    page.wait_for_url("**/today?ok=done")
    assert page.get_by_role("status").inner_text() == "The task is done."
    expect(page.locator("[data-task]")).to_have_count(0)
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "today-phone")


def test_give_a_task_to_someone_else(page_client, settings):
    day = _day(settings)
    given = page_client.post(f"/tasks/{day['late']}/owner?next=/today",
                             data={"csrf_token": page_client.csrf, "owner": "ann@example.com"})  # fmt: skip
    assert given.status_code == 200 and "The task has a new owner." in given.text
    with unit_of_work(settings, readonly=True) as session:
        assert tasks.get(session, day["late"]).owner == "ann@example.com"
