"""Bulk actions on prospects (prospects.bulk): tags, owner, tier, stage, do-not-contact, Undo."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from leadline.db import unit_of_work
from leadline.errors import Conflict, Invalid
from leadline.prospects import bulk, service
from leadline.prospects.schemas import BulkRequest, ProspectFilter
from tests.conftest import make_user
from tests.factories import make_prospect, snapshot


def request(**values) -> BulkRequest:
    return BulkRequest.model_validate(values)


def state(settings) -> dict[str, tuple]:
    """Each prospect's owner, tier, stage, do-not-contact and tags."""
    with unit_of_work(settings, readonly=True) as session:
        rows = session.execute(text("SELECT id, owner, tier, sales_status, do_not_contact FROM prospects")).all()
        tags = service.tags_of(session, [row[0] for row in rows])
    return {row[0]: (row[1], row[2], row[3], bool(row[4]), tuple(tags.get(row[0], []))) for row in rows}


@pytest.fixture
def roofers(settings):
    made = [make_prospect(settings, name=f"Roofer {n}", trade="roofing", tier=2) for n in range(6)]
    made += [make_prospect(settings, name=f"Plumber {n}", trade="plumbing", tier=3) for n in range(3)]
    return [p.id for p in made]


class TestSelection:
    def test_all_matching_selects_exactly_the_filter(self, settings, roofers):
        operation_id = bulk.start(
            settings, request(allMatching=True, filters={"trade": "roofing"}, addTags=["Q3 Roofers"]), actor="test"
        )
        with unit_of_work(settings, readonly=True) as session:
            result = bulk.read(session, operation_id)
            tagged = service.search(session, ProspectFilter(tag="q3 roofers").query(), limit=50)
        assert (result.status, result.total, result.done, result.changed) == ("done", 6, 6, 6)
        assert sorted(p.id for p in tagged.items) == sorted(roofers[:6])

    def test_ids_missing_are_skipped_and_said(self, settings, roofers):
        operation_id = bulk.start(settings, request(ids=[roofers[0], "nobody"], tier=1), actor="test")
        with unit_of_work(settings, readonly=True) as session:
            result = bulk.read(session, operation_id)
        assert (result.total, result.changed, result.skipped) == (2, 1, 1)
        assert result.skips[0].reason == "no such prospect"
        assert state(settings)[roofers[0]][1] == 1


class TestPreview:
    def test_counts_who_would_change_and_who_is_skipped_and_changes_nothing(self, settings, roofers):
        bulk.start(settings, request(ids=roofers[:2], addTags=["hot"]), actor="test")
        before = snapshot(settings)
        with unit_of_work(settings, readonly=True) as session:
            preview = bulk.preview(session, request(allMatching=True, filters={"trade": "roofing"}, addTags=["hot"]))
        assert (preview.total, preview.will_change) == (6, 4)
        assert [(s.reason, s.count) for s in preview.skipped] == [("already tagged 'hot'", 2)]
        assert snapshot(settings) == before


class TestUndo:
    def test_undo_restores_exactly(self, settings, roofers):
        make_user(settings, "ann@example.com")
        make_user(settings, "bob@example.com")
        bulk.start(settings, request(ids=roofers[:2], addTags=["old"]), actor="test")
        before = state(settings)
        operation_id = bulk.start(
            settings,
            request(allMatching=True, filters={"trade": "roofing"}, addTags=["new"], removeTags=["old"],
                    owners=["ann@example.com", "bob@example.com"], tier=1, stage="contacted", reason="called them"),
            actor="test",
        )  # fmt: skip
        after = state(settings)
        assert [after[p][1:4] for p in roofers[:6]] == [(1, "contacted", False)] * 6
        assert sorted(after[p][0] for p in roofers[:6]) == ["ann@example.com"] * 3 + ["bob@example.com"] * 3
        assert all(after[p][4] == ("new",) for p in roofers[:6])
        assert all(after[p] == before[p] for p in roofers[6:])
        with unit_of_work(settings, readonly=True) as session:
            moves = [e for e in service.timeline(session, roofers[0]) if e.type == "stage_change"]
        assert moves[-1].details["reason"] == "called them"
        bulk.undo(settings, operation_id, actor="test")
        assert state(settings) == before
        with unit_of_work(settings, readonly=True) as session:
            assert bulk.read(session, operation_id).status == "undone"

    def test_undo_twice_is_refused(self, settings, roofers):
        operation_id = bulk.start(settings, request(ids=roofers[:1], tier=1), actor="test")
        bulk.undo(settings, operation_id, actor="test")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="already undone"):
            bulk.undo(settings, operation_id, actor="test")
        assert snapshot(settings) == before

    def test_do_not_contact_has_no_undo(self, settings, roofers):
        operation_id = bulk.start(settings, request(ids=roofers[:2], doNotContact=True, reason="asked"), actor="t")
        assert [state(settings)[p][3] for p in roofers[:3]] == [True, True, False]
        before = snapshot(settings)
        with pytest.raises(Conflict, match="cannot be undone"):
            bulk.undo(settings, operation_id, actor="test")
        assert snapshot(settings) == before


