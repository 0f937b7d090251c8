"""The pages: labels in the inbox (emails, replies), the timeline and Today; a person corrects a label on
the page; the Settings page's domain checklist (admins)."""

from __future__ import annotations

from sqlalchemy import select

from leadline.db import unit_of_work
from leadline.guardian import service as guardian
from leadline.guardian.models import ReplyLabel, ReplyLabelChange
from tests.conftest import PUBLIC_BASE_URL, configure
from tests.factories import snapshot
from tests.webhooks.conftest import send_to


def logged(settings, text: str) -> tuple[str, str]:
    """A reply logged by hand to a fresh prospect's email: (reply id, prospect id)."""
    (target,) = send_to(settings, 1)
    with unit_of_work(settings) as session:
        row = guardian.log_reply(session, target.id, text, actor="test").label
        return row.id, target.prospect_id


def current(settings, reply_id: str) -> ReplyLabel:
    with unit_of_work(settings, readonly=True) as session:
        row = session.get(ReplyLabel, reply_id)
        assert row is not None
        session.expunge(row)
        return row


class TestInbox:
    def test_replies_page_lists_labels_and_a_person_corrects_one(self, settings, page_client):
        reply_id, _ = logged(settings, "Can we set up a call Thursday?")
        shown = page_client.get("/replies")
        assert shown.status_code == 200
        assert f'data-reply="{reply_id}"' in shown.text and 'data-label="meeting_request"' in shown.text
        changed = page_client.post(f"/replies/{reply_id}/label", data={"label": "interested",
                                   "csrf_token": page_client.csrf}, follow_redirects=False)  # fmt: skip
        assert changed.status_code == 303 and changed.headers["location"].endswith("ok=label")
        row = current(settings, reply_id)
        assert (row.label, row.set_by, row.rule_label) == ("interested", "person", "meeting_request")
        with unit_of_work(settings, readonly=True) as session:
            assert session.scalar(select(ReplyLabelChange.to_label)) == "interested"
        assert "rules said meeting request" in page_client.get("/replies").text

    def test_a_label_not_in_the_list_and_a_missing_token_change_nothing(self, settings, page_client, signed_in):
        reply_id, _ = logged(settings, "Can we set up a call Thursday?")
        viewer = signed_in("viewer")
        before = snapshot(settings)
        bad = page_client.post(f"/replies/{reply_id}/label", data={"label": "spam", "csrf_token": page_client.csrf})
        assert bad.status_code == 422 and "must be one of" in bad.text
        no_token = page_client.post(f"/replies/{reply_id}/label", data={"label": "other"})
        assert no_token.status_code == 403
        refused = viewer.post(f"/replies/{reply_id}/label", data={"label": "other", "csrf_token": viewer.csrf})
        assert refused.status_code == 403
        assert snapshot(settings) == before

    def test_emails_timeline_and_today_show_the_label(self, settings, page_client):
        reply_id, prospect_id = logged(settings, "Not interested, we already have someone.")
        emails_page = page_client.get("/emails").text
        assert 'data-label="not_interested"' in emails_page and 'href="/replies"' in emails_page
        detail = page_client.get(f"/prospects/{prospect_id}").text
        assert "reply labelled not interested (read by the rules)" in detail
        today = page_client.get("/today").text
        assert 'data-label="not_interested"' in today
        assert (
            f'data-reply-label="{reply_id}"' in today and f'action="/replies/{reply_id}/confirm?next=/today"' in today
        )

    def test_a_person_confirms_a_not_interested_reply_or_adds_a_referral_from_the_page(self, settings, page_client):
        """The Today page told a web user to run `leadline replies confirm` / `accept-referral`: now a
        button does what the command does, and comes back with a line saying so."""
        lost_id, lost_prospect = logged(settings, "Not interested, we already have someone.")
        referral_id, referrer = logged(settings, "Please talk to my partner Jane Doe at jane.doe@doeplumbing.com")
        today = page_client.get("/today").text
        assert f'action="/replies/{referral_id}/accept-referral?next=/today"' in today
        assert f'action="/replies/{lost_id}/confirm?next=/replies"' in page_client.get("/replies").text
        confirmed = page_client.post(f"/replies/{lost_id}/confirm?next=/today", data={"csrf_token": page_client.csrf},
                                     follow_redirects=False)  # fmt: skip
        assert confirmed.status_code == 303 and confirmed.headers["location"] == "/today?ok=lost"
        assert "Marked lost, with the reply as the reason." in page_client.get(confirmed.headers["location"]).text
        assert current(settings, lost_id).action == "lost"
        from tests.web.helpers import stage_of

        assert stage_of(settings, lost_prospect) == "closed_lost"
        added = page_client.post(f"/replies/{referral_id}/accept-referral?next=/replies",
                                 data={"csrf_token": page_client.csrf}, follow_redirects=False)  # fmt: skip
        assert added.status_code == 303 and added.headers["location"] == "/replies?ok=referral"
        row = current(settings, referral_id)
        assert row.action == "referral_added" and stage_of(settings, row.action_detail["prospectId"]) == "new"
        before = snapshot(settings)
        again = page_client.post(f"/replies/{lost_id}/confirm", data={"csrf_token": page_client.csrf})
        assert again.status_code == 409 and "already marked lost" in again.text
        twice = page_client.post(f"/replies/{referral_id}/accept-referral", data={"csrf_token": page_client.csrf})
        assert twice.status_code == 409 and "added already" in twice.text
        assert page_client.post(f"/replies/{lost_id}/confirm").status_code == 403  # no CSRF token
        assert snapshot(settings) == before and referrer

    def test_a_viewer_sees_no_buttons_and_may_not_act(self, settings, signed_in):
        reply_id, _ = logged(settings, "Not interested, we already have someone.")
        viewer = signed_in("viewer")
        assert "data-reply-action" not in viewer.get("/today").text + viewer.get("/replies").text
        before = snapshot(settings)
        assert viewer.post(f"/replies/{reply_id}/confirm", data={"csrf_token": viewer.csrf}).status_code == 403
        assert snapshot(settings) == before


class TestDomainChecklist:
    def test_admins_see_the_checklist_for_a_good_and_a_broken_zone(self, settings, signed_in, fake_dns, monkeypatch):
        configure(
            monkeypatch,
            settings,
            dns_nameservers=[fake_dns.nameserver],
            dns_timeout_seconds=0.5,
            email_backend="sendgrid",
            sender_email="dana@goodmail.test",
            base_url=PUBLIC_BASE_URL,
            cookie_secure=False,
        )  # fmt: skip  (the test client speaks plain http)
        admin = signed_in("admin")
        page = admin.get("/settings").text
        assert 'hx-get="/settings/domain"' in page
        good = admin.get("/settings/domain")
        assert good.status_code == 200 and good.text.count('class="badge ok"') == 5
        monkeypatch.setattr(settings, "sender_email", "dana@brokenmail.test")
        broken = admin.get("/settings/domain").text
        assert 'data-check="dmarc"' in broken and "p=bogus" in broken and "_dmarc.brokenmail.test TXT" in broken
        assert broken.count('class="badge bad"') == 3  # SPF, DKIM, DMARC
        member = signed_in("member")
        assert 'id="sending-domain"' not in member.get("/settings").text
        assert member.get("/settings/domain").status_code == 403
