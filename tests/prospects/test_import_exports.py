"""Real exports of HubSpot (contacts, companies) and Pipedrive (persons, organizations) import as
they come, and importing them again changes nothing: through ``leadline`` as a real process, and
through the web import page. Then each rule on its own: sibling columns, external ids, no blank
or shorter overwrite, --overwrite, --map, --set, --encoding, IDN addresses, transliterated ids,
--dry-run's preview and exit code, and the templates' needs counted from the templates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from leadline.db import Base, unit_of_work
from leadline.notes import service as notes
from leadline.prospects.models import Prospect, ProspectExternalId
from tests.conftest import Cli, run_leadline, settings_env
from tests.factories import make_prospect, snapshot

DATA = Path(__file__).parent.parent / "data" / "exports"
EXPORTS = [
    "hubspot-crm-exports-all-contacts-2026-12-01.csv",
    "hubspot-crm-exports-all-companies-2026-12-01.csv",
    "people-13456789-7.csv",
    "organizations-13456789-8.csv",
]
BUSINESSES = {
    "royal_plumbing_co", "summit_hvac", "soren_s_heating", "bright_spark_electric", "apex_roofing",
    "lone_star_roofing", "northside_electric", "greenleaf_landscaping", "harbor_pest_control",
}  # fmt: skip


def state(settings: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but for ``prospects.last_import_id`` and the imports' journal (which
    import saw a row last, which imports ran: bookkeeping of the imports, not a change to the data)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with unit_of_work(settings, readonly=True) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in ("import_runs", "import_staging"):
                continue  # the imports' own journal: each import adds its run
            names = [c.name for c in table.columns if (table.name, c.name) != ("prospects", "last_import_id")]
            rows = session.execute(text(f"SELECT {', '.join(names)} FROM {table.name}")).all()
            found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return found


def prospects(settings: Any) -> dict[str, Prospect]:
    """Every prospect, its ``notes`` the texts of its notes (entries of the notes service), one a line."""
    with unit_of_work(settings, readonly=True) as session:
        found = {p.id: p for p in session.scalars(select(Prospect))}
        texts = notes.texts_of(session, found)
    for prospect in found.values():
        prospect.notes = "\n".join(sorted(texts.get(prospect.id, ()))) or None  # type: ignore[attr-defined]
    return found


def check_first_round(settings: Any) -> None:
    found = prospects(settings)
    assert set(found) == BUSINESSES  # one prospect per business, whichever files named it
    royal = found["royal_plumbing_co"]
    # Phone Number and Mobile Phone Number: the first non-empty wins, the other is kept.
    assert (royal.contact_name, royal.email, royal.phone) == (
        "Daniel Reyes",
        "daniel@royalplumbingco.com",
        "+1 512-555-0142",
    )
    assert "Mobile Phone Number: (512) 555-0199" in royal.notes
    # A second person of the business, and the company record's own phone, are kept in the notes.
    assert "Contact: Luis Reyes <luis@royalplumbingco.com>, +1 512-555-0143" in royal.notes
    assert "Phone Number: +1 512-555-0100" in royal.notes
    summit = found["summit_hvac"]
    assert summit.phone == "+1 303 555 0101"  # "Phone Number" blank: the mobile number fills it
    soren = found["soren_s_heating"]  # no email: found again by its HubSpot Record ID
    assert (soren.name, soren.email, soren.city) == ("Søren's Heating", None, "Minneapolis")
    lone_star = found["lone_star_roofing"]  # Pipedrive persons and organizations meet on the name
    assert (lone_star.email, lone_star.website, lone_star.city, lone_star.state) == (
        "carlos@lonestarroofing.com", "https://lonestarroofing.com", "Dallas", "TX",
    )  # fmt: skip
    assert "Email - Home: carlos.mendez@gmail.com" in lone_star.notes
    assert "Contact: Tom Becker <tom@lonestarroofing.com>, +1 214 555 0112" in lone_star.notes
    assert found["northside_electric"].email == "priya.shah@outlook.com"  # Email - Work blank: Email - Home
    with unit_of_work(settings, readonly=True) as session:
        kept = {
            (e.source, e.external_id): (e.prospect_id, e.owner) for e in session.scalars(select(ProspectExternalId))
        }
    assert kept[("hubspot contact", "51234567803")] == ("soren_s_heating", True)
    assert kept[("hubspot company", "18234567890")] == ("royal_plumbing_co", False)
    assert kept[("pipedrive organization", "201")] == ("lone_star_roofing", False)
    assert kept[("pipedrive person", "103")] == ("lone_star_roofing", False)


def test_four_exports_twice_through_the_cli_process(settings, tmp_path):
    env = settings_env(settings)
    for name in EXPORTS:
        done = run_leadline("prospects", "import", str(DATA / name), "--json", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rejected"] == 0
    check_first_round(settings)
    before = state(settings)
    for name in EXPORTS:
        done = run_leadline("prospects", "import", str(DATA / name), "--json", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["created"], report["updated"], report["rejected"]) == (0, 0, 0), (name, report)
        assert report["unchanged"] == report["rows"]
    assert state(settings) == before  # the second import changed nothing


def test_four_exports_twice_through_the_web_import_page(page_client, settings):
    def upload(name: str) -> str:
        body = (DATA / name).read_bytes()
        preview = page_client.post(
            "/prospects/import", data={"csrf_token": page_client.csrf}, files={"file": (name, body, "text/csv")}
        )
        assert preview.status_code == 200, preview.text[-1500:]
        done = page_client.post(
            "/prospects/import/confirm",
            data={"csrf_token": page_client.csrf, "token": re.search(r'name="token" value="([^"]+)"', preview.text)[1]},
        )
        assert done.status_code == 200, done.text[-1500:]
        return done.text

    for name in EXPORTS:
        assert "0 rejected" in upload(name)
    check_first_round(settings)
    before = state(settings)
    for name in EXPORTS:
        assert re.search(r"Imported: 0 new, 0 updated, \d+ unchanged, 0 rejected", upload(name)), name
    assert state(settings) == before


def write(tmp_path: Path, name: str, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def test_sibling_columns_fill_one_field_and_keep_the_others(settings, cli, tmp_path):
    hubspot = write(tmp_path, "contacts.csv",
                    "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name\n"
                    "7,Ann,Lee,ann@leeroofing.com,,+1 303 555 0177,Lee Roofing\n"
                    "8,Bo,Ray,bo@rayhvac.com,+1 303 555 0180,+1 303 555 0181,Ray HVAC\n")  # fmt: skip
    assert cli("prospects", "import", str(hubspot)).exit_code == 0
    pipedrive = write(tmp_path, "people.csv",
                      "ID,Name,Organization,Email - Work,Email - Home,Person created\n"
                      "5,Cy Tam,Tam Electric,,cy@tam-home.com,2026-01-02 10:00:00\n"
                      "6,Di Wu,Wu Plumbing,di@wuplumbing.com,di@home.net,2026-01-02 10:00:00\n")  # fmt: skip
    assert cli("prospects", "import", str(pipedrive)).exit_code == 0
    found = prospects(settings)
    assert (found["lee_roofing"].phone, found["lee_roofing"].notes) == ("+1 303 555 0177", None)
    assert (found["ray_hvac"].phone, found["ray_hvac"].notes) == (
        "+1 303 555 0180",
        "Mobile Phone Number: +1 303 555 0181",
    )
    assert found["tam_electric"].email == "cy@tam-home.com"
    assert (found["wu_plumbing"].email, found["wu_plumbing"].notes) == (
        "di@wuplumbing.com",
        "Email - Home: di@home.net",
    )


def test_a_shorter_or_blank_value_never_overwrites_unless_asked(settings, cli, tmp_path):
    make_prospect(settings, name="Royal Plumbing Co", email="daniel@royal.com", contact_name="Daniel Reyes",
                  phone="(512) 555-0142", city="Austin")  # fmt: skip
    path = write(tmp_path, "first.csv", "Email,First Name,Phone,City\ndaniel@royal.com,Daniel,555-0142,\n")
    before = state(settings)
    result = cli("prospects", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "0 updated, 1 unchanged" in result.stdout
    assert state(settings)["prospects"] == before["prospects"]

    dry = cli("prospects", "import", str(path), "--overwrite", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "contactName: 'Daniel Reyes' -> 'Daniel'" in dry.stdout
    assert "city: 'Austin' -> (blank)" in dry.stdout
    assert state(settings)["prospects"] == before["prospects"]
    assert cli("prospects", "import", str(path), "--overwrite").exit_code == 0
    royal = prospects(settings)["royal_plumbing_co"]
    assert (royal.contact_name, royal.phone, royal.city) == ("Daniel", "555-0142", None)


def test_dry_run_shows_old_and_new_and_fails_when_rows_would_be_rejected(settings, cli, tmp_path):
    make_prospect(settings, name="Summit HVAC", email="maria@summithvac.com", city="Denver")
    path = write(tmp_path, "p.csv", "Email,City,Tier\nmaria@summithvac.com,Boulder,2\nnot-an-email,Austin,1\n")
    before = snapshot(settings)
    result = cli("prospects", "import", str(path), "--dry-run")
    assert result.exit_code == 1
    assert "city: 'Denver' -> 'Boulder'" in result.stdout
    assert "tier: '1' -> '2'" in result.stdout
    assert "would be rejected" in result.stderr
    assert snapshot(settings) == before
    good = write(tmp_path, "good.csv", "Email,City\nmaria@summithvac.com,Boulder\n")
    assert cli("prospects", "import", str(good), "--dry-run").exit_code == 0


def test_a_mapped_id_column_is_matched_on_reimport(settings, cli, tmp_path):
    path = write(tmp_path, "crm.csv", "Customer No,Business,Cell\nC-17,Acme Roofing,+1 720 555 0100\n")
    before = snapshot(settings)
    for bad, message in ((["--map", "Nope=phone"], "no column 'Nope'"), (["--map", "Cell=mobile"], "not a field"),
                         (["--map", "Cell"], "expected NAME=VALUE")):  # fmt: skip
        refused = cli("prospects", "import", str(path), *bad)
        assert refused.exit_code == 1 and message in refused.stderr, refused.stderr
    assert snapshot(settings) == before
    args = ["prospects", "import", str(path), "--map", "Customer No=externalId", "--map", "Cell=phone"]
    assert cli(*args).exit_code == 0
    renamed = write(tmp_path, "crm.csv", "Customer No,Business,Cell\nC-17,Acme Roofing & Gutters,+1 720 555 0100\n")
    result = cli("prospects", "import", str(renamed), "--map", "Customer No=externalId", "--map", "Cell=phone")
    assert "0 created, 1 updated" in result.stdout, result.stdout
    found = prospects(settings)
    assert list(found) == ["acme_roofing"] and found["acme_roofing"].name == "Acme Roofing & Gutters"
    assert found["acme_roofing"].phone == "+1 720 555 0100"


def test_defaults_fill_rows_that_lack_a_value(settings, cli, tmp_path):
    make_prospect(settings, name="Old Roofing", email="old@oldroofing.com", trade="gutters", tier=1)
    path = write(tmp_path, "r.csv", "Company,Email\nNew Roofing,new@newroofing.com\nOld Roofing,old@oldroofing.com\n")
    before = snapshot(settings)
    refused = cli("prospects", "import", str(path), "--set", "tier=7")
    assert refused.exit_code == 1 and "set:" in refused.stderr and "1, 2 or 3" in refused.stderr
    assert snapshot(settings) == before
    assert cli("prospects", "import", str(path), "--set", "tier=2", "--set", "trade=roofing").exit_code == 0
    found = prospects(settings)
    assert (found["new_roofing"].tier, found["new_roofing"].trade) == (2, "roofing")
    assert (found["old_roofing"].tier, found["old_roofing"].trade) == (1, "gutters")  # only what is missing


def test_encoding_is_chosen_and_named_when_wrong(settings, cli, tmp_path):
    path = write(tmp_path, "excel.csv", "Company,Email\nSøren's Heating,info@bäckerei-müller.de\n", "cp1252")
    before = snapshot(settings)
    refused = cli("prospects", "import", str(path))
    assert refused.exit_code == 1
    assert "not UTF-8 text" in refused.stderr and "--encoding cp1252" in refused.stderr
    assert snapshot(settings) == before
    unknown = cli("prospects", "import", str(path), "--encoding", "klingon")
    assert unknown.exit_code == 1 and "encoding" in unknown.stderr
    result = cli("prospects", "import", str(path), "--encoding", "cp1252")
    assert result.exit_code == 0, result.stderr
    soren = prospects(settings)["soren_s_heating"]  # transliterated, not s_ren_s_heating
    # An address with an internationalised domain, kept as mail servers spell it.
    assert (soren.name, soren.email) == ("Søren's Heating", "info@" + "bäckerei-müller.de".encode("idna").decode())


def test_the_templates_needs_are_counted_from_the_templates(settings, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "city_note.txt").write_text("Subject: Hello {{ name }}\n\nSeen in {{ city }}.\n")
    path = write(tmp_path, "t.csv", "Company,Email,City\nA Co,a@aco.com,Austin\nB Co,b@bco.com,\nC Co,c@cco.com,\n")
    result = Cli(settings, env={"LEADLINE_TEMPLATES_DIR": str(folder)})("prospects", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^2 prospects lack city: city_note[ ,]", result.stdout, re.MULTILINE), result.stdout
    without = Cli(settings)("prospects", "import", str(path), "--dry-run")
    assert "city_note" not in without.stdout
    assert re.search(r"3 prospects lack gridHealth: [a-z0-9_, ]*pain_point", result.stdout)


def test_the_rejects_file_is_named_as_the_docs_say(settings, cli, tmp_path):
    path = write(tmp_path, "contacts.csv", "Company,Email\nGood Co,a@good.com\nBad Co,nope\n")
    result = cli("prospects", "import", str(path), "--skip-invalid")
    assert result.exit_code == 0
    assert (tmp_path / "contacts.rejected.csv").is_file()
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    cli_doc = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    assert "contacts.rejected.csv" in readme and "contacts.rejected.csv" in cli_doc


def test_the_web_preview_changes_a_columns_field_and_shows_old_and_new(page_client, settings):
    make_prospect(settings, name="Summit HVAC", email="maria@summithvac.com", city="Denver", phone=None)
    body = "Email,City,Cell\nmaria@summithvac.com,Boulder,+1 303 555 0101\n".encode("cp1252")
    preview = page_client.post(
        "/prospects/import",
        data={"csrf_token": page_client.csrf, "ignoreUnknown": "on", "encoding": "cp1252", "defaultTier": "2"},
        files={"file": ("summit.csv", body, "text/csv")},
    )
    assert preview.status_code == 200, preview.text[-1500:]
    html = preview.text
    assert '<code>city</code>: <span class="old">Denver</span> → <span class="new">Boulder</span>' in html
    assert re.search(r"<td>Cell</td><td><span class=\"muted\">\(unknown\)</span></td>", html)
    token = re.search(r'name="token" value="([^"]+)"', html)[1]
    before = snapshot(settings)
    refused = page_client.post(
        "/prospects/import/mapping", data={"csrf_token": page_client.csrf, "token": token, "map.2": "mobile"}
    )
    assert refused.status_code == 422 and "not a field" in refused.text
    remapped = page_client.post(
        "/prospects/import/mapping",
        data={"csrf_token": page_client.csrf, "token": token, "map.0": "email", "map.1": "city", "map.2": "phone"},
    )
    assert remapped.status_code == 200, remapped.text[-1500:]
    assert re.search(r"<td>Cell</td><td><code>phone</code></td>", remapped.text)
    assert (
        '<code>phone</code>: <span class="old">(blank)</span> → <span class="new">+1 303 555 0101</span>'
        in remapped.text
    )
    assert snapshot(settings) == before  # previews write nothing
    done = page_client.post("/prospects/import/confirm", data={"csrf_token": page_client.csrf, "token": token})
    assert done.status_code == 200
    summit = prospects(settings)["summit_hvac"]
    assert (summit.city, summit.phone, summit.tier) == ("Boulder", "+1 303 555 0101", 1)  # tier: only when missing


def test_a_plain_file_without_ids_or_emails_finds_its_businesses_by_name_and_website(settings, cli, tmp_path):
    first = write(tmp_path, "research.csv", "Business,Website,City,Grid Health\n"
                  "Royal Plumbing,royalplumbing.com,Austin,48\nRoyal Plumbing,royal-dallas.com,Dallas,50\n")  # fmt: skip
    assert cli("prospects", "import", str(first)).exit_code == 0
    assert set(prospects(settings)) == {"royal_plumbing", "royal_plumbing_2"}  # two cities: two businesses
    again = write(tmp_path, "research.csv", "Business,Website,City,Grid Health\n"
                  "Royal Plumbing,https://www.royalplumbing.com/,Austin,55\nRoyal Plumbing Dallas,royal-dallas.com,,50\n")  # fmt: skip
    result = cli("prospects", "import", str(again))
    assert "0 created, 2 updated" in result.stdout, result.stdout
    found = prospects(settings)
    assert set(found) == {"royal_plumbing", "royal_plumbing_2"}
    assert found["royal_plumbing"].grid_health == 55  # the business itself: its new figure replaces the old
    assert (found["royal_plumbing_2"].name, found["royal_plumbing_2"].city) == ("Royal Plumbing Dallas", "Dallas")


def test_the_web_upload_names_the_encoding_when_the_file_is_not_in_it(page_client, settings):
    before = snapshot(settings)
    body = "Company,Email\nSøren's Heating,info@soren.dk\n".encode("cp1252")
    refused = page_client.post("/prospects/import", data={"csrf_token": page_client.csrf},
                               files={"file": ("excel.csv", body, "text/csv")})  # fmt: skip
    assert refused.status_code == 422
    assert "not UTF-8 text" in refused.text and "cp1252" in refused.text
    assert snapshot(settings) == before
    accepted = page_client.post("/prospects/import", data={"csrf_token": page_client.csrf, "encoding": "cp1252"},
                                files={"file": ("excel.csv", body, "text/csv")})  # fmt: skip
    assert accepted.status_code == 200 and "soren_s_heating" in accepted.text


def test_a_person_of_no_company_is_named_by_the_person(settings, cli, tmp_path):
    path = write(tmp_path, "contacts.csv", '"Record ID","First Name","Last Name","Email","Company Name"\n'
                 '"901","Jo","Marsh","jo@marshpainting.com",""\n')  # fmt: skip
    for _ in range(2):
        assert cli("prospects", "import", str(path)).exit_code == 0
    found = prospects(settings)
    assert list(found) == ["jo_marsh"] and (found["jo_marsh"].name, found["jo_marsh"].contact_name) == ("Jo Marsh",) * 2


def test_excel_unicode_text_is_read_by_its_byte_order_mark(settings, cli, tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("Company\tEmail\nSøren's Heating\tsoren@heating.dk\n".encode("utf-16"))  # with its BOM
    result = cli("prospects", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert prospects(settings)["soren_s_heating"].email == "soren@heating.dk"


def test_two_businesses_of_one_name_with_two_websites_stay_two(settings, cli, tmp_path):
    path = write(tmp_path, "same.csv", "Business,Email,Website\n"
                 "ABC Plumbing,a@abc-one.com,abc-one.com\nABC Plumbing,b@abc-two.com,abc-two.com\n")  # fmt: skip
    for _ in range(2):
        assert cli("prospects", "import", str(path)).exit_code == 0
    assert set(prospects(settings)) == {"abc_plumbing", "abc_plumbing_2"}


def test_the_api_takes_the_same_options(settings, client):
    body = "Customer No,Business,Cell\nC-9,Acme Roofing,+1 720 555 0100\n".encode("cp1252")
    before = snapshot(settings)
    refused = client.post("/api/prospects/import", params={"set": "tier=9"}, files={"file": ("a.csv", body)})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "set"
    assert snapshot(settings) == before
    params = {"map": ["Customer No=externalId", "Cell=phone"], "set": ["trade=roofing"], "encoding": "cp1252"}
    for _ in range(2):
        done = client.post("/api/prospects/import", params=params, files={"file": ("a.csv", body)})
        assert done.status_code == 200, done.text
    assert (done.json()["created"], done.json()["unchanged"]) == (0, 1)
    acme = prospects(settings)["acme_roofing"]
    assert (acme.phone, acme.trade) == ("+1 720 555 0100", "roofing")


def test_a_name_with_a_capital_letter_beyond_ascii_is_found_again(settings, cli, tmp_path):
    first = write(tmp_path, "a.csv", "Business,City\nØster Plumbing,Aarhus\n")
    assert cli("prospects", "import", str(first)).exit_code == 0
    again = write(tmp_path, "b.csv", "Business,City,Grid Health\nØster Plumbing,Aarhus,40\n")
    assert "0 created, 1 updated" in cli("prospects", "import", str(again)).stdout
    assert list(prospects(settings)) == ["oster_plumbing"]


@pytest.mark.parametrize("encoding", ["punycode", "idna", "undefined", "hex"])
def test_an_encoding_that_is_not_a_files_is_refused_naming_it(settings, cli, client, tmp_path, encoding):
    """punycode and idna decode in quadratic time and fail with a bare UnicodeError (it was a 500),
    "undefined" refuses everything, hex is bytes to bytes: none is a file's encoding."""
    path = write(tmp_path, "t.csv", "Company,Email\nA Co,a@aco.com\n")
    before = snapshot(settings)
    answer = client.post("/api/prospects/import", params={"dryRun": "true", "encoding": encoding},
                         files={"file": ("t.csv", path.read_bytes())})  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "encoding"
    refused = cli("prospects", "import", "--encoding", encoding, str(path))
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: encoding:") and len(refused.stderr.strip().splitlines()) == 1
    assert snapshot(settings) == before