class TestRefusals:
    def test_a_stage_move_without_a_reason_is_refused(self, settings, roofers):
        with pytest.raises(ValidationError, match="needs a reason"):
            request(ids=roofers, stage="contacted")

    def test_an_owner_who_is_not_a_user_is_refused_and_nothing_changes(self, settings, roofers):
        before = snapshot(settings)
        with pytest.raises(Invalid, match="not a user"):
            bulk.start(settings, request(ids=roofers, owner="nobody@example.com"), actor="test")
        assert snapshot(settings) == before

    @pytest.mark.parametrize(
        "values",
        [{"ids": []}, {"ids": ["a"]}, {"ids": ["a"], "allMatching": True, "tier": 1},
         {"ids": ["a"], "addTags": ["x"], "removeTags": ["X"]}, {"ids": ["a"], "addTags": ["bad,tag!"]},
         {"ids": ["a"], "tier": 4}, {"ids": ["a"], "stage": "won", "reason": "x"},
         {"allMatching": True, "filters": {"trde": "roofing"}, "tier": 1}],  # a misspelt filter is not "all"
    )  # fmt: skip
    def test_bad_requests_are_refused(self, values):
        with pytest.raises(ValidationError):
            BulkRequest.model_validate(values)

    def test_impossible_stage_moves_are_skipped_with_the_services_words(self, settings, roofers):
        operation_id = bulk.start(settings, request(ids=roofers[:2], stage="closed_won", reason="won"), actor="t")
        with unit_of_work(settings, readonly=True) as session:
            result = bulk.read(session, operation_id)
        assert (result.changed, result.skipped) == (0, 2)
        assert "no customer record" in result.skips[0].reason
        assert {state(settings)[p][2] for p in roofers[:2]} == {"new"}


class TestBackground:
    def test_a_large_selection_waits_for_the_worker_then_runs_in_batches(self, settings, roofers, monkeypatch):
        import leadline.worker  # noqa: F401  (registers the jobs)
        from leadline.jobs import run_registered

        monkeypatch.setattr(bulk, "BACKGROUND_OVER", 3)
        monkeypatch.setattr(bulk, "BATCH", 2)
        before = state(settings)
        operation_id = bulk.start(settings, request(allMatching=True, filters={}, addTags=["later"]), actor="t")
        assert state(settings) == before  # queued: the worker runs it
        seen = []
        monkeypatch.setattr(
            bulk, "apply_batch", lambda s, o, items, f=bulk.apply_batch: seen.append(len(items)) or f(s, o, items)
        )
        run_registered(settings, "prospects.bulk_run", operation_id)
        assert seen == [2, 2, 2, 2, 1]
        with unit_of_work(settings, readonly=True) as session:
            assert bulk.read(session, operation_id).status == "done"
        assert all(row[4] == ("later",) for row in state(settings).values())


