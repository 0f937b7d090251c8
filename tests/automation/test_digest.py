"""The Monday-morning digest: last week's numbers, once, whichever worker runs the job."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from leadline import clock, worker
from tests.conftest import changed

CHICAGO = ZoneInfo("America/Chicago")


def run_digest_at(settings, moment: datetime) -> None:
    clock.set_frozen(moment)
    worker.run(settings, "analytics.weekly_digest")


def test_monday_morning_brings_last_weeks_numbers_once(settings, cli, slack, immediate):
    assert settings.timezone == "America/Chicago"
    settings = changed(settings, weekly_digest=True)  # the tests' settings leave it off (tests/conftest.py)
    try:
        clock.set_frozen(datetime(2025, 11, 24, 7, 0, tzinfo=CHICAGO))  # the demo's week is 2025-W47
        assert cli("demo").exit_code == 0
        slack.posts.clear()
        run_digest_at(settings, datetime(2025, 11, 24, 7, 45, tzinfo=CHICAGO))  # before 08:00: not yet
        assert slack.titles() == []
        run_digest_at(settings, datetime(2025, 11, 24, 8, 0, tzinfo=CHICAGO))
        (title,) = slack.titles()
        # The demo's week is the seed's Week 1 (issue 15): 2 calls booked, no deal yet.
        assert title == "Week 2025-W47: 25 emails sent, 8% replied, 2 calls booked, 0 deals won"
        text = str(slack.posts[0]["blocks"])
        assert "Emails Sent: 25" in text and "Next Week Target (2025-W48)" in text
        run_digest_at(settings, datetime(2025, 11, 24, 8, 15, tzinfo=CHICAGO))  # every quarter hour, never twice
        run_digest_at(settings, datetime(2025, 11, 25, 9, 0, tzinfo=CHICAGO))
        assert len(slack.titles()) == 1
        run_digest_at(settings, datetime(2025, 11, 26, 9, 0, tzinfo=CHICAGO))  # Wednesday: no digest for a new week
        assert len(slack.titles()) == 1
        listed = cli("notifications", "list", "--json").json
        assert [n["kind"] for n in listed].count("weekly_digest") == 1
    finally:
        clock.set_frozen(None)


def test_a_worker_down_on_monday_sends_it_on_tuesday_and_it_can_be_turned_off(settings, slack, immediate):
    assert settings.timezone == "America/Chicago"
    settings = changed(settings, weekly_digest=True)
    try:
        run_digest_at(changed(settings, weekly_digest=False), datetime(2025, 11, 24, 9, 0, tzinfo=CHICAGO))
        assert slack.titles() == []
        assert settings.weekly_digest
        run_digest_at(settings, datetime(2025, 11, 25, 16, 0, tzinfo=CHICAGO))
        (title,) = slack.titles()
        assert title.startswith("Week 2025-W47: 0 emails sent"), title
    finally:
        clock.set_frozen(None)
