"""Search across the app (issue 17.7): the service on both databases, the API, and the pages (the header's
box in Chromium: tests/web/test_browser_search.py)."""

from __future__ import annotations

import pytest

from leadline.db import unit_of_work
from leadline.errors import Invalid
from leadline.search import service
from tests.factories import make_prospect, snapshot
from tests.web.helpers import book_call, make_customer, send_email


def _find(settings, text: str, **options):
    with unit_of_work(settings, readonly=True) as session:
        return [(hit.kind, hit.id, hit.label) for hit in service.search(session, text, **options)]


@pytest.fixture
def world(settings):
    """Royal (Chicago, a phone), a customer, an email to Summit, and a call with notes."""
    royal = make_prospect(settings, name="Royal Plumbing Co", contact_name="Daniel Reyes", city="Chicago",
                          phone="(312) 555-0142", email="daniel@royalplumbing.com")  # fmt: skip
    make_prospect(settings, name="Loyal Roofing", city="Austin", email="hi@loyal-roofing.com")
    make_prospect(settings, name="Under_score 100% Heating", city="Dallas")
    won = make_prospect(settings, name="Baker Electric", contact_name="Mia Baker")
    customer = make_customer(settings, won.id)
    summit = make_prospect(settings, name="Summit Electric", email="owner@summit-electric.com")
    email = send_email(settings, summit.id)
    call = book_call(settings, royal.id, notes="Daniel asked about case studies for Chicago plumbers")
    return {"royal": royal.id, "customer": customer, "email": email, "call": call}


def test_each_kind_is_found_by_what_a_person_remembers(settings, world):
    assert ("prospect", world["royal"], "Royal Plumbing Co") in _find(settings, "royal")
    assert _find(settings, "daniel reyes", kinds=["prospect"]) == [("prospect", world["royal"], "Royal Plumbing Co")]
    assert _find(settings, "chicago", kinds=["prospect"]) == [("prospect", world["royal"], "Royal Plumbing Co")]
    assert _find(settings, "royalplumbing.com", kinds=["prospect"])[0][1] == world["royal"]
    for typed in ("3125550142", "555-0142", "(312) 555"):  # the phone's digits, however typed
        assert _find(settings, typed, kinds=["prospect"]) == [("prospect", world["royal"], "Royal Plumbing Co")]
    assert _find(settings, "mia baker", kinds=["customer"]) == [("customer", world["customer"], "Baker Electric")]
    subject_hits = _find(settings, "summit", kinds=["email"])
    assert [h[1] for h in subject_hits] == [world["email"]]
    assert _find(settings, "case studies", kinds=["call"]) == [("call", world["call"], "Call with Royal Plumbing Co")]


def test_the_prospect_lists_find_a_phone_as_it_is_written_too(settings, world, client, cli):
    """The list's search filter reads a phone the way the global search does (it found nothing for the
    phone as stored, "(312) 555-0142"): the API's list and its total, the CLI's list, the page."""
    for typed in ("(312) 555-0142", "555-0142", "312 555 0142", "+1 312.555.0142"[3:]):
        listed = client.get("/api/prospects", params={"search": typed})
        assert [p["id"] for p in listed.json()["items"]] == [world["royal"]], (typed, listed.text)
        assert listed.json()["total"] == 1
        shown = cli("prospects", "list", "--search", typed, "--json").json
        assert [p["id"] for p in shown] == [world["royal"]], typed
    assert [p["id"] for p in client.get("/api/prospects", params={"search": "555-0142 chicago"}).json()["items"]] == []


def test_a_name_that_starts_with_the_text_comes_first(settings, world):
    assert [label for _, _, label in _find(settings, "oyal", kinds=["prospect"])] == [
        "Loyal Roofing", "Royal Plumbing Co"]  # fmt: skip
    make_prospect(settings, name="Roofline Builders")
    assert [label for _, _, label in _find(settings, "roof", kinds=["prospect"])] == [
        "Roofline Builders", "Loyal Roofing"]  # fmt: skip


def test_the_best_matches_are_found_among_many_and_the_page_leads_to_every_one(settings, world, page_client):
    """With more than eight matches, the index's first eight were shown in whatever order it found them:
    a name starting with the text could be left off, and the page gave no way to the rest."""
    for n in range(30):
        make_prospect(settings, name=f"Acme {n} Services", contact_name=f"Maria Lopez {n}")
    make_prospect(settings, name="Maria's Maids", contact_name="Maria Chen")
    found = [label for _, _, label in _find(settings, "maria", kinds=["prospect"])]
    assert len(found) == 8 and found[0] == "Maria's Maids"
    shown = page_client.get("/search", params={"q": "maria"}).text
    assert shown.count("<li>") >= 8 and 'href="/prospects?search=maria"' in shown
    listed = page_client.get("/prospects", params={"search": "maria"}).text
    assert "Maria&#39;s Maids" in listed and "Acme 29 Services" in listed
    hint = page_client.get("/search", params={"q": "ma"})
    assert hint.status_code == 200 and "Type at least 3 characters." in hint.text


def test_wildcards_are_plain_characters(settings, world):
    assert [h[2] for h in _find(settings, "100%", kinds=["prospect"])] == ["Under_score 100% Heating"]
    assert [h[2] for h in _find(settings, "r_s", kinds=["prospect"])] == ["Under_score 100% Heating"]
    assert _find(settings, "%%%", kinds=["prospect"]) == []
    assert [h[2] for h in _find(settings, 'co"', kinds=["prospect"])] == []  # a quote is a character too


