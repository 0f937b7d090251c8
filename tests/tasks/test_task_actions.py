"""Tasks with an owner, a kind and a customer: edit, snooze, complete, reopen (service, API, CLI as a
process), and the one rule that completes an action's task when the action happens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.errors import Conflict, Invalid
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate, TaskUpdate
from tests.calls.helpers import entries, freeze, local, log, prospect
from tests.conftest import make_user, run_leadline, settings_env
from tests.factories import make_prospect, snapshot

ANN = "user:ann@example.com"


def add(settings, prospect_id: str | None, title: str, kind: str = "manual", actor: str = ANN, **extra) -> str:
    with unit_of_work(settings) as session:
        data = TaskCreate.model_validate({"title": title, "prospect_id": prospect_id, "kind": kind, **extra})
        return tasks.create(session, data, actor=actor).id


def state(settings, task_id: str) -> tuple[str, bool]:
    with unit_of_work(settings, readonly=True) as session:
        task = tasks.get(session, task_id)
        return task.kind, task.done_at is not None


class TestTheActionRule:
    def test_sending_the_proposal_completes_the_proposal_task(self, settings, cli):
        """The Baker case: sending his proposal left "Send ROI proposal" open."""
        baker = make_prospect(settings, name="Baker Roofing", sales_status="interested")
        other = make_prospect(settings, name="Royal Plumbing Co")
        proposal = add(settings, baker.id, "Send ROI proposal", "proposal", due="2099-01-02")
        follow_up = add(settings, baker.id, "Follow up on the proposal", "follow_up", due="2099-01-09")
        call_back = add(settings, baker.id, "Call Daniel back", "call_back", due="2099-01-03")
        manual = add(settings, baker.id, "Print case studies", due="2099-01-01")
        elsewhere = add(settings, other.id, "Send Royal's proposal", "proposal")
        result = cli("proposals", "send", "--prospect", baker.id, "--value", "2400")
        assert result.exit_code == 0, result.stderr
        # The proposal is an email too: the follow-up made before it is done as well.
        assert [state(settings, t)[1] for t in (proposal, follow_up, call_back, manual, elsewhere)] == [
            True, True, False, False, False]  # fmt: skip
        done = [e for e in entries(settings, baker.id, "task") if e["status"] == "done"]
        assert {e["title"]: e["because"] for e in done} == {
            "Send ROI proposal": "a proposal was sent", "Follow up on the proposal": "an email was sent"}  # fmt: skip
        assert prospect(settings, baker.id).next_follow_up_at == local("2099-01-01 09:00")  # the open ones remain

    def test_an_email_completes_follow_ups_and_a_logged_call_completes_call_backs(self, settings, cli):
        p = make_prospect(settings, name="Hughes Plumbing")
        follow_up = add(settings, p.id, "Email Mike again", "follow_up")
        call_back = add(settings, p.id, "Call Mike back", "call_back")
        sent = cli("emails", "send", "--template", "pain_point", "--prospect", p.id)
        assert sent.exit_code == 0, sent.stderr
        assert (state(settings, follow_up)[1], state(settings, call_back)[1]) == (True, False)
        log(settings, p.id, "interested")
        assert state(settings, call_back)[1] is True
        assert prospect(settings, p.id).next_follow_up_at is not None  # the logged call's own next step


class TestChanges:
    def test_edit_snooze_complete_reopen(self, settings):
        now = freeze("2025-11-18 09:00")
        p = make_prospect(settings)
        make_user(settings, "bob@example.com", "member")  # an owner is a user
        task = add(settings, p.id, "Call back", "call_back", due="2025-11-17 10:00")  # overdue
        with unit_of_work(settings) as session:
            snoozed = tasks.update(session, task, TaskUpdate(snooze="1d"), actor=ANN)
            assert snoozed.due_at == now + timedelta(days=1)  # from now: it was overdue
            again = tasks.update(session, task, TaskUpdate(snooze="1w"), actor=ANN)
            assert again.due_at == now + timedelta(days=8)  # from its later due date
            tasks.update(session, task, TaskUpdate.model_validate({"owner": "bob@example.com", "title": "Ring Bob"}),
                         actor=ANN)  # fmt: skip
        assert prospect(settings, p.id).next_follow_up_at == now + timedelta(days=8)
        with unit_of_work(settings) as session:
            tasks.complete(session, task, actor=ANN)
        assert prospect(settings, p.id).next_follow_up_at is None
        with unit_of_work(settings) as session:
            reopened = tasks.reopen(session, task, actor=ANN)
            assert (reopened.done_at, reopened.owner, reopened.title) == (None, "bob@example.com", "Ring Bob")
        assert prospect(settings, p.id).next_follow_up_at == now + timedelta(days=8)
        statuses = [e["status"] for e in entries(settings, p.id, "task")]
        assert statuses == ["created", "snoozed", "snoozed", "edited", "done", "reopened"]

    def test_the_owner_defaults_to_the_signed_in_user_and_a_customer_sets_its_prospect(self, settings, cli):
        p = make_prospect(settings, name="Royal Plumbing Co")
        won = cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "900")
        assert won.exit_code == 0, won.stderr
        customer = cli("customers", "list", "--json").json["items"][0]["id"]
        with unit_of_work(settings) as session:
            task = tasks.create(session, TaskCreate(title="Monthly report", customer_id=customer), actor=ANN)
            assert (task.owner, task.prospect_id, task.customer_id) == ("ann@example.com", p.id, customer)
            assert [t.id for t in tasks.search(session, customer_id=customer)] == [task.id]
            assert [t.id for t in tasks.search(session, owner="bob@example.com")] == []

    @pytest.mark.parametrize(("changes", "error", "message"), [
        ({"snooze": "1d", "due": "2025-12-01"}, Invalid, "not both"),
        ({"title": None}, Invalid, "cannot be empty"),
    ], ids=["both", "no-title"])  # fmt: skip
    def test_bad_changes_change_nothing(self, settings, changes, error, message):
        p = make_prospect(settings)
        task = add(settings, p.id, "Call back")
        before = snapshot(settings)
        with pytest.raises(error, match=message), unit_of_work(settings) as session:
            tasks.update(session, task, TaskUpdate.model_validate(changes), actor=ANN)
        with pytest.raises(Conflict, match="open already"), unit_of_work(settings) as session:
            tasks.reopen(session, task, actor=ANN)
        assert snapshot(settings) == before


class TestApi:
    def test_filters_edit_complete_reopen(self, settings, signed_in):
        p = make_prospect(settings)
        ann = signed_in("member", "ann@example.com")
        headers = {"X-CSRF-Token": ann.csrf}
        made = ann.post("/api/tasks", json={"title": "Send ROI proposal", "prospectId": p.id, "kind": "proposal",
                                            "due": "2099-01-02"}, headers=headers)  # fmt: skip
        assert made.status_code == 201, made.text
        task = made.json()
        assert (task["owner"], task["kind"]) == ("ann@example.com", "proposal")
        make_user(settings, "bob@example.com", "member")
        add(settings, None, "Bob's chore", owner="bob@example.com")
        mine = ann.get("/api/tasks", params={"owner": "me"}).json()
        assert [t["title"] for t in mine] == ["Send ROI proposal"]
        assert len(ann.get("/api/tasks").json()) == 2
        before = snapshot(settings)
        bad = ann.patch(f"/api/tasks/{task['id']}", json={"snooze": "2d"}, headers=headers)
        assert bad.status_code == 422 and "snooze" in bad.text
        assert ann.post("/api/tasks/task_nothing/complete", headers=headers).status_code == 404
        assert ann.post(f"/api/tasks/{task['id']}/reopen", headers=headers).status_code == 409
        assert snapshot(settings) == before
        moved = ann.patch(f"/api/tasks/{task['id']}", json={"snooze": "3d", "owner": "bob@example.com"},
                          headers=headers)  # fmt: skip
        assert moved.status_code == 200 and moved.json()["owner"] == "bob@example.com"
        assert moved.json()["dueAt"] == "2099-01-05T15:00:00Z"
        done = ann.post(f"/api/tasks/{task['id']}/complete", headers=headers)
        assert done.status_code == 200 and done.json()["doneBy"] == ANN
        assert [t["id"] for t in ann.get("/api/tasks", params={"state": "done"}).json()] == [task["id"]]
        assert ann.post(f"/api/tasks/{task['id']}/reopen", headers=headers).json()["doneAt"] is None


def test_the_cli_in_a_process(settings):
    env = settings_env(settings)
    p = make_prospect(settings, name="Baker Roofing")
    ghost = run_leadline("tasks", "add", "--title", "x", "--owner", "ann@example.com", env=env)
    assert (ghost.returncode, ghost.stderr) == (1, "error: owner: 'ann@example.com' is not a user (see leadline users "
                                                   "list)\n")  # fmt: skip
    make_user(settings, "ann@example.com", "member")
    added = run_leadline("tasks", "add", "--title", "Send ROI proposal", "--prospect", p.id, "--kind", "proposal",
                         "--owner", "ann@example.com", "--due", "2099-01-02", "--json", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    task = json.loads(added.stdout)
    assert (task["kind"], task["owner"]) == ("proposal", "ann@example.com")
    edited = run_leadline("tasks", "edit", task["id"], "--snooze", "1w", "--json", env=env)
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["dueAt"] == "2099-01-09T15:00:00Z"
    listed = run_leadline("tasks", "list", "--owner", "ann@example.com", env=env)
    assert "Send ROI proposal" in listed.stdout and "ann@example.com" in listed.stdout
    assert run_leadline("tasks", "complete", task["id"], env=env).returncode == 0
    before = snapshot(settings)
    again = run_leadline("tasks", "complete", task["id"], env=env)
    assert again.returncode == 1 and "was already done" in again.stderr
    nothing = run_leadline("tasks", "edit", task["id"], env=env)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr
    assert snapshot(settings) == before
    reopened = run_leadline("tasks", "reopen", task["id"], env=env)
    assert reopened.returncode == 0 and "Open again: Send ROI proposal" in reopened.stdout
    assert utc_now() < local("2099-01-09 09:00")
