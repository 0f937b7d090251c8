"""What SendGrid is asked to track: the links of a template, never Leadline's unsubscribe link
(checked on the Mail Send request the fake SendGrid receives)."""

from __future__ import annotations

import re

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.emails.message import unsubscribe_url
from leadline.emails.models import EmailActivity
from tests.conftest import configure
from tests.factories import make_prospect

OFFER = "https://www.gridline.example/offer?plan=starter&src=email"


def sent_email(settings) -> EmailActivity:
    with unit_of_work(settings, readonly=True) as session:
        return session.scalars(select(EmailActivity)).one()


def anchors(html: str) -> list[str]:
    return re.findall(r"<a\b[^>]*>", html)


class TestMailSend:
    def test_the_unsubscribe_link_is_sent_with_click_tracking_off(self, settings, cli, fake_sendgrid):
        p = make_prospect(settings, name="Royal Plumbing Co", email="daniel@royalplumbingco.com")
        assert cli("emails", "send", "--template", "pain_point", "--prospect", p.id).exit_code == 0
        (request,) = fake_sendgrid.requests
        body = request.json
        row = sent_email(settings)
        url = unsubscribe_url(settings, row.id)
        text, html = (c["value"] for c in body["content"])
        # HTML: SendGrid's per-link opt-out, before the href; the only link of a built-in template.
        assert anchors(html) == [f'<a clicktracking=off href="{url}">']
        # Plain text has no per-link opt-out: plain-text click tracking is off for the message.
        assert url in text
        assert body["tracking_settings"]["click_tracking"] == {"enable": True, "enable_text": False}
        assert body["headers"]["List-Unsubscribe"] == f"<{url}>"

    def test_a_templates_own_links_are_tracked(self, settings, cli, fake_sendgrid, tmp_path, monkeypatch):
        folder = tmp_path / "templates"
        folder.mkdir()
        (folder / "offer.txt").write_text(
            f"Subject: An offer\nType: solution\n\nHi,\n\nThe starter plan ({OFFER}).\nThanks\n"
        )
        (folder / "linked.txt").write_text("Subject: Linked\nType: solution\n\nSee the page.\n")
        (folder / "linked.html").write_text('<p>See <a href="https://www.gridline.example/page">the page</a>.</p>')
        configure(monkeypatch, settings, templates_dir=str(folder))
        first = make_prospect(settings, name="Offer Biz", email="owner@offerbiz.com")
        second = make_prospect(settings, name="Linked Biz", email="owner@linkedbiz.com")
        assert cli("emails", "send", "--template", "offer", "--prospect", first.id).exit_code == 0
        assert cli("emails", "send", "--template", "linked", "--prospect", second.id).exit_code == 0
        offer, linked = (r.json["content"][1]["value"] for r in fake_sendgrid.requests)
        escaped = OFFER.replace("&", "&amp;")
        assert anchors(offer)[0] == f'<a href="{escaped}">'  # the plain URL became a tracked link
        assert f">{escaped}</a>)" in offer  # the bracket is the sentence's, not the address's
        assert anchors(linked)[0] == '<a href="https://www.gridline.example/page">'
        assert [a.startswith("<a clicktracking=off ") for a in anchors(offer)] == [False, True]
        assert [a.startswith("<a clicktracking=off ") for a in anchors(linked)] == [False, True]

    def test_a_body_stored_before_the_rule_goes_out_with_the_unsubscribe_link_untracked(self, settings):
        """A send scheduled earlier keeps the body it was given, with a plain unsubscribe link."""
        from leadline.emails.backends.sendgrid import payload
        from leadline.emails.message import Outgoing

        url = unsubscribe_url(settings, "email_old")
        html = f'<p>Hi</p><p>Not interested? <a href="{url}">Unsubscribe</a> with one click.</p>'
        message = Outgoing(
            email_id="email_old", to_email="a@example.com", to_name=None, from_email="dana@gridline.example",
            from_name="Dana", subject="Hi", text=f"Hi\n{url}\n", html=html, message_id="<email_old@gridline.example>",
            template="pain_point", unsubscribe_url=url,
        )  # fmt: skip
        sent = payload(message)["content"][1]["value"]
        assert anchors(sent) == [f'<a clicktracking=off href="{url}">']
