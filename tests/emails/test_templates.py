"""Templates: built-ins, the user's folder, the sandbox, merge fields."""

from __future__ import annotations

from tests.conftest import Cli, changed
from tests.factories import make_prospect, snapshot

BUILT_INS = {"pain_point", "solution", "competitor_threat", "proposal", "follow_up_1", "follow_up_2"}


def test_built_ins_are_listed(cli):
    names = {t["name"] for t in cli("templates", "list", "--json").json}
    assert names >= BUILT_INS


def test_show_lists_the_merge_fields(cli):
    out = cli("templates", "show", "pain_point").stdout
    assert "Subject: {{ name }}: your ${{ weeklyOpportunity }}/week" in out
    assert "gridHealth (grid health score, 0-100)" in out


def test_preview_fills_in_the_prospect(settings, cli):
    p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", grid_health=48, trade="plumbing",
                      top_competitor="Summit Plumbing", competitor_health=81, city="Austin")  # fmt: skip
    data = cli("templates", "preview", "competitor_threat", "--prospect", p.id, "--json").json
    assert data["subject"] == "Summit Plumbing is taking plumbing calls in Austin"
    assert data["text"].startswith("Hi Daniel,")
    assert "Their local-visibility score is 81/100; yours is 48." in data["text"]
    assert "about $1,200 a week" in data["text"]


def test_your_folder_overrides_a_built_in(settings, tmp_path):
    folder = tmp_path / "my-templates"
    folder.mkdir()
    (folder / "pain_point.txt").write_text("Subject: Hello {{ name }}\nType: pain_point\n\nHi {{ firstName }}!\n")
    (folder / "pain_point.html").write_text("<p>Hi {{ firstName }} &amp; team</p>")
    (folder / "holiday.txt").write_text(
        "Subject: Happy holidays, {{ contact }}\n\nBest wishes from {{ senderName }}.\n"
    )
    cli = Cli(changed(settings, templates_dir=folder))
    listed = {t["name"]: t["source"] for t in cli("templates", "list", "--json").json}
    assert listed["pain_point"] == str(folder / "pain_point.txt") and listed["solution"] == "built-in"
    assert "holiday" in listed
    p = make_prospect(settings, contact_name="Ann <b>Smith</b>")
    data = cli("templates", "preview", "pain_point", "--prospect", p.id, "--json").json
    assert data["subject"].startswith("Hello ") and data["text"] == "Hi Ann!\n"
    assert data["html"] == "<p>Hi Ann &amp; team</p>"


def test_the_sandbox_refuses_escapes(settings, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "evil.txt").write_text("Subject: x\n\n{{ name.__class__.__mro__[1].__subclasses__() }}\n")
    (folder / "reader.txt").write_text("Subject: x\n\n{% include '/etc/passwd' %}\n")
    (folder / "formatter.txt").write_text("Subject: x\n\n{{ '{0.__class__}'.format(name) }}\n")
    cli = Cli(changed(settings, templates_dir=folder))
    p = make_prospect(settings)
    before = snapshot(settings)
    evil = cli("emails", "send", "--template", "evil", "-p", p.id)
    assert evil.exit_code == 1 and "sandbox forbids" in evil.stderr
    reader = cli("templates", "preview", "reader", "--prospect", p.id)
    assert reader.exit_code == 1 and "cannot include or import other files" in reader.stderr
    formatter = cli("templates", "preview", "formatter", "--prospect", p.id)
    assert formatter.exit_code == 1 and "sandbox forbids" in formatter.stderr
    assert snapshot(settings) == before


def test_unknown_merge_fields_and_bad_syntax(settings, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "typo.txt").write_text("Subject: x\n\nHi {{ fristName }}\n")
    (folder / "broken.txt").write_text("Subject: x\n\nHi {{ firstName }\n")
    (folder / "nosubject.txt").write_text("Hi there\n")
    cli = Cli(changed(settings, templates_dir=folder))
    assert "unknown merge field fristName" in cli("templates", "show", "typo").stderr
    assert "line 3" in cli("templates", "show", "broken").stderr
    assert "expected 'Header: value'" in cli("templates", "show", "nosubject").stderr


def test_missing_field_names_template_field_and_prospect(settings, cli):
    p = make_prospect(settings, top_competitor=None, competitor_health=None)
    result = cli("templates", "preview", "competitor_threat", "--prospect", p.id)
    assert result.exit_code == 1
    assert (
        f"template 'competitor_threat' needs topCompetitor and competitorHealth, which prospect '{p.id}' does not have"
        in result.stderr
    )  # both at once (issue 15)


def test_optional_fields_can_be_guarded(settings, cli):
    p = make_prospect(settings, top_competitor=None, competitor_health=None, gaps=[])
    data = cli("templates", "preview", "pain_point", "--prospect", p.id, "--json").json
    assert "while" not in data["text"] and "The biggest gaps" not in data["text"]


def test_every_missing_merge_field_is_named_at_once(settings, tmp_path):
    folder = tmp_path / "my-templates"
    folder.mkdir()
    (folder / "three.txt").write_text(
        "Subject: {{ topCompetitor }} is ahead\n\n{{ name }}: {{ competitorHealth }}/100 at {{ website }}. "
        "Again, {{ topCompetitor }}.\n"
    )
    cli = Cli(changed(settings, templates_dir=folder))
    p = make_prospect(settings, top_competitor=None, competitor_health=None, website=None)
    result = cli("templates", "preview", "three", "--prospect", p.id)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert f"template 'three' needs topCompetitor, competitorHealth and website, which prospect '{p.id}'" in line
    before = snapshot(settings)
    result = cli("emails", "send", "--template", "three", "--prospect", p.id)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "needs topCompetitor, competitorHealth and website" in line and "nothing was sent" in line
    assert snapshot(settings) == before
