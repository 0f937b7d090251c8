"""The seed's own commands (`npm run list:prospects`, `create:call`, `report:week1`, ...) work as it
writes them: hidden aliases of today's commands, run here as a user runs them (issue 15, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_leadline

ALIASES = {
    "list:prospects": ("prospects", "list"),
    "list:emails": ("emails", "list"),
    "list:calls": ("calls", "list"),
    "create:call": ("calls", "log"),
    "report:week1": ("report", "week"),
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        "LEADLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'leadline.db'}",
        "LEADLINE_DATA_DIR": str(tmp_path),
        "LEADLINE_SECRET_KEY": "alias-test-secret-" + "x" * 32,
        "LEADLINE_TIMEZONE": "America/Chicago",
        "LEADLINE_SENDER_ADDRESS": "Leadline, 100 Congress Ave, Austin, TX 78701",
        "LEADLINE_EMAIL_BACKEND": "outbox",
    }
    for args in (["init"], ["prospects", "add", "--name", "Royal Plumbing", "--email", "dan@royal.example"]):
        done = run_leadline(*args, env=values, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return values


def _ok(env: dict[str, str], *args: str) -> str:
    done = run_leadline(*args, env=env)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def test_the_seeds_list_commands_print_what_todays_commands_print(env: dict[str, str]) -> None:
    for alias, status in (("list:prospects", "new"), ("list:emails", "opened"), ("list:calls", "pending")):
        for options in (["--json"], ["--status", status]):
            assert _ok(env, alias, *options) == _ok(env, *ALIASES[alias], *options), alias
    prospects = json.loads(_ok(env, "list:prospects", "--status", "new", "--limit", "10", "--json"))
    assert [p["id"] for p in prospects] == ["royal_plumbing"]


def test_create_call_logs_a_call_as_the_seed_writes_it(env: dict[str, str]) -> None:
    assert json.loads(_ok(env, "calls", "list", "--json")) == []
    _ok(env, "create:call", '--prospect=royal_plumbing', "--outcome=interested", "--objections=cost,timeline",
        "--notes=Daniel very interested in grid analysis")  # fmt: skip
    calls = json.loads(_ok(env, "calls", "list", "--status", "completed", "--json"))
    (call,) = calls
    assert call["prospectId"] == "royal_plumbing" and call["outcome"] == "interested"
    assert json.loads(_ok(env, "prospects", "show", "royal_plumbing", "--json"))["salesStatus"] == "interested"


def _drop_moments(value: object) -> None:
    if isinstance(value, dict):
        for key in ("asOf", "since", "until", "links"):
            value.pop(key, None)
        for inner in value.values():
            _drop_moments(inner)
    elif isinstance(value, list):
        for inner in value:
            _drop_moments(inner)


def test_report_week1_is_the_weekly_report_of_week_one(env: dict[str, str]) -> None:
    # No email sent yet: week 1 is this week (the one the first email will open).
    alias, today = (json.loads(_ok(env, *args, "--format", "json")) for args in (["report:week1"], ["report", "week"]))
    for report in (alias, today):
        report.pop("generatedAt")
        _drop_moments(report["deliverability"])  # this week's rolling windows end now: at each run's own moment
    assert alias == today and alias["week"]["number"] is None
    assert _ok(env, "report:week1").splitlines()[0] == _ok(env, "report", "week").splitlines()[0]


def test_report_week1_is_the_week_of_the_first_email_sent(env: dict[str, str]) -> None:
    # The demo's Week 1 emails went out last week: week 1 is last week, not this one.
    _ok(env, "demo", "--reset")
    alias, last = (
        json.loads(_ok(env, *args, "--format", "json"))
        for args in (["report:week1"], ["report", "week", "--week", "last"])
    )
    for report in (alias, last):
        report.pop("generatedAt")
    assert (
        alias == last
        and alias["week"]["number"] == 1
        and {line["key"]: line["value"] for line in alias["lines"]}["emails_sent"] == 25
    )


def test_aliases_are_hidden_from_help_and_listed_in_the_docs(env: dict[str, str]) -> None:
    shown = _ok(env, "--help")
    docs = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    for alias, command in ALIASES.items():
        assert alias not in shown
        assert f"### `leadline {alias}`" in docs
        assert f"`leadline {' '.join(command)}`" in _ok(env, alias, "--help") or alias == "report:week1"
