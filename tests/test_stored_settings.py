"""Settings kept in the database (``leadline settings``): every process sees a change at its next unit
of work without a restart, the environment still wins, bad values are refused naming the field with
nothing changed, and every change is audited (who, when, old -> new)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.prospects.stages import DEFAULT_PROBABILITIES
from leadline.storedsettings.models import SettingChange
from tests.conftest import Cli, make_settings, run_leadline, settings_env
from tests.factories import make_prospect, snapshot


def another_process(settings: Settings) -> Settings:
    """Settings built as another process builds them (its own object, from the same environment)."""
    return make_settings(settings.database_url, settings.data_dir)


def test_a_change_reaches_other_processes_without_a_restart_and_is_audited(settings: Settings) -> None:
    worker = another_process(settings)
    with unit_of_work(worker, readonly=True):
        pass
    assert worker.daily_send_limit == 50
    result = Cli(settings)("settings", "set", "dailySendLimit", "7")
    assert result.exit_code == 0, result.stderr
    assert "daily_send_limit: 50 -> 7" in result.stdout
    assert worker.daily_send_limit == 50  # nothing read yet
    with unit_of_work(worker, readonly=True):
        assert worker.daily_send_limit == 7
    shown = Cli(settings)("settings", "get", "daily_send_limit", "--json").json
    assert shown["value"] == 7 and shown["source"] == "stored" and shown["updatedBy"].startswith("cli")
    assert Cli(settings)("settings", "set", "send_window_days", "mon, wed").exit_code == 0
    assert Cli(settings)("settings", "set", "stageProbabilities", '{"proposal": 0.7}').exit_code == 0
    with unit_of_work(worker, readonly=True):
        assert worker.send_window_days == ["mon", "wed"]
        # a stage left out keeps its default (it fell to 0%: every other stage left the forecast)
        assert worker.stage_probabilities == {**DEFAULT_PROBABILITIES, "proposal": 0.7}
    assert Cli(settings)("settings", "unset", "dailySendLimit").exit_code == 0
    with unit_of_work(worker, readonly=True) as session:
        assert worker.daily_send_limit == 50
        changes = [(c.name, c.old_value, c.new_value) for c in session.scalars(select(SettingChange))]
    assert ("daily_send_limit", 50, 7) in changes and ("daily_send_limit", 7, 50) in changes
    assert ("send_window_days", ["mon", "tue", "wed", "thu", "fri"], ["mon", "wed"]) in changes


def test_the_environment_wins_and_cannot_be_changed_here(settings: Settings) -> None:
    env_set = make_settings(settings.database_url, settings.data_dir, daily_send_limit=3)
    before = snapshot(settings)
    result = Cli(env_set)("settings", "set", "dailySendLimit", "9")
    assert result.exit_code == 1
    assert "dailySendLimit: is set by the environment (LEADLINE_DAILY_SEND_LIMIT)" in result.stderr
    assert snapshot(settings) == before
    # stored by a process without the variable: the one with it keeps its own value
    assert Cli(settings)("settings", "set", "dailySendLimit", "9").exit_code == 0
    with unit_of_work(env_set, readonly=True):
        assert env_set.daily_send_limit == 3
    listed = {row["name"]: row for row in Cli(env_set)("settings", "list", "--json").json}
    assert listed["dailySendLimit"]["source"] == "env" and listed["dailySendLimit"]["value"] == 3


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("digestHour", "24", "digestHour: must be at most 23"),
        ("dailySendLimit", "-1", "dailySendLimit: must be at least 0"),
        ("sendWindowStart", "8 o'clock", 'sendWindowStart: "8 o\'clock" is not a time of day like 08:00'),
        ("sendWindowStart", "24:00", "sendWindowStart: '24:00' is not a time of day like 08:00"),
        ("sendWindowStart", "08:00Z", "sendWindowStart: '08:00Z' is not a time of day like 08:00"),
        ("sendWindowEnd", "2" * 100_000, "sendWindowEnd: '" + "2" * 40 + "' is not a time of day like 17:00"),
        ("sendWindowEnd", "24:30", "sendWindowEnd: '24:30' is not a time of day like 17:00, or 24:00 for midnight"),
        (
            "sendWindowStart",
            "18:00",
            "sendWindowStart: '18:00' is not before the window's end (17:00): the window would",
        ),
        ("sendWindowEnd", "8:00", "sendWindowEnd: '8:00' is not after the window's start (08:00): the window would"),
        ("textWindowEnd", "07:30", "textWindowEnd: '07:30' is not after the window's start (09:00)"),
        ("sendWindowDays", "mon, funday", "sendWindowDays: days must be among"),
        # stored, a number past SQLite's integers came back as 1e+23 and was dropped: "saved", then 50
        ("dailySendLimit", "99999999999999999999999", "dailySendLimit: must be at most 1000000"),
        ("weeklyEmailGoal", "9223372036854775808", "weeklyEmailGoal: must be at most 1000000"),
        ("targetOpenRate", "nan", "targetOpenRate: must be a finite number"),
        ("textHelpReply", "bad\x01", "textHelpReply: must not contain control characters (U+0001)"),  # an SMS
        ("textHelpReply", "Reply\nSTOP", "textHelpReply: must be one line (no line breaks)"),
        ("textHelpReply", "x" * 460, "textHelpReply: must be at most 459 characters"),
        ("stageProbabilities", "proposal: inf", "stageProbabilities: must be a finite number"),
        ("stageProbabilities", "proposal: 1.5", "stageProbabilities: the probability of proposal must be between"),
        ("stageProbabilities", "won: 0.5", "stageProbabilities: unknown stage 'won'"),
        ("currency", "dollars", "currency: 'dollars' is not a 3-letter currency code"),
        (
            "objectionCategories",
            "price: cost\n" + "x" * 61 + ": words",
            "objectionCategories: a category's name is at most 60 characters",
        ),
        ("secretKey", "x", "name: unknown setting 'secretKey'"),
    ],
)
def test_bad_values_are_refused_naming_the_field(settings: Settings, name: str, value: str, message: str) -> None:
    before = snapshot(settings)
    result = Cli(settings)("settings", "set", "--", name, value)
    assert result.exit_code == 1
    assert message in result.stderr
    if value.startswith("-"):  # as typed, without "--" (it said "No such option: -1")
        assert Cli(settings)("settings", "set", name, value).stderr == result.stderr
    assert snapshot(settings) == before


def test_a_window_is_moved_one_end_at_a_time_and_never_left_shut(settings: Settings) -> None:
    """A window whose end is not after its start would never open: each change (set, unset, a form's
    values together) keeps the window open, and a fresh process keeps both stored ends."""

    def run(*args: str) -> Any:  # each command as a new process reads the environment (no stored values)
        return Cli(another_process(settings))(*args)

    assert run("settings", "set", "sendWindowEnd", "24:00").exit_code == 0
    assert run("settings", "set", "sendWindowStart", "18:00").exit_code == 0
    fresh = another_process(settings)
    with unit_of_work(fresh, readonly=True):  # each stored value checked beside the other, not the defaults
        assert (fresh.send_window_start, fresh.send_window_end) == ("18:00", "24:00")
    before = snapshot(settings)
    refused = run("settings", "unset", "sendWindowEnd")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "error: sendWindowEnd: cannot be unset while sendWindowStart needs it: "
        "'18:00' is not before the window's end (17:00): the window would never open"
    )
    assert snapshot(settings) == before
    for args, error in [
        (("sendWindowStart", "06:00", "sendWindowEnd"), "error: 'sendWindowEnd' has no value: give each setting"),
        (("sendWindowEnd", "07:00", "sendWindowEnd", "08:00"), "error: 'sendWindowEnd' is given twice"),
        (("sendWindowStart", "06:00", "sendWindowEnd", "05:00"), "error: sendWindowStart: '06:00' is not before"),
    ]:
        refused = run("settings", "set", *args)
        assert refused.exit_code == 1 and refused.stderr.startswith(error), refused.stderr
        assert snapshot(settings) == before
    # several at once, checked beside each other (as the settings page sends a group's values)
    moved = run("settings", "set", "sendWindowStart", "06:00", "sendWindowEnd", "07:00")
    assert moved.exit_code == 0, moved.stderr
    with unit_of_work(fresh, readonly=True):
        assert (fresh.send_window_start, fresh.send_window_end) == ("06:00", "07:00")
    with pytest.raises(ValueError, match="the window would never open"):
        make_settings(settings.database_url, settings.data_dir, send_window_start="18:00", send_window_end="17:00")


def test_emails_send_in_a_fresh_process_uses_the_stored_cap(settings: Settings) -> None:
    for _ in range(3):
        make_prospect(settings)
    assert Cli(settings)("settings", "set", "dailySendLimit", "2").exit_code == 0
    sent = run_leadline("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "3", "--json",
                        env=settings_env(settings))  # fmt: skip
    report = json.loads(sent.stdout)
    assert report["sent"] == 2, sent.stderr


def test_the_check_at_the_start_of_a_unit_is_part_of_a_reports_snapshot(settings: Settings) -> None:
    """The version read is the unit's first statement, in the unit's own transaction: a read-only unit
    (a report) reads its settings and its figures from one snapshot (REPEATABLE READ on PostgreSQL)."""
    from sqlalchemy import text

    assert Cli(settings)("settings", "set", "weeklyCallGoal", "4").exit_code == 0
    with unit_of_work(settings, readonly=True) as session:
        assert settings.weekly_call_goal == 4
        if session.get_bind().dialect.name == "postgresql":
            assert session.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        else:
            assert session.execute(text("SELECT 1")).scalar() == 1
