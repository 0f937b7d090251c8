"""The prospects table, the CSV import and a prospect's page over HTTP."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from leadline.activity.models import OutreachActivity
from leadline.calls.models import CallActivity
from leadline.clock import utc_now
from leadline.customers.models import Customer
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.web.pages.forms import label_of
from tests.emails.conftest import outbox_messages
from tests.factories import count, make_prospect, snapshot
from tests.web.helpers import error_line, field_errors, send_email


def names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/prospects/[^"]+">([^<]+)</a>', html)


def prospect(settings, pid: str) -> Prospect:
    with unit_of_work(settings, readonly=True) as session:
        found = session.get(Prospect, pid)
        assert found is not None
        return found


# --- the table -------------------------------------------------------------------------------


def test_filters_search_and_sorting_are_plain_get_parameters(settings, page_client):
    make_prospect(settings, name="Alpha Roofing", trade="roofing", tier=1, grid_health=30)
    make_prospect(settings, name="Bravo Plumbing", trade="plumbing", tier=2, grid_health=60, city="Dallas")
    make_prospect(settings, name="Charlie Plumbing", trade="plumbing", tier=1, grid_health=90, do_not_contact=True)
    get = page_client.get
    assert names(get("/prospects?sort=name").text) == ["Alpha Roofing", "Bravo Plumbing", "Charlie Plumbing"]
    assert names(get("/prospects?sort=-name").text) == ["Charlie Plumbing", "Bravo Plumbing", "Alpha Roofing"]
    assert names(get("/prospects?sort=grid_health").text) == ["Alpha Roofing", "Bravo Plumbing", "Charlie Plumbing"]
    assert names(get("/prospects?tier=1&sort=name").text) == ["Alpha Roofing", "Charlie Plumbing"]
    assert names(get("/prospects?trade=plumbing&sort=name").text) == ["Bravo Plumbing", "Charlie Plumbing"]
    assert names(get("/prospects?search=dallas").text) == ["Bravo Plumbing"]
    assert names(get("/prospects?dnc=yes").text) == ["Charlie Plumbing"]
    assert names(get("/prospects?dnc=no&sort=name").text) == ["Alpha Roofing", "Bravo Plumbing"]
    assert names(get("/prospects?grid_min=50&grid_max=70").text) == ["Bravo Plumbing"]
    assert names(get("/prospects?stage=contacted").text) == []
    assert "No prospects match." in get("/prospects?stage=contacted").text
    # Sorting links keep the filters and flip the direction.
    assert 'href="/prospects?tier=1&amp;sort=-name"' in get("/prospects?tier=1&sort=name").text


def test_htmx_gets_only_the_table(settings, page_client):
    make_prospect(settings, name="Fragment Heating")
    response = page_client.get("/prospects?search=fragment", headers={"HX-Request": "true", "HX-Target": "results"})
    assert response.status_code == 200
    assert "<html" not in response.text and "Fragment Heating" in response.text
    assert 'id="sort-input"' in response.text  # the filter form's sort follows the table


def test_a_bad_filter_says_which_one_in_one_line(settings, page_client):
    make_prospect(settings, name="Still Listed")
    for query, message in (("tier=9", "Tier: must be 1, 2 or 3"), ("stage=won", "Stage: &#39;won&#39; is not a stage"),
                           ("grid_min=abc", "Grid health ≥: &#39;abc&#39; is not a number"),
                           ("sort=colour", "Sort: must be one of")):  # fmt: skip
        response = page_client.get(f"/prospects?{query}")
        assert response.status_code == 422, query
        assert message in response.text, query
        assert "Still Listed" in response.text  # the unfiltered table is still there
    response = page_client.get("/prospects?cursor=not-a-cursor")
    assert "Cursor: is not a cursor this server made" in response.text


def test_keyset_paging_walks_every_prospect_once(page_client, settings):
    for n in range(57):
        make_prospect(settings, name=f"Paged Co {n:03d}", email=None)
    seen: list[str] = []
    url = "/prospects?sort=name"
    pages = 0
    while url:
        html = page_client.get(url).text
        seen += names(html)
        pages += 1
        found = re.search(r'<a class="button secondary" rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == 2
    assert seen == [f"Paged Co {n:03d}" for n in range(57)]
    assert "50 shown of 57" in page_client.get("/prospects").text


# --- a prospect's page -------------------------------------------------------------------------


def test_a_script_in_a_name_or_a_reply_is_shown_as_text(settings, page_client):
    pid = make_prospect(settings, name="<script>alert('name')</script> Plumbing").id
    email_id = send_email(settings, pid)
    from leadline.emails import service as emails

    with unit_of_work(settings) as session:
        emails.record_reply(session, email_id, "<b>Yes</b> <script>alert('reply')</script>\n<img src=x onerror=alert(1)>",
                            actor="test")  # fmt: skip
    for url in (f"/prospects/{pid}", "/prospects", "/emails", "/"):
        html = page_client.get(url).text
        assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html, url
        assert "<script>alert" not in html, url
    detail = page_client.get(f"/prospects/{pid}").text
    assert "&lt;b&gt;Yes&lt;/b&gt; &lt;script&gt;alert(&#39;reply&#39;)&lt;/script&gt;" in detail
    assert "<img src=x" not in detail and "<b>Yes</b>" not in detail


def test_edit_saves_the_fields_and_records_who(settings, page_client):
    pid = make_prospect(settings, name="Edit Me Plumbing", tier=3).id
    form = {"csrf_token": page_client.csrf, "name": "Edited Plumbing", "tier": "1", "status": "active",
            "gridHealth": "55%", "gaps": "No booking\nNo reviews", "trade": "Plumbing", "email": "new@edited.com", "contactName": ""}  # fmt: skip
    response = page_client.post(f"/prospects/{pid}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/prospects/{pid}?done=saved"
    saved = prospect(settings, pid)
    assert (saved.name, saved.tier, saved.grid_health, saved.gaps) == (
        "Edited Plumbing",
        1,
        55,
        ["No booking", "No reviews"],
    )
    assert saved.contact_name is None  # a blank field clears it, like the API's null
    assert saved.city == "Austin"  # a field the form did not send is left alone
    assert "Saved." in page_client.get(f"/prospects/{pid}?done=saved").text
    with unit_of_work(settings, readonly=True) as session:
        entry = session.scalars(select(OutreachActivity).where(OutreachActivity.type == "updated")).one()
    assert entry.actor == "user:admin@example.com"


def test_bad_input_is_named_beside_its_field_and_changes_nothing(settings, page_client):
    pid = make_prospect(settings, name="Careful Plumbing").id
    other = make_prospect(settings, name="Other Plumbing", email="taken@other.com").id
    base = {"csrf_token": page_client.csrf, "name": "Careful Plumbing", "tier": "1", "status": "active"}
    cases = [
        (f"/prospects/{pid}/edit", {**base, "gridHealth": "200"}, "Grid health: must be at most 100"),
        (f"/prospects/{pid}/edit", {**base, "name": ""}, "Name: cannot be empty"),
        (f"/prospects/{pid}/edit", {**base, "tier": "7"}, "Tier: must be 1, 2 or 3"),
        (f"/prospects/{pid}/edit", {**base, "email": "not an address"}, "Email:"),
        (f"/prospects/{pid}/edit", {**base, "email": "taken@other.com"}, f"Email: taken@other.com already belongs to prospect &#39;{other}&#39;"),
        (f"/prospects/{pid}/calls/book", {"csrf_token": page_client.csrf, "scheduledAt": "2020-01-01T10:00"}, "When:"),
        (f"/prospects/{pid}/calls/book", {"csrf_token": page_client.csrf, "scheduledAt": "next tuesday-ish"}, "When:"),
        (f"/prospects/{pid}/calls/log", {"csrf_token": page_client.csrf, "outcome": "interested", "duration": "forever"}, "Duration:"),
        (f"/prospects/{pid}/calls/log", {"csrf_token": page_client.csrf, "outcome": "delighted"}, "Outcome:"),
        (f"/prospects/{pid}/proposal", {"csrf_token": page_client.csrf, "value": "lots"}, "Value: &#39;lots&#39; is not a number"),
        (f"/prospects/{pid}/proposal", {"csrf_token": page_client.csrf, "value": "0"}, "Value: must be more than 0"),
        (f"/prospects/{pid}/proposal", {"csrf_token": page_client.csrf, "value": "1e309"},
         "Value: must be a finite number"),
        (f"/prospects/{pid}/proposal", {"csrf_token": page_client.csrf, "value": "inf"}, "Value: must be a finite number"),
        (f"/prospects/{pid}/stage", {"csrf_token": page_client.csrf, "stage": "replied", "reason": ""}, "Reason:"),
        (f"/prospects/{pid}/stage", {"csrf_token": page_client.csrf, "stage": "closed_won", "reason": "yes"}, "Stage:"),
        (f"/prospects/{pid}/won", {"csrf_token": page_client.csrf, "serviceType": "paid_ads", "monthlyFee": "-5"}, "Monthly fee: must be at least 0"),
        (f"/prospects/{pid}/won", {"csrf_token": page_client.csrf, "serviceType": "gardening", "monthlyFee": "5"}, "Service type:"),
        (f"/prospects/{pid}/lost", {"csrf_token": page_client.csrf, "reason": "  "}, "Reason: must not be empty"),
        (f"/prospects/{pid}/email", {"csrf_token": page_client.csrf, "template": "no_such"}, "Template: no template &#39;no_such&#39;"),
    ]  # fmt: skip
    before = snapshot(settings)
    for url, form, message in cases:
        response = page_client.post(url, data=form)
        assert 400 <= response.status_code < 500, (url, form, response.status_code)
        line = error_line(response.text)
        assert line.startswith(html.unescape(message)) and "\n" not in line, (form, line)
        beside = [label_of(name) for name in field_errors(response.text)]  # beside its input, named by its label
        assert beside == [message.split(":")[0]], (form, beside)
    assert snapshot(settings) == before
    assert outbox_messages(settings) == []


def test_the_email_preview_is_the_template_filled_in_for_this_prospect(settings, page_client):
    pid = make_prospect(settings, name="Preview Roofing", trade="roofing", contact_name="Jo Smith").id
    response = page_client.get(f"/prospects/{pid}/email-preview?template=pain_point")
    assert response.status_code == 200 and "<html" not in response.text
    assert "Preview Roofing" in response.text and "Hi Jo" in response.text
    assert "no template" in page_client.get(f"/prospects/{pid}/email-preview?template=nope").text


def test_actions_go_through_the_services(page_client, settings):
    pid = make_prospect(settings, name="Action Plumbing", email="owner@action-plumbing.com").id
    csrf = page_client.csrf

    def post(path: str, **form: str) -> None:
        response = page_client.post(
            f"/prospects/{pid}/{path}", data={"csrf_token": csrf, **form}, follow_redirects=False
        )
        assert response.status_code == 303, (path, response.text[:500])

    post("email", template="pain_point")
    assert [m["To"].addresses[0].addr_spec for m in outbox_messages(settings)] == ["owner@action-plumbing.com"]
    assert prospect(settings, pid).sales_status == "contacted"
    when = (utc_now() + timedelta(days=3)).astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")
    post("calls/book", scheduledAt=when, notes="Discovery")
    assert prospect(settings, pid).sales_status == "scheduled"
    post(
        "calls/log", outcome="interested", duration="25m", objections="price\ntiming\ntrust", nextSteps="send proposal"
    )
    with unit_of_work(settings, readonly=True) as session:
        call = session.scalars(select(CallActivity).where(CallActivity.status == "completed")).one()
        booked = session.scalars(select(CallActivity.status).where(CallActivity.id != call.id)).one()
    assert call.status == "completed" and call.duration == 1500 and call.objections == ["price", "timing", "trust"]
    assert booked == "scheduled"  # the call booked for three days on is still to come
    post("proposal", value="1,200")
    assert (prospect(settings, pid).sales_status, prospect(settings, pid).deal_value) == ("proposal", 1200)
    post("stage", stage="interested", reason="they want to think")
    assert prospect(settings, pid).sales_status == "interested"
    post("won", serviceType="grid_health_analysis", monthlyFee="1500")
    assert prospect(settings, pid).sales_status == "closed_won" and count(settings, "customers") == 1
    with unit_of_work(settings, readonly=True) as session:
        assert session.scalars(select(Customer.monthly_fee)).one() == 1500
        actors = set(session.scalars(select(OutreachActivity.actor).where(OutreachActivity.prospect_id == pid)))
        assert "user:admin@example.com" in actors
        assert session.scalars(select(EmailActivity.status)).all() == ["sent", "sent"]
    page = page_client.get(f"/prospects/{pid}").text
    assert "price; timing; trust" in page and "they want to think" in page

    lost = make_prospect(settings, name="Lost Plumbing").id
    response = page_client.post(f"/prospects/{lost}/lost", data={"csrf_token": csrf, "reason": "went with a cousin"})
    assert response.status_code == 200 and "The deal is marked lost." in response.text
    assert (
        prospect(settings, lost).sales_status == "closed_lost"
        and prospect(settings, lost).lost_reason == "went with a cousin"
    )


def test_an_unknown_prospect_is_a_404(page_client):
    assert page_client.get("/prospects/nobody_here").status_code == 404


# --- import ------------------------------------------------------------------------------------

CSV = b"Company,Trade,Email,Tier\nGood One,plumbing,a@good-one.com,1\nBad Row,plumbing,nope,2\nGood Two,hvac,b@good-two.com,3\n"


def test_import_previews_without_writing_then_imports_on_confirm(signed_in, page_client, settings):
    before = snapshot(settings)
    response = page_client.post("/prospects/import", data={"csrf_token": page_client.csrf},
                                files={"file": ("leads.csv", CSV, "text/csv")})  # fmt: skip
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert re.search(r"<td>Company</td><td><code>name</code></td>", html)
    assert re.search(r"<td>Email</td><td><code>email</code></td>", html)
    assert re.search(r'<tr class="rejected"><td class="num">3</td><td>Email</td><td>[^<]*nope', html)
    assert 'data-count="created">2<' in html
    assert snapshot(settings) == before  # the preview is a dry run
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert (settings.data_dir / "uploads" / token).is_dir()  # kept server-side until confirmed

    other = signed_in("member", "other@example.com")  # bound to the session that uploaded it
    before = snapshot(settings)
    refused = other.post("/prospects/import/confirm", data={"csrf_token": other.csrf, "token": token})
    assert refused.status_code == 404
    assert snapshot(settings) == before

    done = page_client.post("/prospects/import/confirm", data={"csrf_token": page_client.csrf, "token": token})
    assert done.status_code == 200
    assert "Imported: 2 new, 0 updated, 0 unchanged, 1 rejected, of 3 rows." in done.text
    with unit_of_work(settings, readonly=True) as session:
        assert sorted(session.scalars(select(Prospect.name))) == ["Good One", "Good Two"]
        assert set(session.scalars(select(OutreachActivity.actor))) == {"user:admin@example.com"}
    assert not (settings.data_dir / "uploads" / token).exists()
    again = page_client.post("/prospects/import/confirm", data={"csrf_token": page_client.csrf, "token": token})
    assert again.status_code == 404 and count(settings, "prospects") == 2


def test_an_unusable_file_is_refused_in_one_line(page_client, settings):
    before = snapshot(settings)
    for name, body, message in (("notes.pdf", b"%PDF", "File: &#39;notes.pdf&#39; is not a .csv"),
                                ("empty.csv", b"", "File: is empty"),
                                ("odd.csv", b"Colour,Shape\nred,round\n", "no column names the prospect")):  # fmt: skip
        response = page_client.post("/prospects/import", data={"csrf_token": page_client.csrf},
                                    files={"file": (name, body, "text/csv")})  # fmt: skip
        assert response.status_code == 422, name
        assert message in response.text, (name, response.text[-1500:])
    assert snapshot(settings) == before
    assert list((settings.data_dir / "uploads").glob("*")) == []  # nothing kept


def test_a_filtered_total_is_counted_up_to_a_limit(settings, page_client, monkeypatch):
    from leadline.web.pages import prospects as page

    for n in range(4):
        make_prospect(settings, name=f"Counted Plumbing {n}", tier=2, email=None)
    make_prospect(settings, name="Other Tier", tier=1, email=None)
    assert "4 shown of 4" in page_client.get("/prospects?tier=2").text
    monkeypatch.setattr(page, "COUNT_LIMIT", 3)
    assert "4 shown of 3+" in page_client.get("/prospects?tier=2").text
    assert "5 shown of 5" in page_client.get("/prospects").text  # unfiltered: counted from an index, exactly


def test_a_preview_nobody_confirmed_is_deleted_after_a_day(page_client, settings):
    import os
    import time

    response = page_client.post("/prospects/import", data={"csrf_token": page_client.csrf},
                                files={"file": ("leads.csv", CSV, "text/csv")})  # fmt: skip
    old = re.search(r'name="token" value="([^"]+)"', response.text).group(1)
    folder = settings.data_dir / "uploads" / old
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(folder, (day_ago, day_ago))
    page_client.post("/prospects/import", data={"csrf_token": page_client.csrf},
                     files={"file": ("more.csv", CSV, "text/csv")})  # fmt: skip
    assert not folder.exists()
    assert len(list((settings.data_dir / "uploads").iterdir())) == 1
    gone = page_client.post("/prospects/import/confirm", data={"csrf_token": page_client.csrf, "token": old})
    assert gone.status_code == 404


def test_saving_an_old_form_does_not_undo_a_change_made_meanwhile(settings, page_client):
    """A bounce marks the prospect do-not-contact while its page is open: saving the page's form
    (which sends every field) is refused instead of silently clearing the flag."""
    import re

    from leadline.prospects import service as prospects_service

    pid = make_prospect(settings, name="Open Page Plumbing").id
    shown = page_client.get(f"/prospects/{pid}").text
    version = re.search(r'name="version" value="([^"]+)"', shown).group(1)
    with unit_of_work(settings) as session:
        prospects_service.set_do_not_contact(session, prospects_service.get(session, pid), "bounced", actor="webhook")
    form = {"csrf_token": page_client.csrf, "version": version, "name": "Open Page Plumbing", "tier": "2",
            "status": "active"}  # fmt: skip
    refused = page_client.post(f"/prospects/{pid}/edit", data=form, follow_redirects=False)
    assert refused.status_code == 409 and "changed since you opened the page" in refused.text
    assert prospect(settings, pid).do_not_contact and prospect(settings, pid).tier != 2
    fresh = re.search(r'name="version" value="([^"]+)"', page_client.get(f"/prospects/{pid}").text).group(1)
    saved = page_client.post(f"/prospects/{pid}/edit", data={**form, "version": fresh, "doNotContact": "on"},
                             follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303 and prospect(settings, pid).tier == 2 and prospect(settings, pid).do_not_contact


def test_every_problem_of_a_form_is_shown_at_once(settings, page_client):
    pid = make_prospect(settings, name="Twice Wrong Plumbing").id
    before = snapshot(settings)
    form = {"csrf_token": page_client.csrf, "name": "Twice Wrong Plumbing", "status": "active",
            "gridHealth": "200", "tier": "7", "gaps": "kept as typed"}  # fmt: skip
    response = page_client.post(f"/prospects/{pid}/edit", data=form)
    assert response.status_code == 422
    line = error_line(response.text)
    assert "Grid health: must be at most 100" in line and "Tier: must be 1, 2 or 3" in line and "\n" not in line
    assert sorted(field_errors(response.text)) == ["gridHealth", "tier"]
    assert ">kept as typed</textarea>" in response.text
    assert snapshot(settings) == before


def form_inputs(html: str, form_id: str) -> list[str]:
    form = re.search(rf'<form [^>]*id="{form_id}">(.*?)</form>', html, re.S)
    assert form, form_id
    return re.findall(r'<(?:input|select|textarea) [^>]*?name="(\w+)"', form.group(1))


def test_book_and_log_are_the_same_forms_as_on_the_calls_page(settings, page_client):
    pid = make_prospect(settings, name="Same Form Roofing").id
    here = page_client.get(f"/prospects/{pid}").text
    calls = page_client.get("/calls").text
    for form_id in ("book-form", "log-form"):
        # The same inputs, but for the prospect, which the prospect's page fills in.
        assert form_inputs(here, form_id) == [n for n in form_inputs(calls, form_id) if n != "prospectId"], form_id
    assert f'action="/prospects/{pid}/calls/book"' in here and f'action="/prospects/{pid}/calls/log"' in here
    before = snapshot(settings)
    refused = page_client.post(f"/prospects/{pid}/calls/log", data={"csrf_token": page_client.csrf,
                               "outcome": "delighted", "duration": "forever", "notes": "kept as typed"})  # fmt: skip
    assert refused.status_code == 422 and "<h1>Same Form Roofing" in refused.text  # the prospect's page again
    assert sorted(field_errors(refused.text)) == ["duration", "outcome"]
    assert ">kept as typed</textarea>" in refused.text
    assert snapshot(settings) == before


def test_a_repeat_send_says_why_in_plain_words_keeps_the_preview_and_offers_send_anyway(settings, page_client):
    prospect = make_prospect(settings, name="Repeat Plumbing", email="owner@repeat.example")
    form = {"csrf_token": page_client.csrf, "template": "pain_point"}
    first = page_client.post(f"/prospects/{prospect.id}/email", data=form, follow_redirects=False)
    assert first.status_code == 303
    before = snapshot(settings)
    again = page_client.post(f"/prospects/{prospect.id}/email", data=form)
    assert again.status_code == 422
    line = error_line(again.text)
    assert line.startswith("Template: They already got this template (pain_point) on 20"), line
    assert "--force" not in line and "email_" not in line  # no CLI flags, no internal ids
    assert 'name="force" value="1"' in again.text and "Send anyway" in again.text
    assert 'class="preview-subject"' in again.text and "Repeat Plumbing" in again.text  # the preview stays
    assert snapshot(settings) == before
    anyway = page_client.post(f"/prospects/{prospect.id}/email", data={**form, "force": "1"}, follow_redirects=False)
    assert anyway.status_code == 303 and count(settings, "email_activities") == 2
