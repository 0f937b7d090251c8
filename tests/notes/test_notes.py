"""Notes: each its own dated entry by its author; edited or removed by its author (an admin: any),
with the change on the timeline. Through the service, the API, the CLI (a real process) and imports."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadline.activity import service as activity
from leadline.db import unit_of_work
from leadline.errors import Forbidden, NotFound
from leadline.notes import service as notes
from leadline.prospects import service as prospects
from leadline.prospects.schemas import ProspectUpdate
from tests.conftest import run_leadline, settings_env
from tests.factories import make_prospect, snapshot

ANN, BOB = "user:ann@example.com", "user:bob@example.com"


def listed(settings, prospect_id: str) -> list[tuple[str, str]]:
    with unit_of_work(settings, readonly=True) as session:
        return [(n.text, n.author) for n in notes.for_prospect(session, prospect_id)]


def timeline(settings, prospect_id: str) -> list[tuple[str, str]]:
    with unit_of_work(settings, readonly=True) as session:
        return [(e.type, e.status) for e in activity.for_prospect(session, prospect_id) if e.type != "created"]


def add(settings, prospect_id: str, text: str, actor: str = ANN) -> str:
    with unit_of_work(settings) as session:
        return notes.add(session, prospect_id, text, actor=actor).id


class TestService:
    def test_a_second_note_keeps_the_first(self, settings):
        """The Baker case: saving a second note used to erase the first."""
        baker = make_prospect(settings, name="Baker Roofing", notes="Daniel prefers text messages")
        with unit_of_work(settings) as session:
            prospects.update(session, baker.id, ProspectUpdate(notes="Send ROI proposal by Friday"), actor=BOB)
        add(settings, baker.id, "Owner's wife runs the books", ANN)
        assert listed(settings, baker.id) == [
            ("Daniel prefers text messages", "test"),
            ("Send ROI proposal by Friday", BOB),
            ("Owner's wife runs the books", ANN),
        ]
        assert ("updated", "updated") not in timeline(settings, baker.id)  # no "notes: None -> ..." line
        with unit_of_work(settings, readonly=True) as session:
            assert prospects.read(session, [prospects.get(session, baker.id)])[0].notes == "Owner's wife runs the books"

    def test_the_author_edits_and_removes_and_the_timeline_keeps_both(self, settings):
        p = make_prospect(settings)
        first = add(settings, p.id, "Call after 5pm")
        second = add(settings, p.id, "Has two vans")
        with unit_of_work(settings) as session:
            notes.edit(session, first, "Call after 6pm", actor=ANN)
        with unit_of_work(settings, readonly=True) as session:
            shown = notes.for_prospect(session, p.id)
        assert [n.text for n in shown] == ["Call after 6pm", "Has two vans"]
        assert shown[0].edited_at is not None and shown[0].edited_by == ANN and shown[1].edited_at is None
        with unit_of_work(settings) as session:
            notes.remove(session, second, actor=ANN)
        assert listed(settings, p.id) == [("Call after 6pm", ANN)]
        assert timeline(settings, p.id) == [("note", "added"), ("note", "edited"), ("note", "removed")]
        with unit_of_work(settings, readonly=True) as session:
            removed = activity.for_prospect(session, p.id)[-1]
            assert removed.details["before"] == "Has two vans" and removed.actor == ANN

    def test_someone_else_may_not_change_a_note_but_an_admin_may(self, settings):
        p = make_prospect(settings)
        note = add(settings, p.id, "Ann's note")
        before = snapshot(settings)
        for change in (lambda s: notes.edit(s, note, "Bob was here", actor=BOB),
                       lambda s: notes.remove(s, note, actor=BOB)):  # fmt: skip
            with pytest.raises(Forbidden, match="only its author"), unit_of_work(settings) as session:
                change(session)
        assert snapshot(settings) == before
        with unit_of_work(settings) as session:
            notes.edit(session, note, "Fixed by the admin", actor="user:admin@example.com", admin=True)
        assert listed(settings, p.id) == [("Fixed by the admin", ANN)]

    @pytest.mark.parametrize(("text", "problem"), [("", "cannot be empty"), ("  \n ", "cannot be empty"),
                                                   ("x" * 10_001, "at most 10000")], ids=["empty", "blank", "long"])  # fmt: skip
    def test_bad_text_is_refused_and_changes_nothing(self, settings, text, problem):
        p = make_prospect(settings)
        note = add(settings, p.id, "kept")
        before = snapshot(settings)
        with pytest.raises(ValidationError, match=problem), unit_of_work(settings) as session:
            notes.add(session, p.id, text, actor=ANN)
        with pytest.raises(ValidationError, match=problem), unit_of_work(settings) as session:
            notes.edit(session, note, text, actor=ANN)
        with pytest.raises(NotFound, match="no prospect"), unit_of_work(settings) as session:
            notes.add(session, "nobody", "hello", actor=ANN)
        with pytest.raises(NotFound, match="no note"), unit_of_work(settings) as session:
            notes.edit(session, "act_nothing", "hello", actor=ANN)
        assert snapshot(settings) == before

    def test_line_breaks_are_kept_and_controls_dropped(self, settings):
        p = make_prospect(settings)
        add(settings, p.id, "first\r\nsecond\x1b[31m")
        assert listed(settings, p.id)[0][0] == "first\nsecond[31m"


class TestImport:
    def test_a_notes_column_adds_a_note_once(self, settings, cli, tmp_path):
        p = make_prospect(settings, name="Royal Plumbing Co", email="d@royal.com", notes="Met at the trade show")
        path = tmp_path / "p.csv"
        path.write_text("email,notes\nd@royal.com,Wants a quote in March\nnew@x.com,\n", encoding="utf-8")
        path.write_text("name,email,notes\nRoyal Plumbing Co,d@royal.com,Wants a quote in March\n"
                        "New Co,new@x.com,First contact by phone\n", encoding="utf-8")  # fmt: skip
        result = cli("prospects", "import", str(path))
        assert result.exit_code == 0, result.stderr
        assert "1 created, 1 updated, 0 unchanged" in result.stdout
        assert [t for t, _ in listed(settings, p.id)] == ["Met at the trade show", "Wants a quote in March"]
        again = cli("prospects", "import", str(path))
        assert "0 created, 0 updated, 2 unchanged" in again.stdout, again.stdout
        assert len(listed(settings, p.id)) == 2
        with unit_of_work(settings, readonly=True) as session:
            new = prospects.find_by_email(session, "new@x.com")
            assert new is not None
            assert [n.text for n in notes.for_prospect(session, new.id)] == ["First contact by phone"]


class TestApi:
    def test_list_add_edit_remove(self, settings, signed_in):
        p = make_prospect(settings, notes="From the seed")
        ann = signed_in("member", "ann@example.com")
        bob = signed_in("member", "bob@example.com")
        headers = lambda c: {"X-CSRF-Token": c.csrf}  # noqa: E731
        added = ann.post(f"/api/prospects/{p.id}/notes", json={"text": "Daniel prefers texts"}, headers=headers(ann))
        assert added.status_code == 201, added.text
        note = added.json()
        assert (note["author"], note["editedAt"]) == (ANN, None)
        shown = bob.get(f"/api/prospects/{p.id}/notes").json()
        assert [n["text"] for n in shown] == ["From the seed", "Daniel prefers texts"]
        assert bob.get(f"/api/prospects/{p.id}").json()["notes"] == "Daniel prefers texts"
        before = snapshot(settings)
        refused = bob.patch(f"/api/notes/{note['id']}", json={"text": "mine now"}, headers=headers(bob))
        assert refused.status_code == 403 and refused.json()["field"] == "noteId"
        assert bob.delete(f"/api/notes/{note['id']}", headers=headers(bob)).status_code == 403
        blank = ann.patch(f"/api/notes/{note['id']}", json={"text": " "}, headers=headers(ann))
        assert blank.status_code == 422 and "text" in blank.text
        long = ann.patch(f"/api/notes/{note['id']}", json={"text": "x" * 10_001}, headers=headers(ann))
        assert long.status_code == 422 and long.json()["message"] == "text: must be at most 10000 characters", long.text
        assert snapshot(settings) == before
        edited = ann.patch(f"/api/notes/{note['id']}", json={"text": "Daniel prefers texts after 5pm"},
                           headers=headers(ann))  # fmt: skip
        assert edited.status_code == 200 and edited.json()["editedAt"] is not None
        assert ann.delete(f"/api/notes/{note['id']}", headers=headers(ann)).status_code == 204
        assert [n["text"] for n in ann.get(f"/api/prospects/{p.id}/notes").json()] == ["From the seed"]
        assert ann.get("/api/prospects/nobody/notes").status_code == 404

    def test_a_patch_with_notes_adds_a_note(self, settings, client):
        p = make_prospect(settings, notes="first")
        response = client.patch(f"/api/prospects/{p.id}", json={"notes": "second"})
        assert response.status_code == 200 and response.json()["notes"] == "second"
        assert [t for t, _ in listed(settings, p.id)] == ["first", "second"]


def test_the_cli_in_a_process(settings):
    env = settings_env(settings)
    p = make_prospect(settings, name="Baker Roofing")
    added = run_leadline("notes", "add", p.id, "Daniel prefers text messages", "--json", env=env)
    assert added.returncode == 0, added.stderr
    import json

    note = json.loads(added.stdout)
    assert run_leadline("notes", "add", p.id, "Send ROI proposal", env=env).returncode == 0
    shown = run_leadline("notes", "list", p.id, env=env)
    assert "Daniel prefers text messages" in shown.stdout and "2 notes" in shown.stdout
    assert run_leadline("notes", "edit", note["id"], "Daniel prefers texts after 5pm", env=env).returncode == 0
    show = run_leadline("prospects", "show", p.id, env=env)
    assert "Daniel prefers texts after 5pm" in show.stdout and "Send ROI proposal" in show.stdout
    assert "edited" in show.stdout
    before = snapshot(settings)
    blank = run_leadline("notes", "add", p.id, "", env=env)
    assert blank.returncode == 1 and blank.stderr.strip() == "error: text: cannot be empty"
    cleared = run_leadline("prospects", "update", p.id, "--clear", "notes", env=env)
    assert cleared.returncode == 1 and "notes are kept one by one" in cleared.stderr
    missing = run_leadline("notes", "remove", "act_nothing", env=env)
    assert missing.returncode == 1 and "no note with id 'act_nothing'" in missing.stderr
    assert snapshot(settings) == before
    assert run_leadline("notes", "remove", note["id"], env=env).returncode == 0
    assert [t for t, _ in listed(settings, p.id)] == ["Send ROI proposal"]


def test_the_cli_counts_notes_in_words(settings, cli):
    p = make_prospect(settings, name="Counted Roofing")
    assert cli("notes", "add", p.id, "Call after 5pm").exit_code == 0
    assert "1 note\n" in cli("notes", "list", p.id).stdout  # not "1 notes"
    assert cli("notes", "add", p.id, "Send the proposal").exit_code == 0
    assert "2 notes\n" in cli("notes", "list", p.id).stdout
