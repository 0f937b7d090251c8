"""/webhooks/twilio/status and /webhooks/twilio/sms: signed as Twilio signs (over the public URL from
LEADLINE_BASE_URL), posted by the local Twilio stand-in; forged, unsigned or oversized posts are refused
and change nothing; inbound texts are matched, stop sequences, notify; STOP/START/HELP are honoured."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from leadline.db import unit_of_work
from leadline.notify.models import Notification
from leadline.texts import flows, optouts, service
from leadline.texts.models import TextMessage, TwilioCallback
from tests.conftest import changed, make_user
from tests.factories import count, make_prospect, snapshot
from tests.fakes.twilio import twilio_signature
from tests.texts.conftest import OUR_NUMBER, PUBLIC
from tests.texts.test_service import E164, PHONE, add_template, enrol, enrollment_status, timeline

SMS_URL = f"{PUBLIC}/webhooks/twilio/sms"


def texts(settings, **filters):
    with unit_of_work(settings, readonly=True) as session:
        return [(m.direction, m.status, m.prospect_id, m.body) for m in service.search(session, **filters)]


class TestSignatures:
    def test_a_forged_or_unsigned_post_is_refused_and_changes_nothing(self, settings, noon, twilio, anon_client):
        p = make_prospect(settings, phone=PHONE)
        params = twilio.inbound_params(E164, OUR_NUMBER, "STOP")
        body = urlencode(params)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        before = snapshot(settings)
        forged = twilio.sign(SMS_URL, params[:-1])  # signed without one parameter
        wrong_url = twilio.sign("https://evil.example.com/webhooks/twilio/sms", params)
        for headers in ({}, {"X-Twilio-Signature": forged}, {"X-Twilio-Signature": wrong_url},
                        {"X-Twilio-Signature": "not base64 at all"}):  # fmt: skip
            response = anon_client.post("/webhooks/twilio/sms", content=body, headers=form | headers)
            assert response.status_code == 403, response.text
        assert anon_client.post("/webhooks/twilio/status", content=body, headers=form).status_code == 403
        assert snapshot(settings) == before
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164) is None
        assert timeline(settings, p.id) == []

    def test_the_query_string_is_signed_too(self, settings, noon, twilio, anon_client):
        make_prospect(settings, phone=PHONE)
        params = twilio.inbound_params(E164, OUR_NUMBER, "Hello")
        headers = {"X-Twilio-Signature": twilio.sign(SMS_URL, params),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        before = snapshot(settings)
        response = anon_client.post("/webhooks/twilio/sms?x=1", content=urlencode(params), headers=headers)
        assert response.status_code == 403 and snapshot(settings) == before
        signed = twilio.sign(SMS_URL + "?x=1", params)
        response = anon_client.post("/webhooks/twilio/sms?x=1", content=urlencode(params),
                                    headers=headers | {"X-Twilio-Signature": signed})  # fmt: skip
        assert response.status_code == 200

    def test_a_repeated_name_is_signed_as_twilio_signs_it(self, settings, noon, twilio, anon_client):
        """Values of a repeated name sorted and each once (Twilio's validators), not in the order posted."""
        p = make_prospect(settings, phone=PHONE)
        params = [*twilio.inbound_params(E164, OUR_NUMBER, "Hello"), ("MediaUrl", "b"), ("MediaUrl", "a")]
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        in_order = "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))  # b before a
        assert in_order != "".join(name + value for name, value in sorted(params))
        digest = hmac.new(twilio.auth_token.encode(), (SMS_URL + in_order).encode(), hashlib.sha1).digest()
        as_posted = base64.b64encode(digest).decode()
        before = snapshot(settings)
        refused = anon_client.post("/webhooks/twilio/sms", content=urlencode(params),
                                   headers=form | {"X-Twilio-Signature": as_posted})  # fmt: skip
        assert refused.status_code == 403 and snapshot(settings) == before
        taken = anon_client.post("/webhooks/twilio/sms", content=urlencode(params),
                                 headers=form | {"X-Twilio-Signature": twilio.sign(SMS_URL, params)})  # fmt: skip
        assert taken.status_code == 200
        assert texts(settings) == [("in", "received", p.id, "Hello")]

    def test_no_auth_token_refuses_every_post(self, settings, noon, anon_client):
        before = snapshot(settings)
        response = anon_client.post("/webhooks/twilio/sms", data={"From": E164, "Body": "STOP"},
                                    headers={"X-Twilio-Signature": "x"})  # fmt: skip
        assert response.status_code == 403 and "LEADLINE_TWILIO_AUTH_TOKEN" in response.json()["message"]
        assert snapshot(settings) == before

    def test_a_body_over_the_limit_is_refused_before_it_is_read(self, settings, noon, twilio):
        from fastapi.testclient import TestClient

        from leadline.app import create_app

        small = changed(settings, twilio_max_body_bytes=1000)
        params = twilio.inbound_params(E164, OUR_NUMBER, "x" * 2000)
        before = snapshot(settings)
        with TestClient(create_app(small), raise_server_exceptions=False) as test_client:
            response = test_client.post("/webhooks/twilio/sms", content=urlencode(params),
                                        headers={"X-Twilio-Signature": twilio.sign(SMS_URL, params),
                                                 "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert response.status_code == 413 and "LEADLINE_TWILIO_MAX_BODY_BYTES" in response.text
        assert snapshot(settings) == before


class TestInbound:
    def test_a_reply_is_matched_on_the_timeline_stops_the_sequence_and_notifies(self, settings, noon, twilio,
                                                                                 anon_client):  # fmt: skip
        make_user(settings, "ann@example.com", "member")  # an owner is a user
        p = make_prospect(settings, phone=PHONE, owner="ann@example.com")
        enrollment = enrol(settings, p.id)
        response = twilio.inbound(SMS_URL, E164, OUR_NUMBER, "Yes, call me after 3", post=anon_client.post)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
        assert "<Message>" not in response.text
        assert texts(settings) == [("in", "received", p.id, "Yes, call me after 3")]
        assert enrollment_status(settings, enrollment) == ("stopped", "texted back")
        assert timeline(settings, p.id) == [("sms", "received"), ("sequence", "stopped")]
        with unit_of_work(settings, readonly=True) as session:
            [note] = session.query(Notification).all()
            assert note.kind == "text_received" and "ann@example.com" in note.title
            assert note.recipient == "ann@example.com"  # delivered to the owner besides the team's channels
            assert note.payload["owner"] == "ann@example.com"

    def test_a_number_several_prospects_share_goes_to_the_one_we_texted(self, settings, noon, twilio, anon_client):
        first = make_prospect(settings, phone=PHONE)
        texted = make_prospect(settings, phone="+1 512 555 0142")
        make_prospect(settings, phone="512.555.0142")
        add_template(settings)
        flows.send(settings, texted.id, "hello", actor="test")
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "Who's asking?", post=anon_client.post)
        assert texts(settings, direction="in") == [("in", "received", texted.id, "Who's asking?")]
        assert timeline(settings, first.id) == []

    def test_the_today_page_shows_a_text_waiting_until_it_is_answered(self, settings, noon, twilio, anon_client,
                                                                       signed_in):  # fmt: skip
        page_client = signed_in("member", app_settings=changed(settings, cookie_secure=False))
        p = make_prospect(settings, phone=PHONE, name="Royal Plumbing Co")
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "Can you call me Tuesday after 3?", post=anon_client.post)
        today = page_client.get("/today")
        assert "Texts waiting for an answer (1)" in today.text and "Can you call me Tuesday after 3?" in today.text
        add_template(settings)
        flows.send(settings, p.id, "hello", actor="test")
        assert "Texts waiting for an answer (0)" in page_client.get("/today").text
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "STOP", post=anon_client.post)
        assert "Texts waiting for an answer (0)" in page_client.get("/today").text

    def test_a_signed_text_with_a_nul_byte_is_kept_without_it(self, settings, noon, twilio, anon_client):
        p = make_prospect(settings, phone=PHONE)
        assert twilio.inbound(SMS_URL, E164, OUR_NUMBER, "odd\x00text", post=anon_client.post).status_code == 200
        assert texts(settings) == [("in", "received", p.id, "oddtext")]

    def test_control_characters_a_stranger_sent_are_not_kept_nor_printed(self, settings, noon, twilio, anon_client,
                                                                          cli):  # fmt: skip
        """An escape sequence in a text (clear the screen, a hidden link) is kept as the free-text rule
        keeps a note: line breaks and tabs stay, CR LF is LF, every other control character goes."""
        p = make_prospect(settings, phone=PHONE)
        body = "Hi \x1b[2J\x1b]8;;http://evil.example\x1b\\click\x07\r\nsecond\tline"
        assert twilio.inbound(SMS_URL, E164, OUR_NUMBER, body, post=anon_client.post).status_code == 200
        assert texts(settings) == [("in", "received", p.id, "Hi [2J]8;;http://evil.example\\click\nsecond\tline")]
        listed = cli("texts", "list")
        assert listed.exit_code == 0 and "evil.example" in listed.stdout
        assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout

    @pytest.mark.parametrize("sender", ["not a number \u202e", "", "+1 512 555 0142\x1b[2J", "1" * 60])
    def test_a_sender_that_is_not_a_phone_number_is_kept_as_posted_not_as_a_text(self, settings, noon, twilio,
                                                                                  anon_client, sender):  # fmt: skip
        make_prospect(settings, phone=PHONE)
        before = snapshot(settings)
        response = twilio.inbound(SMS_URL, sender, OUR_NUMBER, "Hi", post=anon_client.post)
        assert response.status_code == 200 and "<Message>" not in response.text
        after = snapshot(settings)
        kept = after.pop("twilio_callbacks")
        assert after == {name: rows for name, rows in before.items() if name != "twilio_callbacks"}
        assert len(kept) == len(before["twilio_callbacks"]) + 1
        with unit_of_work(settings, readonly=True) as session:
            [row] = session.query(TwilioCallback).all()
            assert row.params["From"] == sender and row.outcome.startswith("unreadable From: ")
            assert "phone number" in row.outcome and "\x1b" not in row.outcome

    def test_a_repeat_of_the_same_post_changes_nothing(self, settings, noon, twilio, anon_client):
        make_prospect(settings, phone=PHONE)
        params = twilio.inbound_params(E164, OUR_NUMBER, "Hi")
        headers = {"X-Twilio-Signature": twilio.sign(SMS_URL, params),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        assert anon_client.post("/webhooks/twilio/sms", content=urlencode(params), headers=headers).status_code == 200
        before = snapshot(settings)
        assert anon_client.post("/webhooks/twilio/sms", content=urlencode(params), headers=headers).status_code == 200
        assert snapshot(settings) == before

    def test_stop_opts_out_at_once_and_start_lifts_it(self, settings, noon, twilio, anon_client):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        enrollment = enrol(settings, p.id)
        assert twilio.inbound(SMS_URL, E164, OUR_NUMBER, "STOP", post=anon_client.post).status_code == 200
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164).reason == "twilio"  # Twilio's OptOutType said so
        assert enrollment_status(settings, enrollment) == ("stopped", "texted STOP")
        before = snapshot(settings)
        with pytest.raises(service.TextRefused, match="opted out") as error:
            flows.send(settings, p.id, "hello", actor="test")
        assert error.value.reason == "opted_out" and snapshot(settings) == before and twilio.sent == []
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "start", post=anon_client.post)
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164) is None
        flows.send(settings, p.id, "hello", actor="test")
        assert len(twilio.sent) == 1
        assert [s for _, s in timeline(settings, p.id)] == ["received", "opted_out", "stopped", "received",
                                                             "opted_in", "sent"]  # fmt: skip

    @pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit"])
    def test_every_stop_word_without_twilios_help(self, settings, noon, twilio, anon_client, word):
        """A number without Advanced Opt-Out sends no OptOutType: the word itself counts."""
        make_prospect(settings, phone=PHONE)
        params = [(k, v) for k, v in twilio.inbound_params(E164, OUR_NUMBER, word) if k != "OptOutType"]
        headers = {"X-Twilio-Signature": twilio.sign(SMS_URL, params),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        assert anon_client.post("/webhooks/twilio/sms", content=urlencode(params), headers=headers).status_code == 200
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164).reason == "stop"

    def test_twilios_opt_out_type_decides_whatever_the_word(self, settings, noon, twilio, anon_client):
        """Advanced Opt-Out's own keywords (here OPTOUT and YES) arrive with OptOutType: it is honoured."""
        make_prospect(settings, phone=PHONE)
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "optout", post=anon_client.post)
        with unit_of_work(settings, readonly=True) as session:
            assert (optouts.find(session, E164).reason, optouts.find(session, E164).keyword) == ("twilio", "OPTOUT")
        twilio.inbound(SMS_URL, E164, OUR_NUMBER, "Yes", post=anon_client.post)
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164) is None

    def test_help_gets_the_configured_answer(self, settings, noon, twilio, anon_client):
        make_prospect(settings, phone=PHONE)
        response = twilio.inbound(SMS_URL, E164, OUR_NUMBER, "HELP", post=anon_client.post)
        assert response.status_code == 200
        assert "<Message>Reply STOP to stop texts from us, START to get them again.</Message>" in response.text

    def test_an_unknown_number_is_kept_unmatched_for_admins(self, settings, noon, twilio, anon_client, signed_in):
        make_prospect(settings, phone=PHONE)
        response = twilio.inbound(SMS_URL, "+13125550199", OUR_NUMBER, "Who is this?", post=anon_client.post)
        assert response.status_code == 200
        assert texts(settings) == [("in", "unmatched", None, "Who is this?")]
        assert count(settings, "outreach_activities") == 1  # the prospect's "created" only
        plain_http = changed(settings, cookie_secure=False)
        admin = signed_in("admin", app_settings=plain_http)
        listed = admin.get("/api/texts/unmatched").json()
        assert [(t["fromNumber"], t["body"]) for t in listed] == [("+13125550199", "Who is this?")]
        assert signed_in("member", app_settings=plain_http).get("/api/texts/unmatched").status_code == 403