class TestApi:
    def test_dry_run_then_run_then_progress_then_undo(self, settings, client, roofers):
        body = {"allMatching": True, "filters": {"trade": "roofing"}, "addTags": ["hot"], "tier": 1}
        before, as_was = snapshot(settings), state(settings)
        preview = client.post("/api/prospects/bulk", json={**body, "dryRun": True})
        assert preview.status_code == 200, preview.text
        assert (preview.json()["total"], preview.json()["willChange"]) == (6, 6)
        assert snapshot(settings) == before
        done = client.post("/api/prospects/bulk", json=body)
        assert done.status_code == 200, done.text
        operation = done.json()
        assert (operation["status"], operation["changed"], operation["undoable"]) == ("done", 6, True)
        tagged = client.get("/api/prospects", params={"tag": "hot", "limit": 50}).json()["items"]
        assert sorted(p["id"] for p in tagged) == sorted(roofers[:6])
        assert client.get(f"/api/prospects/bulk/{operation['id']}").json()["done"] == 6
        undone = client.post(f"/api/prospects/bulk/{operation['id']}/undo")
        assert undone.status_code == 200 and undone.json()["status"] == "undone"
        assert state(settings) == as_was
        assert client.get("/api/prospects", params={"tag": "hot"}).json()["items"] == []
        assert all(p["tier"] == 2 for p in client.get("/api/prospects", params={"trade": "roofing"}).json()["items"])

    def test_refusals_name_the_field_and_change_nothing(self, settings, client, roofers):
        before = snapshot(settings)
        response = client.post("/api/prospects/bulk", json={"ids": roofers[:2], "stage": "contacted"})
        assert response.status_code == 422 and "reason" in response.text
        response = client.post("/api/prospects/bulk", json={"ids": roofers[:2], "owner": "ghost@example.com"})
        assert response.status_code == 422 and "owner" in response.text
        assert client.get("/api/prospects/bulk/nope").status_code == 404
        assert client.post("/api/prospects/bulk/nope/undo").status_code == 404
        assert snapshot(settings) == before


def test_an_owner_who_is_not_a_user_is_refused_on_every_path_as_the_bulk_refuses_it(settings, client, cli):
    """Adding, editing and the API took any address as an owner (only the bulk change refused one)."""
    p = make_prospect(settings, name="Owned Plumbing")
    before = snapshot(settings)
    said = "owner: 'ghost@example.com' is not a user (see leadline users list)"
    added = cli("prospects", "add", "--name", "Ghost Plumbing", "--owner", "ghost@example.com")
    assert (added.exit_code, added.stderr) == (1, f"error: {said}\n")
    updated = cli("prospects", "update", p.id, "--owner", "ghost@example.com")
    assert (updated.exit_code, updated.stderr) == (1, f"error: {said}\n")
    patched = client.patch(f"/api/prospects/{p.id}", json={"owner": "ghost@example.com"})
    assert patched.status_code == 422 and patched.json()["field"] == "owner", patched.text
    task = client.post("/api/tasks", json={"title": "Call", "prospectId": p.id, "owner": "ghost@example.com"})
    assert task.status_code == 422 and task.json()["field"] == "owner", task.text
    assert snapshot(settings) == before
    make_user(settings, "ann@example.com", "member")
    assert cli("prospects", "update", p.id, "--owner", "ANN@example.com").exit_code == 0
    assert client.get(f"/api/prospects/{p.id}").json()["owner"] == "ann@example.com"


class TestResume:
    def test_an_operation_a_stopped_process_left_is_resumed_by_the_sweep(self, settings, roofers):
        from datetime import timedelta

        from leadline.clock import utc_now

        operation_id = bulk.start(settings, request(ids=roofers, tier=1), actor="t", background=True)
        assert {row[1] for row in state(settings).values()} == {2, 3}  # not run: its queue entry was lost
        assert bulk.resume_stale(settings) == []  # too recent to be called stale
        with unit_of_work(settings) as session:
            session.execute(text("UPDATE bulk_operations SET updated_at = :t"), {"t": utc_now() - timedelta(hours=1)})
        assert bulk.resume_stale(settings) == [operation_id]
        assert {row[1] for row in state(settings).values()} == {1}


class TestCli:
    def test_bulk_then_list_by_tag_and_show_then_undo(self, settings, roofers):
        from tests.conftest import run_leadline

        env = {"LEADLINE_DATABASE_URL": settings.database_url, "LEADLINE_DATA_DIR": str(settings.data_dir)}
        done = run_leadline("prospects", "bulk", "--trade", "roofing", "--add-tag", "Storm", "--json", env=env)
        assert done.returncode == 0, done.stderr
        said = run_leadline("prospects", "bulk-status", json.loads(done.stdout)["id"], env=env).stdout
        assert ": done. Add tag storm to 6 prospects matching trade roofing: 6 selected, 6 changed, 0 skipped." in said
        listed = run_leadline("prospects", "list", "--tag", "storm", "--json", env=env)
        assert listed.returncode == 0 and listed.stdout.count('"id"') == 6
        shown = run_leadline("prospects", "show", roofers[0], env=env)
        assert "storm" in shown.stdout
        before = snapshot(settings)
        refused = run_leadline("prospects", "bulk", "--trade", "roofing", "--stage", "contacted", env=env)
        assert refused.returncode == 1 and "reason" in refused.stderr
        assert snapshot(settings) == before
