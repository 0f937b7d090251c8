"""The import's journal: staged rows never outlive their run, and a run is settled only when its
process is gone (dead pid on this host, or no heartbeat for two minutes elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from leadline.db import unit_of_work
from leadline.prospects import flows
from leadline.prospects.imports import ImportRejected
from leadline.prospects.models import ImportRun, StagedRow
from leadline.prospects.schemas import ProspectCreate
from tests.factories import count, snapshot

CSV = "name,email\nRoyal Plumbing,a@royal.example\nSummit HVAC,b@summit.example\n"


def _orphan(settings, *, host: str, pid: int, age: timedelta, state: str = "staging") -> None:
    """What a process killed while staging leaves: a run in ``state`` and two staged rows."""
    at = datetime.now(UTC) - age
    with unit_of_work(settings) as session:
        session.add(ImportRun(id="imp_orphan", file="big.csv", kind="csv", label="line", actor="cli:ann",
                              state=state, skip_invalid=False, host=host, pid=pid, owner="own_gone",
                              started_at=at, heartbeat_at=at, report={}, rows=2, staged=2))  # fmt: skip
        for seq in (1, 2):
            session.add(StagedRow(run_id="imp_orphan", seq=seq, line=seq + 1, action="create", target=None,
                                  email=f"{seq}@x.example",
                                  data=dict(ProspectCreate(name=f"N {seq}", email=f"{seq}@x.example").__dict__),
                                  provided=["name", "email"]))  # fmt: skip


class TestImportJournal:
    def test_an_import_leaves_a_done_run_and_no_staged_rows(self, settings, cli, tmp_path):
        path = tmp_path / "p.csv"
        path.write_text(CSV)
        result = cli("prospects", "import", str(path))
        assert result.exit_code == 0, result.stderr
        assert count(settings, "prospects") == 2 and count(settings, "import_staging") == 0
        with unit_of_work(settings, readonly=True) as session:
            [run] = session.query(ImportRun).all()
            assert (run.state, run.rows, run.published_seq, run.created) == ("done", 2, 2, 2)
            assert run.finished_at is not None

    def test_a_refused_import_and_a_dry_run_leave_no_trace(self, settings, cli, tmp_path):
        before = snapshot(settings)
        bad = tmp_path / "bad.csv"
        bad.write_text(CSV + "Bad,not-an-email\n")
        assert cli("prospects", "import", str(bad)).exit_code == 1
        assert cli("prospects", "import", "--dry-run", str(bad)).exit_code == 1  # rows would be rejected
        assert snapshot(settings) == before

    def test_a_run_on_another_host_is_left_alone_while_its_heartbeat_is_fresh(self, settings):
        _orphan(settings, host="another-host", pid=1, age=timedelta(seconds=30))
        assert flows.recover(settings) == []
        assert count(settings, "import_staging") == 2
        with unit_of_work(settings) as session:
            session.execute(update(ImportRun).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=3)))
        [said] = flows.recover(settings)
        assert said.startswith("Abandoned the import of big.csv (imp_orphan)")
        assert count(settings, "import_staging") == 0 and count(settings, "prospects") == 0
        with unit_of_work(settings, readonly=True) as session:
            run = session.get(ImportRun, "imp_orphan")
            assert run is not None and run.state == "abandoned" and run.finished_at is not None

    def test_a_run_whose_pid_is_gone_on_this_host_is_settled_at_once(self, settings):
        _orphan(settings, host=flows._HOST, pid=2**22 + 12345, age=timedelta(seconds=1), state="publishing")
        [said] = flows.recover(settings)
        assert "Finished the import of big.csv" in said and "2 created" in said
        assert count(settings, "prospects") == 2 and count(settings, "import_staging") == 0
        assert flows.recover(settings) == []  # once

    def test_doctor_names_an_interrupted_import(self, settings, cli):
        _orphan(settings, host=flows._HOST, pid=2**22 + 12345, age=timedelta(seconds=1), state="publishing")
        assert [r["id"] for r in flows.interrupted(settings)] == ["imp_orphan"]
        result = cli("doctor")
        assert "the import of big.csv (imp_orphan) stopped while publishing" in result.stdout
        assert "leadline prospects import --resume" in result.stdout


class TestStagingAcrossChunks:
    """Decided rows are written a few chunks at a time: a row repeating one of an earlier chunk is
    refused whether that chunk's rows are written yet or still waiting (chunks of 2 rows here)."""

    def _file(self, tmp_path, repeats: dict[int, int]):
        lines = ["name,email"]
        for n in range(40):
            same = repeats.get(n)
            lines.append(f"Business {n},owner{same if same is not None else n}@biz.example")
        path = tmp_path / "many.csv"
        path.write_text("\n".join(lines) + "\n")
        return path

    def test_a_repeat_of_an_earlier_chunk_is_refused_and_nothing_is_imported(self, settings, tmp_path):
        before = snapshot(settings)
        # row 5 repeats row 3 (the chunk before: not written yet); row 39 repeats row 0 (written long before)
        path = self._file(tmp_path, {5: 3, 39: 0})
        with pytest.raises(ImportRejected) as refused:
            flows.import_file(settings, path, actor="cli:ann", chunk_size=2)
        errors = {(e["line"], e["message"]) for e in refused.value.report.errors}
        assert errors == {(7, "duplicate of line 5 (same id or email)"), (41, "duplicate of line 2 (same id or email)")}
        assert snapshot(settings) == before

    def test_with_skip_invalid_every_other_row_is_published_once(self, settings, tmp_path):
        path = self._file(tmp_path, {5: 3, 39: 0})
        report = flows.import_file(settings, path, actor="cli:ann", chunk_size=2, skip_invalid=True)
        assert (report.rows, report.created, report.rejected) == (40, 38, 2)
        assert count(settings, "prospects") == 38 and count(settings, "import_staging") == 0
        assert count(settings, "outreach_activities") == 38  # one timeline entry each
