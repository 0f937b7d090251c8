"""Tasks (list, add, done) and `leadline today` / GET /api/today."""

from __future__ import annotations

import pytest

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects import service as prospects
from tests.calls.helpers import book, entries, freeze, local, log, prospect
from tests.factories import make_prospect, snapshot
from tests.web.helpers import make_customer


def email(settings, prospect_id: str, *, sent: str, replied: str | None = None, reply: str | None = None) -> None:
    """An email row as the emails domain would leave it (only its state matters here)."""
    with unit_of_work(settings) as session:
        p = prospects.get(session, prospect_id)
        session.add(
            EmailActivity(
                id=f"em_{prospect_id}_{sent[-5:].replace(':', '')}", prospect_id=prospect_id,
                email_type="pain_point", template="pain_point", subject=f"{p.name}: your opportunity",
                to_email=p.email or "x@example.com", from_email="sales@example.com",
                status="replied" if replied else "sent", sent_at=local(sent),
                replied_at=local(replied) if replied else None, reply_text=reply,
            )
        )  # fmt: skip


class TestTasks:
    def test_add_list_done_and_the_follow_up_date(self, settings, cli):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings, name="Royal Plumbing Co")
        added = cli(
            "tasks",
            "add",
            "--title",
            "Send case studies",
            "--prospect",
            p.id,
            "--due",
            "2025-11-20",
            "--json",
        )
        assert added.exit_code == 0, added.stderr
        task = added.json
        assert (task["kind"], task["dueAt"], task["prospectName"]) == (
            "manual",
            "2025-11-20T15:00:00Z",
            "Royal Plumbing Co",
        )
        assert prospect(settings, p.id).next_follow_up_at == local("2025-11-20 09:00")
        mine = cli("tasks", "add", "--title", "Order business cards", "--json").json
        assert mine["prospectId"] is None and mine["dueAt"] == "2025-11-18T15:00:00Z"  # due now
        listing = cli("tasks", "list").stdout
        assert "Send case studies" in listing and "Order business cards" in listing and "2 tasks" in listing
        assert [t["id"] for t in cli("tasks", "list", "--prospect", p.id, "--json").json] == [task["id"]]
        done = cli("tasks", "done", task["id"])
        assert done.exit_code == 0 and "Done: Send case studies." in done.stdout
        assert prospect(settings, p.id).next_follow_up_at is None
        assert [e["status"] for e in entries(settings, p.id, "task")] == ["created", "done"]
        assert [t["id"] for t in cli("tasks", "list", "--state", "done", "--json").json] == [task["id"]]
        before = snapshot(settings)
        again = cli("tasks", "done", task["id"])
        assert again.exit_code == 1 and "was already done" in again.stderr
        assert snapshot(settings) == before

    def test_due_filters(self, cli):
        freeze("2025-11-18 09:00")
        cli("tasks", "add", "--title", "yesterday", "--due", "2025-11-17 10:00")
        cli("tasks", "add", "--title", "tonight", "--due", "2025-11-18 22:00")
        cli("tasks", "add", "--title", "friday", "--due", "2025-11-21")
        titles = lambda *a: [t["title"] for t in cli("tasks", "list", *a, "--json").json]  # noqa: E731
        assert titles("--due", "overdue") == ["yesterday"]
        assert titles("--due", "today") == ["yesterday", "tonight"]
        assert titles() == ["yesterday", "tonight", "friday"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--title", ""], "error: title: must not be empty"),
            (["--title", "x", "--due", "someday"], "error: due: 'someday' is not a date"),
            (["--title", "x", "--prospect", "nobody"], "error: --prospect: no prospect with id 'nobody'"),
            (["--title", "x", "--due", "2026-03-08 02:30"], "error: due: 2026-03-08 02:30 does not exist"),
        ],
    )
    def test_bad_input_changes_nothing(self, settings, cli, args, message):
        make_prospect(settings)
        before = snapshot(settings)
        result = cli("tasks", "add", *args)
        assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
        assert snapshot(settings) == before

    def test_api(self, settings, client):
        freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        created = client.post("/api/tasks", json={"title": "Call back", "prospectId": p.id, "due": "2025-11-19 14:00"})
        assert created.status_code == 201, created.text
        task = created.json()
        assert task["dueAt"] == "2025-11-19T20:00:00Z"
        assert [t["id"] for t in client.get("/api/tasks").json()] == [task["id"]]
        assert client.get("/api/tasks", params={"due": "today"}).json() == []
        done = client.post(f"/api/tasks/{task['id']}/done")
        assert done.status_code == 200 and done.json()["doneAt"] == "2025-11-18T15:00:00Z"
        assert client.post(f"/api/tasks/{task['id']}/done").status_code == 409
        assert client.post("/api/tasks/task_nope/done").json()["field"] == "taskId"
        bad = client.post("/api/tasks", json={"title": "x", "due": "soon"})
        assert bad.status_code == 422 and bad.json()["field"] == "due"


