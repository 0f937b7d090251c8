"""`leadline prospects import` and `export`, through the CLI, on both databases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from leadline.db import unit_of_work
from leadline.prospects import flows, service
from tests.factories import count, make_prospect, snapshot

GOOD = """Business Name,Contact,Email,Phone,Website,City,Trade,Tier,Grid Health,Critical Gaps,Gaps,Top Competitor,Competitor Health
Royal Plumbing Co,Daniel Reyes,daniel@royalplumbingco.com,(512) 555-0142,royalplumbingco.com,Austin,Plumbing,1,48,4,No online booking; Few reviews,Summit Plumbing,81
Summit HVAC,Maria Lopez,maria@summithvac.com,(303) 555-0101,https://summithvac.com,Denver,HVAC,2,61,2,Slow site,Apex Air,79
Bright Spark Electric,James Carter,james@brightspark.com,(602) 555-0188,brightspark.com,Phoenix,Electrical,3,70,1,,Volt Pros,90
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def prospects_by_id(settings) -> dict[str, object]:
    with unit_of_work(settings, readonly=True) as session:
        from sqlalchemy import select

        from leadline.prospects.models import Prospect

        return {p.id: p for p in session.scalars(select(Prospect))}


class TestImportGood:
    def test_csv_with_loose_headers(self, settings, cli, tmp_path):
        result = cli("prospects", "import", str(write(tmp_path, "p.csv", GOOD)))
        assert result.exit_code == 0, result.stderr
        assert "3 created, 0 updated, 0 unchanged, 0 rejected" in result.stdout
        royal = prospects_by_id(settings)["royal_plumbing_co"]
        assert (royal.name, royal.contact_name, royal.email, royal.website, royal.trade, royal.tier) == (
            "Royal Plumbing Co", "Daniel Reyes", "daniel@royalplumbingco.com", "https://royalplumbingco.com",
            "plumbing", 1,
        )  # fmt: skip
        assert (royal.grid_health, royal.critical_gaps, royal.gaps) == (
            48.0,
            4,
            ["No online booking", "Few reviews"],
        )
        assert count(settings, "outreach_activities") == 3  # each import is on the timeline

    def test_hubspot_contact_export(self, settings, cli, tmp_path):
        text = (
            "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Website URL,City,State/Region,"
            "Lifecycle Stage,Contact owner\n"
            "1001,Daniel,Reyes,Daniel@RoyalPlumbingCo.com,512-555-0142,Royal Plumbing Co,royalplumbingco.com,"
            "Austin,TX,Lead,Ann Smith\n"
        )
        result = cli("prospects", "import", str(write(tmp_path, "hubspot.csv", text)))
        assert result.exit_code == 0, result.stderr
        royal = prospects_by_id(settings)["royal_plumbing_co"]
        assert (royal.contact_name, royal.email, royal.phone, royal.city, royal.state) == (
            "Daniel Reyes", "daniel@royalplumbingco.com", "512-555-0142", "Austin", "TX",
        )  # fmt: skip

    def test_pipedrive_person_export(self, settings, cli, tmp_path):
        text = (
            "Person - Name,Person - Organization,Person - Email - Work,Person - Phone - Work,"
            "Organization - Website,Organization - City\n"
            "Maria Lopez,Summit HVAC,maria@summithvac.com,303 555 0101,summithvac.com,Denver\n"
        )
        result = cli("prospects", "import", str(write(tmp_path, "pipedrive.csv", text)))
        assert result.exit_code == 0, result.stderr
        summit = prospects_by_id(settings)["summit_hvac"]
        assert (summit.name, summit.contact_name, summit.email, summit.website, summit.city) == (
            "Summit HVAC", "Maria Lopez", "maria@summithvac.com", "https://summithvac.com", "Denver",
        )  # fmt: skip

    def test_json_array_in_the_prospect_shape(self, settings, cli, tmp_path):
        rows = [{"name": "Royal Plumbing Co", "email": "daniel@royal.com", "tier": 1, "gridHealth": 48,
                 "gaps": ["No online booking"], "salesStatus": "contacted"}]  # fmt: skip
        result = cli("prospects", "import", str(write(tmp_path, "p.json", json.dumps(rows))))
        assert result.exit_code == 0, result.stderr
        royal = prospects_by_id(settings)["royal_plumbing_co"]
        assert (royal.gaps, royal.sales_status, royal.grid_health) == (
            ["No online booking"],
            "contacted",
            48.0,
        )

    def test_json_lines(self, settings, cli, tmp_path):
        text = '{"name": "A Plumbing", "email": "a@a.com"}\n\n{"name": "B Plumbing", "tier": 2}\n'
        result = cli("prospects", "import", str(write(tmp_path, "p.jsonl", text)))
        assert result.exit_code == 0, result.stderr
        assert set(prospects_by_id(settings)) == {"a_plumbing", "b_plumbing"}

    def test_reimport_updates_instead_of_duplicating(self, settings, cli, tmp_path):
        path = write(tmp_path, "p.csv", GOOD)
        assert cli("prospects", "import", str(path)).exit_code == 0
        changed = GOOD.replace("Austin,Plumbing,1,48", "Austin,Plumbing,1,52")
        result = cli("prospects", "import", str(write(tmp_path, "p2.csv", changed)))
        assert "0 created, 1 updated, 2 unchanged, 0 rejected" in result.stdout
        assert count(settings, "prospects") == 3
        assert prospects_by_id(settings)["royal_plumbing_co"].grid_health == 52
        with unit_of_work(settings) as session:
            entries = service.timeline(session, "royal_plumbing_co")
        assert entries[-1].type == "updated"
        assert entries[-1].details["changes"] == {"gridHealth": [48.0, 52.0]}

    def test_match_on_id_then_email(self, settings, cli, tmp_path):
        make_prospect(settings, name="Royal Plumbing Co", email="daniel@royalplumbingco.com", tier=3)
        text = "id,email,tier\n,daniel@royalplumbingco.com,1\nroyal_plumbing_co,,2\n"
        # Row 2 matches by email, row 3 by id: the same prospect twice in one file.
        result = cli("prospects", "import", str(write(tmp_path, "p.csv", text)))
        assert result.exit_code == 1
        assert "line 3" in result.stderr and "duplicate" in result.stderr
        result = cli("prospects", "import", str(write(tmp_path, "q.csv", "email,tier\nDANIEL@royalplumbingco.com,1\n")))
        assert result.exit_code == 0, result.stderr
        assert prospects_by_id(settings)["royal_plumbing_co"].tier == 1
        assert count(settings, "prospects") == 1

    def test_dry_run_reports_and_writes_nothing(self, settings, cli, tmp_path):
        before = snapshot(settings)
        result = cli("prospects", "import", "--dry-run", str(write(tmp_path, "p.csv", GOOD)))
        assert result.exit_code == 0
        assert "Would import p.csv: 3 created" in result.stdout
        assert "+ royal_plumbing_co  Royal Plumbing Co" in result.stdout
        assert "nothing was written" in result.stdout
        assert snapshot(settings) == before


