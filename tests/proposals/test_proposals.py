"""Proposals as documents: sent -> viewed -> accepted -> customer with MRR, declined, new versions, and
every bad link or form refused with nothing changed. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from leadline.db import unit_of_work
from tests.conftest import configure
from tests.emails.conftest import outbox_messages
from tests.factories import count, make_prospect, snapshot


def _make(cli, settings, fee: str = "2400"):
    p = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", owner=None)
    made = cli("proposals", "create", "--prospect", p.id, "--service", "grid_health_analysis", "--fee", fee,
               "--intro", "Thanks for your time on Tuesday.", "--json")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    return p, made.json


def _send(cli, proposal_id: str) -> str:
    sent = cli("proposals", "send", proposal_id, "--json")
    assert sent.exit_code == 0, sent.stderr
    return str(sent.json["url"]).rsplit("/p/", 1)[1]


def pages_of(pdf: bytes) -> int:
    """The pages of a PDF (WeasyPrint keeps its page objects in compressed object streams)."""
    import zlib

    parts = [pdf]
    for found in re.finditer(rb"stream\r?\n", pdf):
        # Inflated from where the stream starts to where its compressed data ends: cut at the first
        # "endstream" instead, a stream whose data happens to end in a carriage return lost that byte.
        try:
            parts.append(zlib.decompressobj().decompress(pdf[found.end() :]))
        except zlib.error:
            continue  # not compressed, or the "stream" of an "endstream"
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", b"".join(parts)))


def _sha(page: str) -> str:
    found = re.search(r'name="document" value="([0-9a-f]{64})"', page)
    assert found, page[:500]
    return found.group(1)


def test_sent_viewed_accepted_customer(cli, anon_client, settings, client, page_client):
    p, proposal = _make(cli, settings)
    assert proposal["status"] == "draft" and proposal["url"] is None
    token = _send(cli, proposal["id"])
    (message,) = outbox_messages(settings)
    assert f"/p/{token}" in message.get_body(("plain",)).get_content()
    shown = cli("prospects", "show", p.id, "--json").json
    assert (shown["salesStatus"], shown["dealValue"]) == ("proposal", 2400.0)  # as the proposal flow does
    unsigned = anon_client.get(f"/p/{token}/pdf").content
    page = anon_client.get(f"/p/{token}")
    assert page.status_code == 200 and "Proposal for Royal Plumbing Co" in page.text
    assert "Return on investment" in page.text and "2,400" in page.text and "Thanks for your time" in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert (
        '<script src="/static/proposal.js?v=' in page.text
        and "http" not in page.text.split("<main")[0].replace('content="width', "").split("<link")[0]
    )
    view = re.search(r'data-beacon="(/p/[^"]+)"', page.text)
    assert view
    assert anon_client.post(view.group(1), content=b"42", headers={"content-type": "text/plain"}).status_code == 204
    anon_client.get(f"/p/{token}")  # a second view: one notification only
    with unit_of_work(settings, readonly=True) as session:
        kinds = session.execute(text("SELECT kind FROM notifications WHERE kind = 'proposal_viewed'")).all()
        views = session.execute(text("SELECT seconds FROM proposal_views ORDER BY viewed_at")).scalars().all()
    assert len(kinds) == 1 and list(views) == [42, 0]
    accepted = anon_client.post(f"/p/{token}/accept", headers={"user-agent": "Phone Browser 1.0"},
                                data={"name": "Daniel Reyes", "agree": "yes", "document": _sha(page.text)})  # fmt: skip
    assert accepted.status_code == 200 and "Accepted by" in accepted.text and "Daniel Reyes" in accepted.text
    record = cli("proposals", "show", proposal["id"], "--json").json
    assert record["status"] == "accepted" and record["signerName"] == "Daniel Reyes"
    assert record["signerAgent"] == "Phone Browser 1.0" and record["signerIp"]
    assert record["signedSha256"] == record["versions"][0]["sha256"] == _sha(page.text)
    customer = cli("customers", "show", record["customerId"], "--json").json
    assert (customer["serviceType"], customer["monthlyFee"], customer["status"]) == (
        "grid_health_analysis", 2400.0, "active")  # fmt: skip
    assert cli("prospects", "show", p.id, "--json").json["salesStatus"] == "closed_won"
    (signed,) = cli("files", "list", f"customer:{record['customerId']}", "--json").json
    assert signed["id"] == record["signedFileId"] and signed["contentType"] == "application/pdf"
    pdf = anon_client.get(f"/p/{token}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers[
        "content-disposition"]  # fmt: skip
    assert len(pdf.content) == signed["size"]  # the signed copy, with its certificate page
    assert (pages_of(unsigned), pages_of(pdf.content)) == (1, 2)
    timeline = [(e["type"], e["status"]) for e in cli("prospects", "show", p.id, "--json").json["timeline"]]
    for step in [("proposal", "created"), ("proposal", "sent"), ("proposal", "viewed"), ("deal", "won"),
                 ("file", "added"), ("proposal", "accepted")]:  # fmt: skip
        assert step in timeline, step
    before = snapshot(settings)
    again = anon_client.post(f"/p/{token}/accept", data={"name": "X", "agree": "yes", "document": _sha(page.text)})
    assert again.status_code == 409 and snapshot(settings) == before
    # The signed copy is the record of what was agreed: no one removes it (a member could, and the
    # prospect's link then said "No file with id ..." and `proposals pdf` failed).
    refused = cli("files", "remove", signed["id"])
    assert refused.exit_code == 1 and "is the signed copy of a proposal" in refused.stderr
    assert client.delete(f"/api/files/{signed['id']}").status_code == 409
    shown = page_client.get(f"/customers/{record['customerId']}").text
    assert f"/files/{signed['id']}/remove" not in shown  # no button for it
    posted = page_client.post(f"/files/{signed['id']}/remove", data={"csrf_token": page_client.csrf})
    assert posted.status_code == 409
    assert snapshot(settings) == before and anon_client.get(f"/p/{token}/pdf").content == pdf.content


def test_the_signed_pdf_ends_with_a_certificate_of_the_evidence(cli, anon_client, settings, monkeypatch):
    """What the certificate page is made of (the evidence kept on the record), and that the filed PDF is the
    one made with it: the document's pages, then the certificate's."""
    import hashlib

    from leadline.proposals import pdf

    made: list[tuple[dict, bytes]] = []
    real = pdf.render

    def render(document_html: str, *, title: str, certificate: dict | None = None) -> bytes:
        data = real(document_html, title=title, certificate=certificate)
        made.append((dict(certificate or {}), data))
        return data

    monkeypatch.setattr(pdf, "render", render)
    _, proposal = _make(cli, settings)
    token = _send(cli, proposal["id"])
    page = anon_client.get(f"/p/{token}")
    shown = page.text.split("<article", 1)[1].split("</article>", 1)[0]
    accepted = anon_client.post(f"/p/{token}/accept", headers={"user-agent": "Phone Browser 1.0"},
                                data={"name": "Daniel Reyes", "agree": "yes", "document": _sha(page.text)})  # fmt: skip
    assert accepted.status_code == 200
    record = cli("proposals", "show", proposal["id"], "--json").json
    [(certificate, signed)] = [(c, d) for c, d in made if c]
    assert certificate["Signer's name (typed)"] == record["signerName"] == "Daniel Reyes"
    assert certificate["IP address"] == record["signerIp"] and certificate["User agent"] == "Phone Browser 1.0"
    assert certificate["Document SHA-256"] == record["signedSha256"] == _sha(page.text)
    assert certificate["Accepted at (UTC)"] == record["acceptedAt"][:19].replace("T", " ") + " UTC"
    assert certificate["Proposal"] == f"{proposal['id']}, version 1"
    with unit_of_work(settings, readonly=True) as session:
        html = session.execute(text("SELECT html FROM proposal_versions")).scalar_one()
    assert hashlib.sha256(html.encode()).hexdigest() == record["signedSha256"]  # the SHA-256 of what was shown
    assert shown.split(">", 1)[1].strip() in html
    [filed] = cli("files", "list", f"customer:{record['customerId']}", "--json").json
    assert filed["sha256"] == hashlib.sha256(signed).hexdigest() and pages_of(signed) == 2


def test_decline_becomes_the_lost_reason(cli, anon_client, settings):
    p, proposal = _make(cli, settings)
    token = _send(cli, proposal["id"])
    before = snapshot(settings)
    blank = anon_client.post(f"/p/{token}/decline", data={"reason": "  "})
    assert blank.status_code == 422 and "Reason" in blank.text and snapshot(settings) == before
    done = anon_client.post(f"/p/{token}/decline", data={"reason": "Went with a cheaper agency"})
    assert done.status_code == 200 and "declined" in done.text
    shown = cli("prospects", "show", p.id, "--json").json
    assert shown["salesStatus"] == "closed_lost" and "Went with a cheaper agency" in shown["lostReason"]


def test_a_changed_proposal_gets_a_new_version_and_the_old_link_says_so(cli, anon_client, settings):
    _, proposal = _make(cli, settings)
    old = _send(cli, proposal["id"])
    old_page = anon_client.get(f"/p/{old}")
    changed = cli("proposals", "edit", proposal["id"], "--fee", "2100", "--json").json
    assert (changed["version"], changed["status"]) == (2, "draft")
    page = anon_client.get(f"/p/{old}")
    assert (
        page.status_code == 200 and "This version was replaced" in page.text and "Accept the proposal" not in page.text
    )
    before = snapshot(settings)
    refused = anon_client.post(f"/p/{old}/accept", data={"name": "Daniel", "agree": "yes",
                                                         "document": _sha(old_page.text)})  # fmt: skip
    assert refused.status_code == 409 and "can no longer be accepted" in refused.text
    assert snapshot(settings) == before
    new = _send(cli, proposal["id"])
    assert new != old and "2,100" in anon_client.get(f"/p/{new}").text
    assert len(outbox_messages(settings)) == 2


def test_bad_links_and_forms_change_nothing(cli, anon_client, settings):
    _, proposal = _make(cli, settings)
    draft_token = cli("proposals", "show", proposal["id"], "--json").json["url"]
    assert draft_token is None
    token = _send(cli, proposal["id"])
    page = anon_client.get(f"/p/{token}")
    before = snapshot(settings)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, token[:-3], "x" * 200):
        shown = anon_client.get(f"/p/{bad}")
        assert shown.status_code == 404 and "This proposal link is not valid" in shown.text
        accept = anon_client.post(f"/p/{bad}/accept", data={"name": "D", "agree": "yes", "document": "0" * 64})
        assert accept.status_code == 404
        assert anon_client.post(f"/p/{bad}/decline", data={"reason": "no"}).status_code == 404
        assert anon_client.get(f"/p/{bad}/pdf").status_code == 404
    unticked = anon_client.post(f"/p/{token}/accept", data={"name": "Daniel", "document": _sha(page.text)})
    assert unticked.status_code == 422 and "tick the box" in unticked.text
    nameless = anon_client.post(f"/p/{token}/accept", data={"agree": "yes", "document": _sha(page.text)})
    assert nameless.status_code == 422 and "Name" in nameless.text
    other_doc = anon_client.post(f"/p/{token}/accept", data={"name": "D", "agree": "yes", "document": "a" * 64})
    assert other_doc.status_code == 409 and "document changed" in other_doc.text
    assert anon_client.post(f"/p/{token}/views/pvw_nope", content=b"10").status_code == 404
    assert snapshot(settings) == before
    cli("deals", "lost", "--prospect", proposal["prospectId"], "--reason", "went quiet")
    before = snapshot(settings)
    closed = anon_client.post(f"/p/{token}/accept", data={"name": "D", "agree": "yes", "document": _sha(page.text)})
    assert closed.status_code == 409 and "no longer open" in closed.text
    assert anon_client.post(f"/p/{token}/decline", data={"reason": "x"}).status_code == 409
    assert snapshot(settings) == before
    for args, words in [
        (("proposals", "send", proposal["id"]), "was sent already"),
        (("proposals", "send", "prp_nope"), "no proposal with id"),
        (("proposals", "create", "--prospect", "nobody", "--service", "paid_ads", "--fee", "10"), "no prospect"),
        (("proposals", "create", "--prospect", "x", "--service", "paid_ads", "--fee", "0"), "monthlyFee"),
        (("proposals", "send", proposal["id"], "--prospect", "x"), "not both"),
    ]:
        result = cli(*args)
        assert result.exit_code != 0 and words in result.stderr, (args, result.stderr)
    assert snapshot(settings) == before


def test_public_pages_are_rate_limited(cli, anon_client, settings, monkeypatch):
    _, proposal = _make(cli, settings)
    token = _send(cli, proposal["id"])
    configure(monkeypatch, settings, public_requests_per_minute=3)
    codes = [anon_client.get(f"/p/{token}x").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    views = count(settings, "proposal_views")
    limited = anon_client.get(f"/p/{token}")
    assert (
        limited.status_code == 429 and "retry-after" in limited.headers and count(settings, "proposal_views") == views
    )


def test_api(client, settings):
    p = make_prospect(settings)
    made = client.post("/api/proposals/documents",
                       json={"prospectId": p.id, "serviceType": "paid_ads", "monthlyFee": 1500})  # fmt: skip
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    sent = client.post(f"/api/proposals/documents/{pid}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["salesStatus"] == "proposal" and "/p/" in sent.json()["url"]
    assert client.get("/api/proposals/documents", params={"prospectId": p.id}).json()[0]["status"] == "sent"
    pdf = client.get(f"/api/proposals/documents/{pid}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    before = snapshot(settings)
    bad = client.post("/api/proposals/documents", json={"prospectId": p.id, "serviceType": "x", "monthlyFee": 1})
    assert bad.status_code == 422 and bad.json()["field"] == "serviceType"
    assert client.patch(f"/api/proposals/documents/{pid}", json={"monthlyFee": -1}).json()["field"] == "monthlyFee"
    assert snapshot(settings) == before


@pytest.mark.parametrize("field", ["prospect.name", "roi.multiple"])
def test_the_template_sandbox(field, settings, tmp_path, monkeypatch):
    from leadline.proposals import document

    folder = tmp_path / "tpl" / "proposals"
    folder.mkdir(parents=True)
    (folder / "evil.html").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    (folder / "typo.html").write_text("{{ prospekt.name }}")
    (folder / "ok.html").write_text("<article>{{ " + field + " }}</article>")
    configure(monkeypatch, settings, templates_dir=str(tmp_path / "tpl"))
    assert "ok" in document.names(settings)
    with pytest.raises(document.ProposalTemplateError, match="sandbox forbids"):
        document.render("evil", document.load(settings, "evil"), {})
    with pytest.raises(document.ProposalTemplateError, match="unknown field prospekt"):
        document.render("typo", document.load(settings, "typo"), {})


def test_the_rate_limiter_window_and_memory(monkeypatch):
    from leadline.web import ratelimit

    windows = ratelimit._Windows()
    key = (1, "proposal", "203.0.113.9")
    assert [windows.take(key, 2, now=t) for t in (0.0, 1.0)] == [None, None]
    assert windows.take(key, 2, now=30.0) == pytest.approx(30.0)  # wait until the first one is a minute old
    assert windows.take((1, "proposal", "198.51.100.1"), 2, now=30.0) is None  # another address is not held up
    assert windows.take(key, 2, now=60.5) is None  # the first one has left the window
    monkeypatch.setattr(ratelimit, "_MAX_CLIENTS", 3)
    for n in range(10):
        windows.take((1, "proposal", f"10.0.0.{n}"), 2, now=70.0)  # all still in their window
    assert len(windows.seen) <= 4


def test_without_pango_the_pdf_and_acceptance_say_so_and_change_nothing(cli, anon_client, settings, monkeypatch):
    """A server without Pango (WeasyPrint cannot load): the prospect's PDF and acceptance answer 503
    naming what is missing, the page itself still opens, and nothing is accepted."""
    import sys

    _, proposal = _make(cli, settings)
    token = _send(cli, proposal["id"])
    page = anon_client.get(f"/p/{token}")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it fails, as without its libraries
    before = snapshot(settings)
    pdf = anon_client.get(f"/p/{token}/pdf")
    assert pdf.status_code == 503 and "Pango" in pdf.text, pdf.text
    accepted = anon_client.post(f"/p/{token}/accept",
                                data={"name": "Daniel Reyes", "agree": "yes", "document": _sha(page.text)})  # fmt: skip
    assert accepted.status_code == 503 and "Pango" in accepted.text, accepted.text
    assert snapshot(settings) == before
    assert anon_client.get(f"/p/{token}").status_code == 200