class TestToday:
    def test_every_section(self, settings, cli, client):
        freeze("2025-11-17 10:00")
        royal = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", phone="(512) 555-0142",
                              grid_health=48, sales_status="replied")  # fmt: skip
        log(settings, royal.id, "follow_up", objections=["How much will this cost?"], follow_up_at="2025-11-18 08:00")
        book(settings, royal.id, "2025-11-18 15:00")
        book(settings, make_prospect(settings, name="Later Gutters").id, "2025-11-20 11:00")  # coming up
        quiet = make_prospect(settings, name="Quiet HVAC")
        log(settings, quiet.id, "interested", next_step_due="2025-11-17 12:00")  # overdue tomorrow, no call booked
        waiting = make_prospect(settings, name="Waiting Roofing", contact_name="Ann Lee", sales_status="replied")
        email(settings, waiting.id, sent="2025-11-14 08:30", replied="2025-11-14 14:00", reply="Interested! Friday?")
        answered = make_prospect(settings, name="Answered Electric", sales_status="replied")
        email(settings, answered.id, sent="2025-11-14 08:30", replied="2025-11-14 14:00")
        email(settings, answered.id, sent="2025-11-15 09:00")  # we wrote back
        freeze("2025-11-18 09:00")

        day = cli("today", "--json").json
        assert day["date"] == "2025-11-18" and day["timezone"] == "America/Chicago"
        assert [(c["prospectName"], c["scheduledAt"], c["overdue"]) for c in day["calls"]] == [
            ("Royal Plumbing Co", "2025-11-18T21:00:00Z", False)
        ]
        call = day["calls"][0]
        assert (call["phone"], call["gridHealth"], call["pastObjections"]) == (
            "(512) 555-0142", 48, ["How much will this cost?"],
        )  # fmt: skip
        # Quiet HVAC's follow-up date is its overdue task's due time: listed once, as the task (it was
        # listed under both, and the Today page counted it overdue twice).
        assert day["overdueFollowUps"] == []
        assert [t["prospectName"] for t in day["tasks"]] == ["Quiet HVAC", "Royal Plumbing Co"]
        assert [(r["prospectName"], r["replyText"]) for r in day["replies"]] == [
            ("Waiting Roofing", "Interested! Friday?")
        ]
        assert [c["prospectName"] for c in day["upcomingCalls"]] == ["Later Gutters"]
        assert client.get("/api/today").json() == day

        text = cli("today").stdout  # what the JSON and the Today page hold (the text left the coming calls out)
        for line in ("Today, 2025-11-18 (America/Chicago)", "Calls", "15:00", "Royal Plumbing Co (Daniel Reyes)",
                     "How much will this cost?", "Coming up (the next 7 days)", "Thu 2025-11-20 11:00",
                     "Later Gutters", "Overdue follow-ups: none", "Quiet HVAC", "Tasks", "(overdue)",
                     "Replies to answer", "Waiting Roofing", "Interested! Friday?"):  # fmt: skip
            assert line in text, line

    def test_a_reply_waits_for_an_answer_whatever_the_stage_until_a_call_or_email_answers_it(self, settings, cli):
        """A reply from a prospect further along than "replied" (a question after a call, about a
        proposal) used to be left off; a call held before the reply does not answer it."""
        freeze("2025-11-17 10:00")
        called = make_prospect(settings, name="Called Plumbing", sales_status="contacted")
        log(settings, called.id, "interested")  # a call held before the reply: stage Called
        email(settings, called.id, sent="2025-11-17 10:30", replied="2025-11-17 11:00", reply="Call me tomorrow?")
        proposal = make_prospect(settings, name="Proposal Roofing", sales_status="proposal")
        email(settings, proposal.id, sent="2025-11-14 08:30", replied="2025-11-14 15:00", reply="Is install included?")
        lost = make_prospect(settings, name="Lost Gutters", sales_status="closed_lost")
        email(settings, lost.id, sent="2025-11-14 08:30", replied="2025-11-15 09:00", reply="Actually, let's talk")
        won = make_prospect(settings, name="Won Windows", sales_status="proposal")
        email(settings, won.id, sent="2025-11-14 08:30", replied="2025-11-14 16:00", reply="Thanks, invoice paid")
        make_customer(settings, won.id)  # a customer now: the reply is the account's, not the pipeline's
        booked = make_prospect(settings, name="Booked Heating", sales_status="replied")
        email(settings, booked.id, sent="2025-11-13 08:30", replied="2025-11-13 09:00")
        book(settings, booked.id, "2025-11-20 11:00")  # a call still to be held answers it
        rang = make_prospect(settings, name="Rang Back Electric", sales_status="replied")
        email(settings, rang.id, sent="2025-11-13 08:30", replied="2025-11-13 09:00")
        log(settings, rang.id, "follow_up")  # a call logged after the reply answers it
        freeze("2025-11-18 09:00")
        day = cli("today", "--json").json
        assert [r["prospectName"] for r in day["replies"]] == ["Proposal Roofing", "Lost Gutters", "Called Plumbing"]

    def test_an_empty_day(self, cli):
        text = cli("today").stdout
        for line in ("Calls: none booked for today", "Overdue follow-ups: none", "Tasks: none due",
                     "Replies to answer: none"):  # fmt: skip
            assert line in text