def test_too_short_or_too_long_is_refused_and_changes_nothing(settings, world):
    before = snapshot(settings)
    for text, message in (("ro", "at least 3"), ("  x\t ", "at least 3"), ("y" * 101, "at most 100")):
        with pytest.raises(Invalid, match=message) as refused, unit_of_work(settings, readonly=True) as session:
            service.search(session, text)
        assert refused.value.field == "q"
    assert snapshot(settings) == before


def test_the_api_gives_kind_id_label_and_url(client, settings, world):
    answer = client.get("/api/search", params={"q": "royal"})
    assert answer.status_code == 200
    hits = answer.json()["hits"]
    royal = next(h for h in hits if h["id"] == world["royal"])
    assert royal == {"kind": "prospect", "id": world["royal"], "label": "Royal Plumbing Co",
                     "detail": "Daniel Reyes · Chicago · scheduled", "url": f"/prospects/{world['royal']}"}  # fmt: skip
    assert client.get(royal["url"].replace("/prospects", "/api/prospects")).status_code == 200
    only = client.get("/api/search", params=[("q", "baker"), ("kind", "customer")]).json()["hits"]
    assert [h["kind"] for h in only] == ["customer"]
    short = client.get("/api/search", params={"q": "ro"})
    assert short.status_code == 422 and "q" in short.text
    assert client.get("/api/search", params={"q": "roy", "kind": "planet"}).status_code == 422


def test_the_search_page_works_without_javascript(page_client, settings, world):
    answer = page_client.get("/search", params={"q": "case studies"})
    assert answer.status_code == 200 and "Call with Royal Plumbing Co" in answer.text
    assert f'href="/calls/{world["call"]}"' in answer.text
    nothing = page_client.get("/search", params={"q": "zzzz"})
    assert "Nothing matches" in nothing.text
    options = page_client.get("/search/prospects", params={"prospectId": "royal"})
    assert f'<option value="{world["royal"]}">Royal Plumbing Co' in options.text


def test_the_index_follows_every_writer(settings, world, tmp_path):
    """Edits (through the service and in raw SQL), deletes and a bulk import are found (or no longer found) at once."""
    from sqlalchemy import delete, text

    from leadline.prospects import service as prospects
    from leadline.prospects.models import Prospect
    from leadline.prospects.schemas import ProspectUpdate

    with unit_of_work(settings) as session:
        prospects.update(session, world["royal"], ProspectUpdate(name="Regal Pipes", city="Evanston"), actor="test")
    assert _find(settings, "royal plumbing", kinds=["prospect"]) == []
    assert _find(settings, "regal pip", kinds=["prospect"]) == [("prospect", world["royal"], "Regal Pipes")]
    assert _find(settings, "evanston", kinds=["prospect"])[0][1] == world["royal"]
    with unit_of_work(settings) as session:
        session.execute(text("UPDATE prospects SET email = 'sales@loyal.example' WHERE name = 'Loyal Roofing'"))
    assert [h[2] for h in _find(settings, "sales@loyal", kinds=["prospect"])] == ["Loyal Roofing"]
    assert _find(settings, "hi@loyal-roofing", kinds=["prospect"]) == []
    with unit_of_work(settings) as session:
        session.execute(text("DELETE FROM outreach_activities WHERE prospect_id = 'loyal_roofing'"))
        session.execute(delete(Prospect).where(Prospect.name == "Loyal Roofing"))
    assert _find(settings, "loyal", kinds=["prospect"]) == []
    upload = tmp_path / "more.csv"
    upload.write_text("Company,Email,City\nQuillfeather Glass,q@quill.example,Boise\n")
    from leadline.prospects.flows import import_file

    import_file(settings, upload, actor="test")  # staged, then published in batches
    assert [h[2] for h in _find(settings, "quillfeath")] == ["Quillfeather Glass"]
    assert [h[2] for h in _find(settings, "boise", kinds=["prospect"])] == ["Quillfeather Glass"]


@pytest.mark.postgres
def test_postgres_answers_from_the_trigram_index(postgres_url, tmp_path, monkeypatch):
    """The indexed expression and the query's are the same text, so PostgreSQL uses the index."""
    from sqlalchemy import text

    from leadline.search.index import PG_TEXTS
    from tests.conftest import make_settings

    settings = make_settings(postgres_url, tmp_path)
    with unit_of_work(settings) as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        for table, expression in PG_TEXTS.items():
            plan = "\n".join(session.scalars(text(f"EXPLAIN SELECT id FROM {table} WHERE {expression} LIKE '%abc%'")))
            assert f"search_{table}" in plan, plan
        # Each row the index finds is checked against the prospect's stored text (migration 0042), not
        # against the expression worked out again (its regexp_replace cost ~3 us a row).
        plan = "\n".join(
            session.scalars(text(f"EXPLAIN SELECT id FROM prospects WHERE {PG_TEXTS['prospects']} LIKE '%abc%'"))
        )
        assert "Recheck Cond: (search_text ~~ '%abc%'::text)" in plan, plan
        generated = session.scalar(text("SELECT generation_expression FROM information_schema.columns"
                                        " WHERE table_name = 'prospects' AND column_name = 'search_text'"))  # fmt: skip
        assert generated is not None and "regexp_replace" in generated
