"""A filter matching many prospects, listed in another order, is read by walking the sort's index
(``queries.build(walk=...)``, chosen by ``queries.walk_length``; issue 21.2): its pages are exactly the
usual plan's, page after page, whatever the sort, the filters and the letters searched for."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from leadline.db import refresh_statistics, unit_of_work
from leadline.prospects import queries, service
from leadline.prospects.schemas import ProspectFilter

TRADES = ["roofing", "plumbing", "hvac"]
CITIES = ["Austin", "Tulsa", "Reno", "Zürich"]
KELVIN = "\u212aelvin"  # the Kelvin sign, which the text index folds into k
SORTS = ["created", "-created", "name", "-name", "grid_health", "-grid_health", "tier", "-tier", "updated"]
FILTERS = [
    {"trade": "roofing"}, {"status": "contacted"}, {"tier": 2}, {"tag": "vip"}, {"owner": "ann@acme.test"},
    {"search": "austin"}, {"search": "tul"}, {"search": "re"}, {"search": "zür"}, {"search": "kelv"},
    {"search": "55501"}, {"trade": "roofing", "search": "reno"}, {"status": "contacted", "tag": "vip"},
    {"doNotContact": False, "tier": 3}, {"gridHealthMin": 50, "trade": "hvac"},
]  # fmt: skip


@pytest.fixture
def many(sqlite_settings):
    """300 prospects written with bare SQL (the text index's triggers keep it), some names with a
    letter that the text index folds into ASCII (the Kelvin sign: K)."""
    rng = random.Random(7)
    with unit_of_work(sqlite_settings) as session:
        for n in range(300):
            city = CITIES[n % len(CITIES)]
            lead = KELVIN if n % 37 == 0 else city
            name = f"{lead} {TRADES[n % 3].title()} {rng.randrange(1000)}"
            session.execute(
                text(
                    "INSERT INTO prospects (id, name, trade, email, phone, city, tier, grid_health, gaps, status, "
                    "sales_status, owner, created_at, updated_at, emails_sent_count, emails_opened_count, "
                    "calls_scheduled_count, calls_completed_count, do_not_contact) VALUES (:id, :name, :trade, "
                    ":email, :phone, :city, :tier, :grid, '[]', 'active', :stage, :owner, :created, :created, "
                    "0, 0, 0, 0, :dnc)"
                ),
                {
                    "id": f"p{n:04d}", "name": name, "trade": TRADES[n % 3], "email": f"o{n}@x.test",
                    "phone": f"(512) 555-{n:04d}", "city": city, "tier": 1 + rng.randrange(3),
                    "grid": None if n % 11 == 0 else rng.randrange(100), "owner": "ann@acme.test" if n % 4 else None,
                    "stage": "contacted" if n % 5 else "new", "dnc": n % 13 == 0,
                    "created": f"2026-01-{1 + rng.randrange(28):02d} 10:00:00.000000",
                },
            )  # fmt: skip
            if n % 3 == 0:
                session.execute(
                    text("INSERT INTO prospect_tags (prospect_id, tag) VALUES (:id, 'vip')"), {"id": f"p{n:04d}"}
                )
        refresh_statistics(session.connection())
    return sqlite_settings


def _rows(settings, sql: str, params: dict) -> list[dict]:
    with unit_of_work(settings, readonly=True) as session:
        return [dict(row._mapping) for row in session.execute(text(sql), params)]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("given", FILTERS, ids=lambda given: "&".join(f"{k}={v}" for k, v in given.items()))
def test_a_walked_page_is_the_usual_plans_page(many, given, sort):
    filters = ProspectFilter.model_validate(given).query()
    everything = _rows(many, *_sql_params(queries.build(filters, dialect="sqlite", sort=sort, limit=None)))
    for limit, page in ((5, None), (7, 3)):
        usual = queries.build(filters, dialect="sqlite", sort=sort, limit=limit, page=page, peek=True)
        for walk in (1, 20, 300):
            walked = queries.build(filters, dialect="sqlite", sort=sort, limit=limit, page=page, peek=True, walk=walk)
            rows = _rows(many, walked.sql, walked.params)
            if queries.walked_page(walked, rows):
                assert [r["id"] for r in rows] == [r["id"] for r in _rows(many, usual.sql, usual.params)]
            else:
                assert walk < 300 or len(everything) < (page or 1) * limit + 1


@pytest.mark.parametrize("sort", ["name", "-grid_health", "created"])
def test_walked_pages_follow_one_another_by_cursor(many, sort):
    filters = ProspectFilter.model_validate({"status": "contacted"}).query()
    expected = [
        r["id"] for r in _rows(many, *_sql_params(queries.build(filters, dialect="sqlite", sort=sort, limit=None)))
    ]
    seen: list[str] = []
    cursor = None
    while True:
        walked = queries.build(filters, dialect="sqlite", sort=sort, limit=10, cursor=cursor, peek=True, walk=300)
        rows = _rows(many, walked.sql, walked.params)
        seen += [r["id"] for r in rows[:10]]
        if len(rows) <= 10:
            break
        cursor = queries.encode_cursor(rows[9], sort)
    assert seen == expected


def test_the_search_walk_finds_what_the_text_index_finds(many):
    """The walk tests each row's own index entry (its text, case-folded as the index folds it)."""
    for term in ("kelv", "austin", "tulsa roofing", "5550", "zür", "re"):
        filters = queries.Filters(search=term)
        usual = _rows(many, *_sql_params(queries.build(filters, dialect="sqlite", limit=None)))
        assert usual, term
        walked = queries.build(filters, dialect="sqlite", limit=300, walk=300)
        assert {r["id"] for r in _rows(many, walked.sql, walked.params)} == {r["id"] for r in usual}, term
        query = queries.build(filters, dialect="sqlite")
        assert _rows(many, *query.counting())[0]["count(*)"] == len(usual), term


def _sql_params(query: queries.ListQuery) -> tuple[str, dict]:
    return query.sql, query.params


@pytest.mark.parametrize("count_limit", [None, 40])
@pytest.mark.parametrize(
    ("given", "sort"), [({"status": "contacted"}, "name"), ({"search": "austin"}, "-name"), ({"tag": "vip"}, "tier")]
)
def test_the_service_pages_and_counts_as_without_the_walk(many, given, sort, count_limit, monkeypatch):
    filters = ProspectFilter.model_validate(given).query()
    usual = queries.build(filters, dialect="sqlite", sort=sort, limit=None)
    expected = [r["id"] for r in _rows(many, usual.sql, usual.params)]
    pages = []
    for walk in (300, 3, None):  # the whole table; a walk too short for the page; no walk
        monkeypatch.setattr(queries, "walk_length", lambda *args, walk=walk, **kwargs: walk)
        with unit_of_work(many, readonly=True) as session:
            first = service.search(session, filters, sort=sort, limit=5, count_limit=count_limit)
            second = service.search(session, filters, sort=sort, limit=5, cursor=first.next_cursor)
            third = service.search(session, filters, sort=sort, limit=5, page=3)
        pages.append([[p.id for p in page.items] for page in (first, second, third)])
        assert first.total == (len(expected) if count_limit is None else min(len(expected), count_limit + 1))
    assert pages[0] == pages[1] == pages[2] == [expected[:5], expected[5:10], expected[10:15]]


def test_a_common_search_is_walked(many):
    """The search filter lists every match for the usual plan: with a quarter of the prospects matching,
    the first page is found by walking the sort's order instead."""
    filters = queries.Filters(search="austin")
    query = queries.build(filters, dialect="sqlite", sort="-name", limit=5, peek=True)
    with unit_of_work(many, readonly=True) as session:

        def fetch(sql: str, params: dict) -> list:
            return list(session.execute(text(sql), params))

        total = fetch(*query.counting())[0][0]
        assert total == 75
        assert queries.walk_length(fetch, query, total, 6, "sqlite") == queries.WALK_SPARE * 24 + 100
        assert queries.walk_length(fetch, query, total, 6, "postgresql") is None
        assert queries.walk_length(fetch, query, 5, 6, "sqlite") is None  # fewer matches than the page


@pytest.mark.parametrize("args", [["--search", "austin", "--sort=-name"], ["--status", "contacted", "--json"]])
def test_the_fast_cli_prints_the_same_page_walked_or_not(many, args, monkeypatch, capsys):
    import sqlite3

    from leadline.prospects import listing

    options = listing.parser().parse_args([*args, "--limit", "5", "--page", "2"])
    filters = listing.checked_filters(options)
    connection = sqlite3.connect(str(many.database_url).removeprefix("sqlite:///"))
    connection.row_factory = sqlite3.Row

    def fetch(sql: str, params: dict) -> list[dict]:
        return [dict(row) for row in connection.execute(sql, params)]

    printed = []
    for walk in (300, 3, None):
        monkeypatch.setattr(queries, "walk_length", lambda *args, walk=walk, **kwargs: walk)
        assert listing.run(options, fetch, filters, dialect="sqlite", zone_name="UTC") == 0
        printed.append(capsys.readouterr().out)
    connection.close()
    assert printed[0] == printed[1] == printed[2]
    assert "6-10 of" in printed[0] or printed[0].startswith("[")
