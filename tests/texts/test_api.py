"""The texts API and pages: log, preview, send, templates, opt-outs, the list the dashboard's texts
figures open (the figure counts exactly its list); bad input is a 4xx naming the field and changes nothing."""

from __future__ import annotations

import html
import re

import pytest

from leadline.db import unit_of_work
from leadline.texts import optouts
from tests.factories import make_prospect, snapshot
from tests.texts.test_service import E164, PHONE, add_template, timeline
from tests.web.helpers import error_line


def opt_out(settings, number):
    with unit_of_work(settings) as session:
        optouts.add(session, number, reason="manual", source="test")


class TestApi:
    def test_log_then_list(self, settings, noon, client):
        p = make_prospect(settings, phone=PHONE)
        response = client.post(f"/api/prospects/{p.id}/texts", json={"direction": "in", "body": "Call me at 4"})
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "logged" and response.json()["fromNumber"] == E164
        listed = client.get(f"/api/prospects/{p.id}/texts").json()
        assert [(t["direction"], t["body"]) for t in listed] == [("in", "Call me at 4")]
        assert timeline(settings, p.id) == [("sms", "logged")]

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"direction": "sideways", "body": "hi"}, "direction"),
            ({"direction": "out", "body": "   "}, "body"),
            ({"direction": "out", "body": "x" * 1601}, "body"),
            ({"direction": "out", "body": "y" * 600}, "body"),  # 4 segments: over LEADLINE_TEXT_MAX_SEGMENTS
            ({"direction": "out", "body": "hi", "at": "yesterday-ish"}, "at"),
            ({"direction": "out", "body": "hi", "extra": 1}, "extra"),
        ],
    )
    def test_bad_input_names_the_field_and_changes_nothing(self, settings, noon, client, body, field):
        p = make_prospect(settings, phone=PHONE)
        before = snapshot(settings)
        response = client.post(f"/api/prospects/{p.id}/texts", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field, response.text
        assert snapshot(settings) == before

    def test_an_unknown_prospect_is_404(self, settings, noon, client):
        before = snapshot(settings)
        assert client.post("/api/prospects/nobody/texts", json={"direction": "out", "body": "hi"}).status_code == 404
        assert snapshot(settings) == before

    def test_templates_preview_and_send(self, settings, noon, client, twilio):
        p = make_prospect(settings, phone=PHONE, contact_name="Dana Royal")
        created = client.post("/api/texts/templates", json={"name": "hello", "body": "Hi {{ firstName }} 😀"})
        assert created.status_code == 201, created.text
        assert client.post("/api/texts/templates", json={"name": "hello", "body": "x"}).status_code == 409
        assert client.post("/api/texts/templates", json={"name": "Bad Name", "body": "x"}).status_code == 422
        preview = client.get(f"/api/prospects/{p.id}/texts/preview", params={"template": "hello"}).json()
        assert (preview["body"], preview["encoding"], preview["segments"], preview["blocked"]) == (
            "Hi Dana 😀", "UCS-2", 1, [])  # fmt: skip
        sent = client.post(f"/api/prospects/{p.id}/texts/send", json={"template": "hello"})
        assert sent.status_code == 200, sent.text
        assert sent.json()["text"]["status"] == "sent" and twilio.sent[0]["Body"] == "Hi Dana 😀"
        again = client.post(f"/api/prospects/{p.id}/texts/send", json={"template": "hello"})
        assert again.status_code == 409 and "already got" in again.text

    def test_the_list_pages_with_a_cursor(self, settings, noon, client):
        p = make_prospect(settings, phone=PHONE)
        for n in range(5):
            client.post(f"/api/prospects/{p.id}/texts", json={"direction": "out", "body": f"text {n}"})
        first = client.get("/api/texts", params={"limit": 3}).json()
        second = client.get("/api/texts", params={"limit": 3, "cursor": first["nextCursor"]}).json()
        assert [t["body"] for t in first["items"] + second["items"]] == [f"text {n}" for n in range(4, -1, -1)]
        assert second["nextCursor"] is None
        assert client.get("/api/texts", params={"cursor": "garbage"}).status_code == 422

    def test_opt_outs(self, settings, noon, client):
        before = snapshot(settings)
        assert client.post("/api/texts/opt-outs", params={"number": "call me"}).status_code == 422
        assert snapshot(settings) == before
        assert client.post("/api/texts/opt-outs", params={"number": PHONE}).json()["number"] == E164
        with unit_of_work(settings, readonly=True) as session:
            assert optouts.find(session, E164).reason == "manual"
        assert client.delete(f"/api/texts/opt-outs/{E164}").status_code == 204
        assert client.delete(f"/api/texts/opt-outs/{E164}").status_code == 404

    def test_the_dashboards_texts_figures_count_exactly_their_lists(self, settings, noon, client):
        p, q = make_prospect(settings, phone=PHONE), make_prospect(settings, phone="(512) 555-0143")
        for prospect, direction, body in ((p, "out", "one"), (p, "in", "two"), (q, "out", "three"), (q, "in", "4")):
            client.post(f"/api/prospects/{prospect.id}/texts", json={"direction": direction, "body": body})
        data = client.get("/api/dashboard").json()
        assert data["texts"] == {"sent": 2, "received": 2}
        lists = {item["key"]: item for item in data["lists"]}
        for key in ("texts.sent", "texts.received"):
            listed = client.get(lists[key]["api"]).json()["items"]
            assert len(listed) == lists[key]["count"] == 2, lists[key]
        report = client.get("/api/reports/week").json()
        lines = {line["key"]: line["value"] for line in report["lines"]}
        assert (lines["texts_sent"], lines["texts_received"]) == (2, 2)
        for item in report["lists"]:
            if item["key"] in ("this.texts_sent", "this.texts_received"):
                assert len(client.get(item["api"]).json()["items"]) == item["count"] == 2


class TestPages:
    def test_the_prospect_page_logs_and_sends_a_text(self, settings, noon, page_client, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        shown = page_client.get(f"/prospects/{p.id}")
        assert 'id="text-log-form"' in shown.text and "Texts go to +15125550142" in shown.text
        logged = page_client.post(f"/prospects/{p.id}/texts", data={"direction": "out", "body": "On my way",
                                                                     "csrf_token": page_client.csrf},
                                  follow_redirects=False)  # fmt: skip
        assert logged.status_code == 303
        blank = page_client.post(f"/prospects/{p.id}/texts", data={"direction": "out", "body": " ",
                                                                    "csrf_token": page_client.csrf})  # fmt: skip
        assert blank.status_code == 422 and error_line(blank.text) == "Message: cannot be empty"  # was "Input: ..."
        sent = page_client.post(f"/prospects/{p.id}/texts/send", data={"template": "hello",
                                                                        "csrf_token": page_client.csrf},
                                follow_redirects=False)  # fmt: skip
        assert sent.status_code == 303 and len(twilio.sent) == 1
        assert timeline(settings, p.id) == [("sms", "logged"), ("sms", "sent")]

    def test_the_preview_shows_the_text_its_segments_and_what_would_stop_it(self, settings, noon, page_client,
                                                                              twilio):  # fmt: skip
        p = make_prospect(settings, phone=PHONE, contact_name="Dana Royal")
        add_template(settings)
        add_template(settings, name="long", body="Hola {{ firstName }}, ¿hablamos mañana? " + "ó" * 50)
        before = snapshot(settings)
        short = page_client.get(f"/prospects/{p.id}/texts/preview", params={"template": "hello"},
                                headers={"HX-Request": "true"})  # fmt: skip
        assert short.status_code == 200 and "<html" not in short.text
        assert "To: +15125550142" in short.text and "1 segment</strong> (GSM-7; the limit is 3)" in short.text
        assert (
            "Hi Dana, it&#39;s Leadline. Free for a call this week?" in short.text
            and "Would not send" not in short.text
        )
        long = page_client.get(f"/prospects/{p.id}/texts/preview", params={"template": "long"}).text
        assert "2 segments</strong> (UCS-2; the limit is 3)" in long
        missing = page_client.get(f"/prospects/{p.id}/texts/preview", params={"template": "nope"}).text
        assert 'role="alert"' in missing and "no text template &#39;nope&#39;" in missing
        assert snapshot(settings) == before
        opt_out(settings, E164)
        before = snapshot(settings)
        blocked = page_client.get(f"/prospects/{p.id}/texts/preview", params={"template": "hello"}).text
        assert "Would not send now: +15125550142 opted out of texts" in blocked
        assert snapshot(settings) == before and twilio.sent == []
        shown = page_client.get(f"/prospects/{p.id}").text
        assert f'hx-get="/prospects/{p.id}/texts/preview"' in shown and 'id="text-preview"' in shown

    def test_the_preview_button_works_without_javascript(self, settings, noon, page_client, twilio):
        p = make_prospect(settings, phone=PHONE, contact_name="Dana Royal")
        add_template(settings)
        before = snapshot(settings)
        shown = page_client.post(f"/prospects/{p.id}/texts/preview", data={"template": "hello",
                                                                           "csrf_token": page_client.csrf})  # fmt: skip
        assert shown.status_code == 200 and "<html" in shown.text
        assert 'data-text-preview="hello"' in shown.text and "1 segment</strong>" in shown.text
        assert '<option value="hello" selected' in shown.text
        unchosen = page_client.post(f"/prospects/{p.id}/texts/preview", data={"csrf_token": page_client.csrf})
        assert unchosen.status_code == 422 and "choose a text template" in unchosen.text
        assert snapshot(settings) == before and twilio.sent == []

    def test_a_refused_send_keeps_its_preview_and_changes_nothing(self, settings, noon, page_client, twilio):
        p = make_prospect(settings, phone=PHONE)
        add_template(settings)
        opt_out(settings, E164)
        before = snapshot(settings)
        refused = page_client.post(f"/prospects/{p.id}/texts/send", data={"template": "hello",
                                                                          "csrf_token": page_client.csrf})  # fmt: skip
        assert refused.status_code == 409 and "opted out of texts" in refused.text
        assert 'data-text-preview="hello"' in refused.text
        assert snapshot(settings) == before and twilio.sent == []

    def test_the_texts_page_pages_through_exactly_what_each_figure_counts(self, settings, noon, client, signed_in,
                                                                           monkeypatch):  # fmt: skip
        from leadline.texts import pages

        monkeypatch.setattr(pages, "PAGE_SIZE", 2)
        p, q = make_prospect(settings, phone=PHONE), make_prospect(settings, phone="(512) 555-0143")
        for n in range(5):
            client.post(f"/api/prospects/{p.id}/texts", json={"direction": "out", "body": f"out {n}"})
        client.post(f"/api/prospects/{q.id}/texts", json={"direction": "in", "body": "in 1"})
        lists = {item["key"]: item for item in client.get("/api/dashboard").json()["lists"]}
        admin, member = signed_in("admin"), signed_in("member")
        for key, count in (("texts.sent", 5), ("texts.received", 1)):
            url, seen = lists[key]["url"], []
            while url:
                shown = admin.get(url)
                assert shown.status_code == 200, shown.text
                seen += re.findall(r'data-text="(txt_[^"]+)"', shown.text)
                following = re.search(r'rel="next" href="([^"]+)"', shown.text)
                url = html.unescape(following.group(1)) if following else None
            assert len(seen) == len(set(seen)) == lists[key]["count"] == count, key
        assert 'id="unmatched"' in admin.get("/texts").text and 'id="unmatched"' not in member.get("/texts").text

    @pytest.mark.parametrize("query, line", [({"sentFrom": "last tuesday"}, "Sent from: 'last tuesday' is not a date"),
                                             ({"sentTo": "2025-13-01"}, "Sent to: '2025-13-01' is not a date"),
                                             ({"direction": "sideways"}, "Direction: 'sideways' is not a direction"),
                                             ({"cursor": "garbage"}, "Cursor: is not a cursor this list gave")])  # fmt: skip
    def test_the_texts_page_names_a_filter_that_does_not_fit(self, settings, noon, client, page_client, query, line):
        p = make_prospect(settings, phone=PHONE)
        client.post(f"/api/prospects/{p.id}/texts", json={"direction": "out", "body": "still listed"})
        before = snapshot(settings)
        shown = page_client.get("/texts", params=query)
        assert shown.status_code == 422 and "still listed" in shown.text
        assert html.unescape(re.search(r"data-error-line>([^<]*)<", shown.text).group(1)).startswith(line)
        assert snapshot(settings) == before

    def test_a_refused_text_shows_the_error_beside_the_form_and_changes_nothing(self, settings, noon, page_client):
        p = make_prospect(settings, phone=PHONE)
        before = snapshot(settings)
        response = page_client.post(f"/prospects/{p.id}/texts", data={"direction": "out", "body": "z" * 700,
                                                                       "csrf_token": page_client.csrf})  # fmt: skip
        assert response.status_code == 422 and "SMS segments" in response.text
        assert snapshot(settings) == before
