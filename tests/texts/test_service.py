"""Texts through the service and the send flow, against a local Twilio stand-in: logged, sent,
delivered, refused for every rule (nothing changed), and the touch they count as."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from leadline import clock
from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.errors import Invalid, NotFound
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.sequences.models import Sequence, SequenceEnrollment
from leadline.texts import flows, optouts, quota, service
from leadline.texts import templates as text_templates
from leadline.texts.backends import BackendRefused
from leadline.texts.models import TextMessage
from leadline.texts.schemas import TemplateWrite, TextLog
from tests.conftest import changed
from tests.factories import make_prospect, snapshot
from tests.texts.conftest import OUR_NUMBER

PHONE = "(512) 555-0142"
E164 = "+15125550142"


def add_template(settings, name="hello", body="Hi {{ firstName }}, it's {{ senderName }}. Free for a call this week?"):
    with unit_of_work(settings) as session:
        text_templates.save(session, TemplateWrite(name=name, body=body), actor="test")


def timeline(settings, prospect_id):
    with unit_of_work(settings, readonly=True) as session:
        return [(e.type, e.status) for e in activity.for_prospect(session, prospect_id) if e.type != "created"]


def enrol(settings, prospect_id) -> str:
    with unit_of_work(settings) as session:
        sequence = Sequence(id=new_id("seq"), name="t", steps=[{"template": "pain_point", "delaySeconds": 0}],
                            created_by="test")  # fmt: skip
        session.add(sequence)
        session.flush()
        enrollment = SequenceEnrollment(id=new_id("enr"), sequence_id=sequence.id, prospect_id=prospect_id, step=1,
                                        next_send_at=utc_now() + timedelta(days=3), status="active")  # fmt: skip
        session.add(enrollment)
        return enrollment.id


def enrollment_status(settings, enrollment_id):
    with unit_of_work(settings, readonly=True) as session:
        e = session.get(SequenceEnrollment, enrollment_id)
        return e.status, e.stop_reason


class TestLog:
    def test_an_outbound_text_is_on_the_timeline_and_a_touch(self, settings, noon):
        p = make_prospect(settings, phone=PHONE, timezone="America/Chicago")
        at = datetime(2025, 11, 18, 9, 30)  # wall-clock, configured zone (Chicago)
        with unit_of_work(settings) as session:
            message = service.log(session, settings, p.id, TextLog(direction="out", body="See you at 3", at=at),
                                  actor="cli:pat")  # fmt: skip
            assert (message.direction, message.status, message.to_number) == ("out", "logged", E164)
        assert timeline(settings, p.id) == [("sms", "logged")]
        with unit_of_work(settings, readonly=True) as session:
            assert prospects.get(session, p.id).last_contact_at == datetime(2025, 11, 18, 15, 30, tzinfo=UTC)

    def test_an_inbound_text_stops_the_sequence(self, settings, noon):
        p = make_prospect(settings, phone=PHONE)
        enrollment = enrol(settings, p.id)
        with unit_of_work(settings) as session:
            service.log(session, settings, p.id, TextLog(direction="in", body="Sure, call me"), actor="cli:pat")
        assert enrollment_status(settings, enrollment) == ("stopped", "texted back")
        assert timeline(settings, p.id) == [("sms", "logged"), ("sequence", "stopped")]

    @pytest.mark.parametrize(
        "values, field",
        [
            ({"direction": "out", "body": "x" * 500}, "body"),  # 4 segments, over the limit of 3
            ({"direction": "out", "body": "tomorrow", "at": "2025-11-20 10:00"}, "at"),  # in the future
        ],
    )
    def test_bad_input_changes_nothing(self, settings, noon, values, field):
        p = make_prospect(settings, phone=PHONE)
        before = snapshot(settings)
        with pytest.raises(Invalid) as error, unit_of_work(settings) as session:
            service.log(session, settings, p.id, TextLog.model_validate(values), actor="test")
        assert error.value.field == field
        assert snapshot(settings) == before

    def test_an_unknown_prospect_changes_nothing(self, settings, noon):
        before = snapshot(settings)
        with pytest.raises(NotFound), unit_of_work(settings) as session:
            service.log(session, settings, "nobody", TextLog(direction="out", body="hi"), actor="test")
        assert snapshot(settings) == before


class TestSend:
    def test_sent_through_twilio_then_delivered(self, settings, noon, twilio, client):
        p = make_prospect(settings, phone=PHONE, contact_name="Dana Royal", timezone="America/Chicago")
        add_template(settings)
        sent = flows.send(settings, p.id, "hello", actor="cli:pat")
        assert sent.text is not None and sent.text.status == "sent" and sent.text.twilio_sid.startswith("SM")
        [request] = twilio.sent
        assert request["To"] == E164 and request["From"] == OUR_NUMBER
        assert request["Body"] == "Hi Dana, it's Leadline. Free for a call this week?"
        assert request["StatusCallback"] == "https://crm.example.com/webhooks/twilio/status"
        assert twilio.deliver(client) == [200, 200]
        with unit_of_work(settings, readonly=True) as session:
            message = service.get(session, sent.text.id)
            assert message.status == "delivered" and message.delivered_at == clock.utc_now()
            assert prospects.get(session, p.id).last_contact_at == clock.utc_now()
        assert timeline(settings, p.id) == [("sms", "delivered")]
        assert twilio.deliver(client) == []

    def test_a_failed_delivery_is_recorded_with_twilios_code(self, settings, noon, twilio, client):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        twilio.final_status(E164, "undelivered", "30006")
        sent = flows.send(settings, p.id, "hello", actor="test")
        twilio.deliver(client)
        with unit_of_work(settings, readonly=True) as session:
            message = service.get(session, sent.text.id)
            assert (message.status, message.error_code) == ("undelivered", "30006")

    def test_the_log_backend_writes_the_text(self, settings, noon):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        sent = flows.send(settings, p.id, "hello", actor="test")
        assert sent.text.twilio_sid.startswith("LG")
        written = json.loads((settings.data_dir / "texts-outbox" / f"{sent.text.twilio_sid}.json").read_text())
        assert written["to"] == E164 and written["body"].startswith("Hi Pat")

    def test_a_dry_run_changes_nothing_and_counts_segments(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings, body="Hola {{ firstName }} — ¿hablamos mañana? " + "ó" * 50)
        before = snapshot(settings)
        sent = flows.send(settings, p.id, "hello", actor="test", dry_run=True)
        assert sent.text is None and (sent.preview.encoding, sent.preview.segments) == ("UCS-2", 2)
        assert snapshot(settings) == before and twilio.sent == []

    def test_never_twice(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        flows.send(settings, p.id, "hello", actor="test")
        before = snapshot(settings)
        with pytest.raises(service.TextRefused) as error:
            flows.send(settings, p.id, "hello", actor="test")
        assert error.value.reason == "already_sent"
        assert snapshot(settings) == before and len(twilio.sent) == 1

    @pytest.mark.parametrize(
        "phone, reason",
        [(None, "no phone number"), ("+1 (000) 555-0142", "no phone number that can take texts"),
         ("12345678", "no phone number that can take texts")],
    )  # fmt: skip
    def test_no_phone_number_is_refused(self, settings, noon, twilio, phone, reason):
        p = make_prospect(settings, phone=phone)
        add_template(settings)
        before = snapshot(settings)
        with pytest.raises(Invalid, match=reason) as error:
            flows.send(settings, p.id, "hello", actor="test")
        assert error.value.field == "phone"
        assert snapshot(settings) == before and twilio.sent == []

    def test_quiet_hours_in_the_prospects_own_zone(self, settings, twilio):
        clock.set_frozen(datetime(2025, 11, 18, 14, 30, tzinfo=UTC))  # 08:30 in Chicago, 06:30 in Los Angeles
        chicago = make_prospect(settings, phone=PHONE, timezone="America/Chicago")
        la = make_prospect(settings, phone="(213) 555-0177", timezone="America/Los_Angeles")
        add_template(settings)
        before = snapshot(settings)
        for p in (chicago, la):
            with pytest.raises(service.TextRefused, match="texting hours") as error:
                flows.send(settings, p.id, "hello", actor="test")
            assert error.value.reason == "quiet_hours"
        assert snapshot(settings) == before
        clock.set_frozen(datetime(2025, 11, 18, 15, 30, tzinfo=UTC))  # 09:30 in Chicago: open; 07:30 in LA: not
        flows.send(settings, chicago.id, "hello", actor="test")
        with pytest.raises(service.TextRefused, match="next opening is Tue 2025-11-18 09:00 PST"):
            flows.send(settings, la.id, "hello", actor="test")
        clock.set_frozen(datetime(2025, 11, 22, 18, 0, tzinfo=UTC))  # a Saturday
        with pytest.raises(service.TextRefused, match="next opening is Mon 2025-11-24 09:00"):
            flows.send(settings, la.id, "hello", actor="test")
        clock.set_frozen(None)

    def test_the_daily_cap_holds_across_sends(self, settings, noon, twilio, monkeypatch):
        capped = changed(settings, daily_text_limit=1)
        first, second = make_prospect(settings, phone=PHONE), make_prospect(settings, phone="(512) 555-0143")
        add_template(settings)
        flows.send(capped, first.id, "hello", actor="test")
        before = snapshot(settings)
        with pytest.raises(service.TextRefused, match="used up") as error:
            flows.send(capped, second.id, "hello", actor="test")
        assert error.value.reason == "cap" and snapshot(settings) == before

    def test_a_refusal_by_twilio_gives_the_send_back(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
        with pytest.raises(BackendRefused, match="21610"):
            flows.send(settings, p.id, "hello", actor="test")
        with unit_of_work(settings, readonly=True) as session:
            [message] = session.query(TextMessage).all()
            assert (message.status, message.error_code) == ("failed", "21610")
            assert quota.sent_today(session, settings) == 0
            assert optouts.find(session, E164).source == "twilio:21610"  # it texted STOP to Twilio itself
        assert timeline(settings, p.id) == [("sms", "failed"), ("sms", "opted_out")]
        add_template(settings, name="again")
        before = snapshot(settings)
        with pytest.raises(service.TextRefused, match="opted out"):
            flows.send(settings, p.id, "again", actor="test")
        assert snapshot(settings) == before and twilio.sent == []

    def test_undelivered_with_twilios_unsubscribed_error_opts_the_number_out(self, settings, noon, twilio, client):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        twilio.final_status(E164, "undelivered", "21610")
        flows.send(settings, p.id, "hello", actor="test")
        assert twilio.deliver(client) == [200, 200]
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164).reason == "twilio"
        assert timeline(settings, p.id) == [("sms", "undelivered"), ("sms", "opted_out")]

    def test_a_text_over_the_segment_limit_is_refused_and_changes_nothing(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE, contact_name="Dana Royal")
        add_template(settings, name="long", body="Hi {{ firstName }}, " + "é" * 300)  # GSM-7: 309, 3 segments
        add_template(settings, name="longer", body="Hi {{ firstName }}, " + "ó" * 200)  # UCS-2: 209, 4 segments
        assert flows.send(settings, p.id, "long", actor="test", dry_run=True).preview.segments == 3
        before = snapshot(settings)
        with pytest.raises(Invalid, match=r"is 4 SMS segments \(209 UCS-2 characters\); the limit is 3") as error:
            flows.send(settings, p.id, "longer", actor="test")
        assert error.value.field == "template"
        with pytest.raises(Invalid, match="the limit is 2"):
            flows.send(changed(settings, text_max_segments=2), p.id, "long", actor="test")
        assert snapshot(settings) == before and twilio.sent == []

    def test_the_phone_region_reads_a_number_without_a_country_code(self, settings, noon, twilio, client):
        london = make_prospect(settings, phone="020 7946 0958", timezone="America/Chicago")
        add_template(settings)
        before = snapshot(settings)
        with pytest.raises(Invalid, match="not a valid phone number \\(region US\\)"):
            flows.send(settings, london.id, "hello", actor="test")
        assert snapshot(settings) == before
        british = changed(settings, phone_region="GB")
        flows.send(british, london.id, "hello", actor="test")
        assert twilio.sent[0]["To"] == "+442079460958"
        with unit_of_work(british) as session:
            found = service.receive(session, british, {"From": "+442079460958", "Body": "Cheers", "MessageSid": "SM1"})
            assert (found.outcome, found.prospect_id) == ("received", london.id)

    @pytest.mark.parametrize("missing", [{"twilio_from": None}, {"twilio_auth_token": None}])
    def test_twilio_without_its_settings_is_refused_before_anything_is_claimed(self, settings, noon, twilio,
                                                                                missing):  # fmt: skip
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        before = snapshot(settings)
        with pytest.raises(BackendRefused, match="set LEADLINE_TWILIO_"):
            flows.send(changed(settings, **missing), p.id, "hello", actor="test")
        assert snapshot(settings) == before and twilio.sent == []

    def test_a_missing_merge_field_is_named_and_changes_nothing(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE, top_competitor=None)
        add_template(settings, body="{{ topCompetitor }} is ahead of you on Google.")
        before = snapshot(settings)
        with pytest.raises(Invalid, match="topCompetitor"):
            flows.send(settings, p.id, "hello", actor="test")
        assert snapshot(settings) == before

    def test_a_template_cannot_reach_outside_the_sandbox(self, settings, noon, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings, name="evil", body="{{ name.__class__.__mro__ }}")
        before = snapshot(settings)
        with pytest.raises(Invalid, match="sandbox forbids"):
            flows.send(settings, p.id, "evil", actor="test")
        with pytest.raises(Invalid, match="unknown merge field"), unit_of_work(settings) as session:
            text_templates.save(session, TemplateWrite(name="worse", body="{{ password }}"), actor="t")
        assert snapshot(settings) == before and twilio.sent == []


class TestStoredSettings:
    def test_an_admin_changes_the_texting_hours_and_cap_while_leadline_runs(self, settings, twilio):
        from leadline.storedsettings import service as stored

        clock.set_frozen(datetime(2025, 11, 22, 18, 0, tzinfo=UTC))  # a Saturday noon in Chicago
        p = make_prospect(settings, phone=PHONE, timezone="America/Chicago")
        add_template(settings)
        with pytest.raises(service.TextRefused, match="texting hours"):
            flows.send(settings, p.id, "hello", actor="test")
        with unit_of_work(settings) as session:
            stored.set_settings(session, {"textWindowDays": "mon,tue,wed,thu,fri,sat", "dailyTextLimit": "1"},
                                actor="user:admin@example.com")  # fmt: skip
        assert flows.send(settings, p.id, "hello", actor="test").text is not None
        other = make_prospect(settings, phone="(512) 555-0143", timezone="America/Chicago")
        with pytest.raises(service.TextRefused, match="1 texts are used up"):
            flows.send(settings, other.id, "hello", actor="test")
        clock.set_frozen(None)
