"""Writing email in Chromium (issue 17.5): your own message with a preview, a refused repeat that
offers "Send anyway", and an answer to a prospect's reply threaded under it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot
from tests.web.conftest import shoot
from tests.web.helpers import send_email


def test_write_preview_send_and_a_repeat_offers_send_anyway(admin_page, live):
    royal = make_prospect(live.settings, name="Royal Plumbing Co", contact_name="Daniel Reyes",
                          email="daniel@royal.example")  # fmt: skip
    page = admin_page
    page.goto(f"/prospects/{royal.id}")
    page.get_by_role("link", name="Write your own email").click()
    page.wait_for_url(f"**/prospects/{royal.id}/compose")
    page.get_by_label("Subject").fill("Your listing in {{ city }}")
    page.get_by_label("Message").fill("Hi {{ firstName }},\n\nA quick note about {{ name }}.")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("Your listing in Austin")
    expect(preview).to_contain_text("Hi Daniel,")
    expect(page.get_by_label("Message")).to_have_value("Hi {{ firstName }},\n\nA quick note about {{ name }}.")
    assert outbox_messages(live.settings) == []  # a preview sends nothing
    shoot(page, "compose-preview")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(f"**/prospects/{royal.id}?done=sent*")
    assert page.get_by_role("status").inner_text() == "The email was sent."
    assert [m["Subject"] for m in outbox_messages(live.settings)] == ["Your listing in Austin"]

    page.goto(f"/prospects/{royal.id}/compose")
    page.get_by_label("Subject").fill("Your listing in {{ city }}")
    page.get_by_label("Message").fill("Hi {{ firstName }},\n\nA quick note about {{ name }}.")
    before = snapshot(live.settings)
    page.get_by_role("button", name="Send", exact=True).click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("They already got this very message on")
    assert "--force" not in alert.inner_text() and "email_" not in alert.inner_text()  # plain words
    expect(page.get_by_label("Message")).to_have_value("Hi {{ firstName }},\n\nA quick note about {{ name }}.")
    assert snapshot(live.settings) == before
    page.get_by_role("button", name="Send anyway").click()
    page.wait_for_url(f"**/prospects/{royal.id}?done=sent*")
    assert len(outbox_messages(live.settings)) == 2


def test_a_bad_merge_field_is_named_and_what_was_typed_stays(admin_page, live):
    prospect = make_prospect(live.settings, name="Cedar Roofing", email="owner@cedar.example")
    page = admin_page
    page.goto(f"/prospects/{prospect.id}/compose")
    page.get_by_label("Subject").fill("Hello")
    page.get_by_label("Message").fill("Your score: {{ planet }}")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#err-body")).to_contain_text("planet")
    expect(page.get_by_label("Subject")).to_have_value("Hello")
    assert outbox_messages(live.settings) == []


def test_answer_a_reply_from_the_prospect_page(admin_page, live):
    from leadline.db import unit_of_work
    from leadline.emails import service

    prospect = make_prospect(live.settings, name="Baker Roofing", contact_name="Mia Baker", email="mia@baker.example")
    email_id = send_email(live.settings, prospect.id)
    with unit_of_work(live.settings) as session:
        service.record_reply(session, email_id, "Sounds good. Can you call Thursday?", actor="test")
    page = admin_page
    page.goto(f"/prospects/{prospect.id}")
    page.get_by_role("link", name="Reply", exact=True).click()
    page.wait_for_url(f"**/emails/{email_id}/reply")
    expect(page.get_by_role("region", name="Their reply")).to_contain_text("Can you call Thursday?")
    page.get_by_label("Message").fill("Thursday 10am works, talk then.")
    page.get_by_role("button", name="Send the reply").click()
    page.wait_for_url(f"**/prospects/{prospect.id}?done=sent*")
    answer = outbox_messages(live.settings)[-1]
    assert (
        answer["Subject"].startswith("Re: ")
        and answer["In-Reply-To"] == outbox_messages(live.settings)[0]["Message-ID"]
    )
    assert "> Sounds good. Can you call Thursday?" in answer.get_body(("plain",)).get_content()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/emails/{email_id}/reply")
    shoot(page, "reply-phone")