class TestImportBad:
    def _refused(self, cli, path: Path, *args: str) -> str:
        before = snapshot(cli.settings)
        result = cli("prospects", "import", *args, str(path))
        assert result.exit_code == 1, result.stdout
        assert "Traceback" not in result.stderr + result.stdout
        assert snapshot(cli.settings) == before
        return result.stderr

    def test_every_bad_row_is_listed_and_nothing_is_written(self, cli, tmp_path):
        text = (
            GOOD + "Bad One,,not-an-email,,,Austin,Plumbing,7,48,1,,,\nBad Two,,x@y.com,,,Austin,Roofing,2,lots,1,,,\n"
        )
        err = self._refused(cli, write(tmp_path, "p.csv", text))
        assert "2 bad rows in p.csv; nothing was imported" in err
        assert "line 5, column 'Email': 'not-an-email' is not a valid email address" in err
        assert "line 5, column 'Tier': must be 1, 2 or 3" in err
        assert "line 6, column 'Grid Health': 'lots' is not a number" in err

    def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(self, settings, cli, tmp_path):
        text = GOOD + "Bad One,,not-an-email,,,Austin,Plumbing,7,48,1,,,\n"
        path = write(tmp_path, "p.csv", text)
        result = cli("prospects", "import", "--skip-invalid", str(path))
        assert result.exit_code == 0
        assert "3 created, 0 updated, 0 unchanged, 1 rejected" in result.stdout
        rejects = list(csv.DictReader((tmp_path / "p.rejected.csv").open()))
        assert len(rejects) == 1
        assert rejects[0]["line"] == "5" and rejects[0]["Business Name"] == "Bad One"
        assert "Email: 'not-an-email' is not a valid email address" in rejects[0]["error"]
        assert count(settings, "prospects") == 3

    def test_malformed_csv(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.csv", 'name,email\n"Royal Plumbing,daniel@r.com\nx'))
        assert "error:" in err

    def test_row_with_the_wrong_number_of_cells(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.csv", "name,email,tier\nRoyal,d@r.com,1,extra\n"))
        assert "line 2" in err and "has 4 cells but the header has 3 columns" in err

    def test_unknown_columns(self, settings, cli, tmp_path):
        path = write(tmp_path, "p.csv", "name,emial,favourite colour\nRoyal,d@r.com,blue\n")
        err = self._refused(cli, path)
        assert "unknown columns: 'emial' (did you mean 'email'?), 'favourite colour'" in err
        result = cli("prospects", "import", "--ignore-unknown-columns", str(path))
        assert result.exit_code == 0 and count(settings, "prospects") == 1

    def test_duplicate_rows_inside_one_file(self, cli, tmp_path):
        text = "name,email\nRoyal,d@royal.com\nRoyal Again,D@Royal.com\n"
        err = self._refused(cli, write(tmp_path, "p.csv", text))
        assert "line 3" in err and "duplicate of line 2" in err

    def test_empty_file(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.csv", ""))
        assert "p.csv is empty" in err

    def test_a_2gb_line(self, cli, tmp_path):
        path = tmp_path / "huge.csv"
        with path.open("wb") as handle:
            handle.write(b"name,email\n")
            handle.seek(2 * 1024**3)  # a sparse 2 GB line: reading stops after the first megabyte
            handle.write(b"\n")
        err = self._refused(cli, path)
        assert "line 2 of huge.csv is longer than 1,048,576 characters" in err

    def test_not_utf8(self, cli, tmp_path):
        path = tmp_path / "latin1.csv"
        path.write_bytes("name,city\nCafé Plumbing,Montréal\n".encode("latin-1"))
        err = self._refused(cli, path)
        assert "latin1.csv is not UTF-8 text" in err and "save it as UTF-8" in err

    def test_json_that_is_not_json(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.json", '[{"name": "Royal",}'))
        assert "p.json is not valid JSON" in err

    def test_json_items_that_are_not_objects(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.json", '[{"name": "Royal"}, 5]'))
        assert "item 2: is not a JSON object" in err

    def test_a_number_of_thousands_of_digits_is_said_plainly(self, cli, tmp_path):
        """Python refuses to read a whole number of more than 4,300 digits, with advice for programmers
        (sys.set_int_max_str_digits); the file is refused in a person's words, naming the line."""
        big = "9" * 5000
        err = self._refused(
            cli, write(tmp_path, "p.jsonl", f'{{"name": "Ok Co"}}\n{{"name": "Big Co", "tier": {big}}}\n')
        )
        assert err.strip() == "error: line 2 of p.jsonl is not JSON (a number with more than 4,300 digits)"

    @pytest.mark.parametrize("suffix", ["json", "jsonl"])
    @pytest.mark.parametrize(("escape", "code"), [("\\ud800", "U+D800"), ("\\udc80", "U+DC80")])
    def test_a_lone_surrogate_is_refused_naming_the_field_in_both_json_forms(self, cli, tmp_path, suffix, escape,
                                                                             code):  # fmt: skip
        """A .json array is read item by item as a .jsonl file is line by line: the row is refused naming
        the field (it was stored as "Surr ? Co", or refused as "not UTF-8 text" at a negative offset)."""
        items = ['{"name": "Good Co"}', f'{{"name": "Lone {escape} Co"}}']
        text = f"[{', '.join(items)}]" if suffix == "json" else "\n".join(items) + "\n"
        err = self._refused(cli, write(tmp_path, f"p.{suffix}", text))
        assert f"1 bad row in p.{suffix}; nothing was imported" in err
        assert f"2, column 'name': is not valid text (a lone surrogate {code})" in err, err
        assert "encoding" not in err

    @pytest.mark.parametrize("suffix", ["json", "jsonl"])
    def test_a_number_too_big_for_its_field_is_refused_in_both_json_forms(self, cli, tmp_path, suffix):
        """25 digits: a row refused naming tier in both (a .json file was refused whole, "integer overflow",
        on several lines); 5,000 digits: the file refused naming the item or the line, in plain words."""
        items = ['{"name": "Good Co"}', '{"name": "Big Co", "tier": ' + "9" * 25 + "}"]
        text = f"[{', '.join(items)}]" if suffix == "json" else "\n".join(items) + "\n"
        err = self._refused(cli, write(tmp_path, f"p.{suffix}", text))
        assert "2, column 'tier': must be 1, 2 or 3" in err, err
        items[1] = '{"name": "Big Co", "tier": ' + "9" * 5000 + "}"
        text = f"[{', '.join(items)}]" if suffix == "json" else "\n".join(items) + "\n"
        err = self._refused(cli, write(tmp_path, f"p.{suffix}", text))
        where = "item 2 of p.json is not valid JSON" if suffix == "json" else "line 2 of p.jsonl is not JSON"
        assert err.strip() == f"error: {where} (a number with more than 4,300 digits)"

    def test_missing_file(self, cli, tmp_path):
        result = cli("prospects", "import", str(tmp_path / "nope.csv"))
        assert result.exit_code == 1 and "no such file" in result.stderr

    def test_new_prospect_without_a_name(self, cli, tmp_path):
        err = self._refused(cli, write(tmp_path, "p.csv", "email,tier\nnew@person.com,1\n"))
        assert "column 'name': required for a new prospect" in err


class TestExport:
    def test_csv_is_safe_for_spreadsheets_and_round_trips(self, settings, cli, tmp_path):
        make_prospect(
            settings, name='=HYPERLINK("http://evil")', email="a@a.com", notes="+1 call back", phone="+1 512 555 0100"
        )
        make_prospect(settings, name="Plain Co", email="b@b.com", gaps=["a; b? no", "c"])
        out = tmp_path / "out.csv"
        result = cli("prospects", "export", "--format", "csv", "--output", str(out))
        assert result.exit_code == 0, result.stderr
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        evil = next(r for r in rows if "HYPERLINK" in r["name"])
        assert evil["name"].startswith("'=")
        assert evil["notes"] == "'+1 call back" and evil["phone"] == "'+1 512 555 0100"
        before = cli("prospects", "export", "--format", "json").stdout
        again = cli("prospects", "import", str(out))
        assert again.exit_code == 0, again.stderr
        assert "0 created, 0 updated, 2 unchanged" in again.stdout
        assert cli("prospects", "export", "--format", "json").stdout == before

    def test_json_export_equals_the_api(self, settings, cli, client, tmp_path):
        make_prospect(settings, name="Royal Plumbing Co", email="d@royal.com")
        result = cli("prospects", "export", "--format", "json")
        exported = json.loads(result.stdout)
        api = client.get("/api/prospects").json()["items"]
        assert exported == api

    def test_filters(self, settings, cli):
        make_prospect(settings, tier=1, trade="plumbing", email="a@a.com")
        make_prospect(settings, tier=2, trade="hvac", email="b@b.com")
        result = cli("prospects", "export", "--format", "json", "--tier", "2")
        assert [p["tier"] for p in json.loads(result.stdout)] == [2]


@pytest.mark.slow
def test_memory_stays_flat_on_big_files(sqlite_settings, tmp_path):
    """Peak Python memory for 20,000 rows is no more than for 2,000 plus a small margin (ten times the
    rows: 20 staging chunks and several publishing batches against 2 and 1; tracemalloc makes every
    row slow, so the sizes stay small)."""
    import tracemalloc

    def peak(rows: int) -> int:
        path = tmp_path / f"p{rows}.csv"
        with path.open("w") as handle:
            handle.write("name,email,tier,grid health\n")
            for n in range(rows):
                handle.write(f"Business {rows}-{n},owner{n}@biz{rows}-{n}.com,{n % 3 + 1},{n % 100}\n")
        tracemalloc.start()
        report = flows.import_file(sqlite_settings, path, actor="test")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert report.created == rows
        return top

    small, big = peak(2_000), peak(20_000)
    assert big < small * 1.5 + 2_000_000, (small, big)