class TestStatus:
    def test_a_status_for_an_unknown_message_changes_nothing_but_is_kept(self, settings, noon, twilio, anon_client):
        params = [("MessageSid", "SM" + "f" * 32), ("MessageStatus", "delivered"), ("AccountSid", twilio.account_sid)]
        url = f"{PUBLIC}/webhooks/twilio/status"
        response = anon_client.post("/webhooks/twilio/status", content=urlencode(params),
                                    headers={"X-Twilio-Signature": twilio.sign(url, params),
                                             "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert response.status_code == 200 and "unknown message" in response.json()["outcome"]
        assert count(settings, "text_messages") == 0 and count(settings, "twilio_callbacks") == 1

    def test_a_forged_delivered_changes_nothing(self, settings, noon, twilio, anon_client):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        sent = flows.send(settings, p.id, "hello", actor="test")
        url = f"{PUBLIC}/webhooks/twilio/status"
        params = [("MessageSid", sent.text.twilio_sid), ("MessageStatus", "delivered"),
                  ("AccountSid", twilio.account_sid)]  # fmt: skip
        before = snapshot(settings)
        for signed in (twilio_signature("another-token", url, params), twilio.sign(url + "?x=1", params)):
            response = anon_client.post("/webhooks/twilio/status", content=urlencode(params),
                                        headers={"X-Twilio-Signature": signed,
                                                 "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            assert response.status_code == 403, response.text
        assert snapshot(settings) == before
        with unit_of_work(settings, readonly=True) as session:
            assert service.get(session, sent.text.id).status == "sent"

    def test_a_late_sent_never_undoes_delivered(self, settings, noon, twilio, anon_client):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        sent = flows.send(settings, p.id, "hello", actor="test")
        twilio.callbacks.reverse()  # delivered arrives before sent
        twilio.deliver(anon_client)
        with unit_of_work(settings, readonly=True) as session:
            assert service.get(session, sent.text.id).status == "delivered"
            assert session.query(TwilioCallback).count() == 2
            assert session.query(TextMessage).count() == 1
