"""Sequences with a text step (email, email, then a text on day 7): the text goes once, in the
prospect's texting hours, and the same stop rules hold (a text back stops it before the next step)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadline import clock, worker
from leadline.db import unit_of_work
from leadline.errors import Invalid
from leadline.sequences.service import parse_steps
from leadline.texts import service
from leadline.texts.schemas import TextLog
from tests.automation.conftest import immediate, monday  # noqa: F401  (fixtures)
from tests.conftest import Cli
from tests.emails.conftest import outbox_messages
from tests.texts.test_service import E164, PHONE, add_template, timeline


def tick(settings) -> None:
    worker.run(settings, "sequences.run_due")


def sent_texts(settings):
    with unit_of_work(settings, readonly=True) as session:
        return [(m.prospect_id, m.status, m.body) for m in service.search(session, direction="out")]


def test_parse_a_text_step():
    assert parse_steps("follow_up_1:3d, text:checkin:4d") == [
        {"template": "follow_up_1", "delaySeconds": 3 * 86400},
        {"template": "text:checkin", "kind": "text", "delaySeconds": 4 * 86400},
    ]
    with pytest.raises(Invalid, match="text:TEMPLATE:DELAY"):
        parse_steps("text:checkin")


def test_email_email_then_a_text_on_day_seven(settings, immediate, monday):  # noqa: F811
    from tests.factories import make_prospect

    p = make_prospect(settings, phone=PHONE, timezone="America/Chicago", contact_name="Dana Royal")
    add_template(settings, name="checkin", body="Hi {{ firstName }}, did my emails reach you? - {{ senderName }}")
    cli = Cli(settings)
    started = cli("sequences", "start", "--template", "pain_point", "-p", p.id, "--steps",
                  "follow_up_1:3d,text:checkin:4d")  # fmt: skip
    assert started.exit_code == 0, started.stderr
    assert "pain_point -> follow_up_1 -> text:checkin" in started.stdout
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    tick(settings)
    assert len(outbox_messages(settings)) == 2 and sent_texts(settings) == []
    clock.set_frozen(monday + timedelta(days=7, minutes=2))
    tick(settings)
    assert sent_texts(settings) == [(p.id, "sent", "Hi Dana, did my emails reach you? - Leadline")]
    tick(settings)
    assert len(sent_texts(settings)) == 1  # never twice
    rows = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}
    assert rows[p.id]["status"] == "completed"
    assert ("sms", "sent") in timeline(settings, p.id)
    with unit_of_work(settings, readonly=True) as session:
        assert service.search(session)[0].to_number == E164


def test_a_text_back_stops_it_before_the_text_step(settings, immediate, monday):  # noqa: F811
    from tests.factories import make_prospect

    p = make_prospect(settings, phone=PHONE)
    add_template(settings, name="checkin", body="Hi {{ firstName }}")
    cli = Cli(settings)
    assert (
        cli("sequences", "start", "--template", "pain_point", "-p", p.id, "--steps", "text:checkin:3d").exit_code == 0
    )
    clock.set_frozen(monday + timedelta(days=1))
    with unit_of_work(settings) as session:
        service.log(session, settings, p.id, TextLog(direction="in", body="Not interested"), actor="test")
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    tick(settings)
    assert sent_texts(settings) == []
    rows = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}
    assert (rows[p.id]["status"], rows[p.id]["stopReason"]) == ("stopped", "texted back")


def test_a_text_step_outside_texting_hours_waits_for_them(settings, immediate, monday):  # noqa: F811
    from tests.factories import make_prospect

    p = make_prospect(settings, phone=PHONE, timezone="America/Chicago")
    add_template(settings, name="checkin", body="Hi {{ firstName }}")
    cli = Cli(settings)
    started = cli("sequences", "start", "--template", "pain_point", "-p", p.id, "--steps", "text:checkin:12h")
    assert started.exit_code == 0, started.stderr
    clock.set_frozen(monday + timedelta(hours=12, minutes=1))  # Monday 21:01 in Chicago: after the texting hours
    tick(settings)
    assert sent_texts(settings) == []
    rows = {r["prospectId"]: r for r in cli("sequences", "status", "--all", "--json").json}
    assert rows[p.id]["status"] == "active" and rows[p.id]["nextSendAt"].startswith("2025-11-18T15:00:00")
    clock.set_frozen(monday + timedelta(days=1, minutes=1))  # Tuesday 09:01
    tick(settings)
    assert [s for _, s, _ in sent_texts(settings)] == ["sent"]
