"""`leadline prospects list|show|add|update|stage` as a user types them."""

from __future__ import annotations

import json

from leadline.db import unit_of_work
from leadline.prospects import service
from tests.conftest import Cli, run_leadline
from tests.factories import count, make_prospect, snapshot


class TestList:
    def test_table_and_json(self, settings, cli):
        make_prospect(settings, name="Royal Plumbing Co", email="d@royal.com", tier=1)
        make_prospect(settings, name="Summit HVAC", email="m@summit.com", tier=2, trade="hvac")
        table = cli("prospects", "list")
        assert table.exit_code == 0
        assert "royal_plumbing_co" in table.stdout and "Summit HVAC" in table.stdout
        assert "1-2 of 2 prospects" in table.stdout
        data = cli("prospects", "list", "--tier", "2", "--json").json
        assert [p["id"] for p in data] == ["summit_hvac"]
        assert {"salesStatus", "gridHealth", "emailsSentCount"} <= set(data[0])

    def test_filters_and_limit(self, settings, cli):
        for n in range(5):
            make_prospect(settings, name=f"Plumber {n}", email=f"p{n}@x.com", trade="plumbing")
        make_prospect(settings, name="Roofer", email="r@x.com", trade="roofing")
        assert len(cli("prospects", "list", "--trade", "Plumbing", "--limit", "3", "--json").json) == 3
        assert [p["name"] for p in cli("prospects", "list", "--search", "roof", "--json").json] == ["Roofer"]
        assert cli("prospects", "list", "--status", "new", "--json").json.__len__() == 6
        assert cli("prospects", "list", "--status", "replied", "--json").json == []

    def test_the_count_reads_in_words(self, settings, cli):
        assert cli("prospects", "list").stdout.strip() == "no prospects"  # not "none of 0 prospects"
        make_prospect(settings, name="Only Roofing", email="o@only.com", trade="roofing")
        assert "1-1 of 1 prospect\n" in cli("prospects", "list").stdout
        assert cli("prospects", "list", "--trade", "hvac").stdout.strip() == "no prospects"
        assert "none of 1 prospect" in cli("prospects", "list", "--page", "2").stdout  # past the last page

    def test_bad_option_is_refused(self, cli):
        result = cli("prospects", "list", "--tier", "9")
        assert result.exit_code == 2
        assert "--tier" in result.stderr


class TestShow:
    def test_every_field_and_the_timeline(self, settings, cli):
        p = make_prospect(settings, name="Royal Plumbing Co", email="d@royal.com")
        with unit_of_work(settings) as session:
            service.move_stage(session, p.id, "contacted", reason="called their office", actor="cli:ann")
        out = cli("prospects", "show", p.id).stdout
        for text in ("Royal Plumbing Co", "grid_health", "48", "Timeline", "created", "New -> Contacted",
                     "called their office", "cli:ann"):  # fmt: skip
            assert text in out, text
        data = cli("prospects", "show", p.id, "--json").json
        assert [e["type"] for e in data["timeline"]] == ["created", "stage_change"]

    def test_unknown_id(self, cli):
        result = cli("prospects", "show", "nobody")
        assert result.exit_code == 1
        assert result.stderr.strip() == "error: prospectId: no prospect with id 'nobody'"


class TestEdit:
    def test_add(self, settings, cli):
        result = cli("prospects", "add", "--name", "Royal Plumbing Co", "--email", "D@Royal.com", "--tier", "1")
        assert result.exit_code == 0 and "Added royal_plumbing_co" in result.stdout
        assert count(settings, "prospects") == 1

    def test_update_with_validation(self, settings, cli):
        p = make_prospect(settings, tier=2)
        assert cli("prospects", "update", p.id, "--tier", "1", "--grid-health", "55").exit_code == 0
        data = cli("prospects", "show", p.id, "--json").json
        assert (data["tier"], data["gridHealth"]) == (1, 55.0)
        before = snapshot(settings)
        result = cli("prospects", "update", p.id, "--grid-health", "150")
        assert result.exit_code == 1
        assert result.stderr.strip() == "error: grid-health: must be at most 100"
        assert snapshot(settings) == before

    def test_clear(self, settings, cli):
        p = make_prospect(settings, phone="(512) 555-0100")
        assert cli("prospects", "update", p.id, "--clear", "phone").exit_code == 0
        assert cli("prospects", "show", p.id, "--json").json["phone"] is None

    def test_nothing_to_change(self, settings, cli):
        p = make_prospect(settings)
        result = cli("prospects", "update", p.id)
        assert result.exit_code == 1 and "nothing to change" in result.stderr

    def test_stage_move_needs_a_reason_and_respects_rules(self, settings, cli):
        p = make_prospect(settings)
        assert cli("prospects", "stage", p.id, "interested").exit_code == 2  # --reason is required
        ok = cli("prospects", "stage", p.id, "interested", "--reason", "met at the expo")
        assert ok.exit_code == 0 and "is now interested" in ok.stdout
        before = snapshot(settings)
        refused = cli("prospects", "stage", p.id, "closed_won", "--reason", "signed")
        assert refused.exit_code == 1 and "no customer record" in refused.stderr
        assert snapshot(settings) == before


