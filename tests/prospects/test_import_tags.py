"""Tags from an import file's ``tags`` column (issue 18, item 2): comma or semicolon separated, each
checked by the bulk actions' tag rule, added (never removed) to the prospect a row makes or finds, and
listed after the import; through the CLI (a real process) and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from leadline.db import unit_of_work
from leadline.prospects import service as prospects_service
from leadline.prospects.models import Prospect, ProspectTag
from tests.conftest import run_leadline, settings_env

FIRST = """name,email,tags
Royal Plumbing Co,office@royal.test,"Roofers Q3; VIP"
Baker Roofing,hello@baker.test,"vip, spring push,VIP"
Summit Electric,,
"""


def _tags(settings) -> dict[str, list[str]]:
    with unit_of_work(settings, readonly=True) as session:
        ids = session.scalars(select(Prospect.id)).all()
        return prospects_service.tags_of(session, ids)


def _counts(settings) -> tuple[int, int]:
    with unit_of_work(settings, readonly=True) as session:
        return (session.scalar(select(func.count()).select_from(Prospect)) or 0,
                session.scalar(select(func.count()).select_from(ProspectTag)) or 0)  # fmt: skip


def test_the_cli_imports_tags_and_says_what_it_tagged(settings, tmp_path: Path):
    env = settings_env(settings)
    first = tmp_path / "first.csv"
    first.write_text(FIRST)
    done = run_leadline("prospects", "import", str(first), env=env)
    assert done.returncode == 0, done.stderr
    assert "Tagged: roofers q3 (1), spring push (1), vip (2)." in done.stdout
    assert _tags(settings) == {"royal_plumbing_co": ["roofers q3", "vip"], "baker_roofing": ["spring push", "vip"]}
    listed = json.loads(run_leadline("prospects", "list", "--tag", "vip", "--json", env=env).stdout)
    assert {p["id"]: p["tags"] for p in listed} == {
        "royal_plumbing_co": ["roofers q3", "vip"], "baker_roofing": ["spring push", "vip"],
    }  # fmt: skip
    # The table shows them too, on the quick path and through Typer alike.
    for quick in ("1", "0"):
        table = run_leadline("prospects", "list", "--sort", "name", env=env | {"LEADLINE_FAST_CLI": quick})
        assert table.returncode == 0, table.stderr
        lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:4]}
        assert "spring push, vip" in lines["baker_roofing"] and "roofers q3, vip" in lines["royal_plumbing_co"]
        assert "," not in lines["summit_electric"]
    # Again, with one more tag for Summit (found by name) and Royal's tags already there: only what is new.
    again = tmp_path / "again.csv"
    again.write_text("name,email,labels\nRoyal Plumbing Co,office@royal.test,vip\nSummit Electric,,Tier Two\n")
    done = run_leadline("prospects", "import", str(again), env=env)
    assert done.returncode == 0, done.stderr
    assert "Tagged: tier two (1)." in done.stdout
    assert _tags(settings)["summit_electric"] == ["tier two"]
    assert _tags(settings)["royal_plumbing_co"] == ["roofers q3", "vip"]  # an import never removes a tag


def test_a_bad_tag_rejects_its_row_and_changes_nothing(settings, tmp_path: Path):
    env = settings_env(settings)
    seed = tmp_path / "seed.csv"
    seed.write_text(FIRST)
    assert run_leadline("prospects", "import", str(seed), env=env).returncode == 0
    before, tags_before = _counts(settings), _tags(settings)
    bad = tmp_path / "bad.csv"
    bad.write_text('name,tags\nNew Co,"fine; not<ok>"\nOther Co,"' + ";".join(f"t{i}" for i in range(21)) + '"\n')
    done = run_leadline("prospects", "import", str(bad), env=env)
    assert done.returncode == 1
    assert "line 2, column 'tags': 'not<ok>' is not a tag" in done.stdout + done.stderr
    assert "line 3, column 'tags'" in done.stdout + done.stderr  # 21 tags: at most 20
    assert _counts(settings) == before and _tags(settings) == tags_before
    long = tmp_path / "long.csv"
    long.write_text("name,tags\nNew Co," + "x" * 41 + "\n")
    done = run_leadline("prospects", "import", str(long), env=env)
    assert done.returncode == 1 and "a tag is at most 40 characters" in done.stdout + done.stderr
    assert _counts(settings) == before


def test_the_api_imports_tags_and_a_default_tag_fills_blank_rows(settings, client):
    answer = client.post("/api/prospects/import", params={"set": "tags=Spring Push"},
                         files={"file": ("list.csv", FIRST.encode(), "text/csv")})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["tagged"] == {"roofers q3": 1, "vip": 2, "spring push": 2}
    assert _tags(settings)["summit_electric"] == ["spring push"]  # --set fills the row without tags
    refused = client.post("/api/prospects/import", params={"set": "tags=bad!"},
                          files={"file": ("list.csv", FIRST.encode(), "text/csv")})  # fmt: skip
    assert refused.status_code == 422 and "tags" in refused.text


def test_the_api_lists_and_exports_each_prospects_tags(settings, client):
    assert client.post("/api/prospects/import", files={"file": ("list.csv", FIRST.encode(), "text/csv")}).is_success
    expected = {
        "royal_plumbing_co": ["roofers q3", "vip"],
        "baker_roofing": ["spring push", "vip"],
        "summit_electric": [],
    }
    listed = client.get("/api/prospects").json()["items"]
    assert {p["id"]: p["tags"] for p in listed} == expected
    assert client.get("/api/prospects/baker_roofing").json()["tags"] == ["spring push", "vip"]
    exported = client.get("/api/prospects/export", params={"format": "json"}).json()
    assert {p["id"]: p["tags"] for p in exported} == expected
    rows = client.get("/api/prospects/export").text.splitlines()
    assert rows[0].endswith(",tags")
    assert {row.split(",")[0]: row.rsplit(",", 1)[1] for row in rows[1:]} == {
        "royal_plumbing_co": "roofers q3; vip", "baker_roofing": "spring push; vip", "summit_electric": "",
    }  # fmt: skip