class TestSetup:
    def test_commands_need_a_database(self, settings, tmp_path):
        env = {"LEADLINE_DATABASE_URL": f"sqlite:///{tmp_path}/missing/leadline.db"}
        result = run_leadline("prospects", "show", "x", env=env)
        assert result.returncode == 1
        assert "no database at" in result.stderr and "leadline init" in result.stderr
        assert "Traceback" not in result.stderr

    def test_init_is_idempotent(self, settings, tmp_path):
        env = {
            "LEADLINE_DATABASE_URL": f"sqlite:///{tmp_path}/new/leadline.db",
            "LEADLINE_DATA_DIR": str(tmp_path / "new"),
        }
        first = run_leadline("init", env=env)
        assert first.returncode == 0 and "schema empty ->" in first.stdout
        again = run_leadline("init", env=env)
        assert again.returncode == 0 and "is ready (schema" in again.stdout

    def test_config_masks_secrets_and_warns(self, settings):
        cli = Cli(settings, env={
            "LEADLINE_SENDGRID_API_KEY": "SG.very-secret", "LEADLINE_SENDGRID_WEBHOOK_VERIFY": "false",
            "LEADLINE_DATABASE_URL": "postgresql://leadline:hunter2@db.internal/leadline",
        })  # fmt: skip
        result = cli("config")
        assert "SG.very-secret" not in result.stdout and "hunter2" not in result.stdout
        assert "postgresql+psycopg://leadline:********@db.internal/leadline" in result.stdout
        assert "verification is OFF" in result.stderr
        data = cli("config", "--json").json
        assert data["settings"]["LEADLINE_SENDGRID_API_KEY"] == "********"

    def test_bad_configuration_is_one_line(self, settings, tmp_path):
        result = run_leadline("prospects", "show", "x", env={"LEADLINE_TIMEZONE": "Mars/Base"})
        assert result.returncode == 1
        assert "unknown time zone 'Mars/Base'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_dotenv_file_is_read(self, settings, tmp_path):
        (tmp_path / ".env").write_text("LEADLINE_DAILY_SEND_LIMIT=7\n")
        result = run_leadline("config", "--json", cwd=tmp_path)
        assert json.loads(result.stdout)["settings"]["LEADLINE_DAILY_SEND_LIMIT"] == "7"
        # What the settings work out for themselves is a default, not the environment's (it said env).
        sources = {line.split()[0]: line.split()[-1] for line in run_leadline("config", cwd=tmp_path).stdout.splitlines()
                   if line.startswith("LEADLINE_")}  # fmt: skip
        assert sources["LEADLINE_DAILY_SEND_LIMIT"] == "env"
        assert [sources[name] for name in ("LEADLINE_BASE_URL", "LEADLINE_OUTBOX_DIR")] == ["default", "default"]
        # Links in emails point at the server's own port unless LEADLINE_BASE_URL says otherwise (they
        # pointed at :8000 whatever LEADLINE_PORT was).
        moved = json.loads(run_leadline("config", "--json", cwd=tmp_path, env={"LEADLINE_PORT": "8765"}).stdout)
        assert moved["settings"]["LEADLINE_BASE_URL"] == "http://127.0.0.1:8765"
        given = {"LEADLINE_PORT": "8765", "LEADLINE_BASE_URL": "https://crm.example.com/"}
        chosen = json.loads(run_leadline("config", "--json", cwd=tmp_path, env=given).stdout)
        assert chosen["settings"]["LEADLINE_BASE_URL"] == "https://crm.example.com"
