"""Every sort and filter of the prospect list reads an index on SQLite (issue 21.2): no first page sorts
the whole table, and no filter's page or count reads every row. What SQLite's planner says it will do
(EXPLAIN QUERY PLAN) after the migrations' statistics, so that a change of a query or an index that
loses this shows here; the speed itself is measured in benchmarks/list_filters.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from leadline.db import unit_of_work
from leadline.prospects import queries
from leadline.prospects.schemas import ProspectFilter
from tests.factories import make_prospect

SORTS = ["created", "-created", "name", "-name", "grid_health", "-grid_health", "tier", "-tier"]
FILTERS = [
    {"status": "proposal"}, {"tier": 2}, {"trade": "roofing"}, {"owner": "ann@acme.test"}, {"tag": "vip"},
    {"doNotContact": True}, {"search": "plumb"}, {"search": "pl"},
]  # fmt: skip


def _plan(settings, sql: str, params: dict) -> str:
    with unit_of_work(settings, readonly=True) as session:
        return " | ".join(row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql), params))


@pytest.fixture
def listed(sqlite_settings):
    """SQLite only: PostgreSQL's planner chooses by its own statistics, which a test database lacks."""
    for n in range(30):
        make_prospect(sqlite_settings, name=f"Biz {n}", email=f"b{n}@x.test", tier=1 + n % 3, grid_health=n)
    return sqlite_settings


@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_walks_an_index(listed, sort):
    query = queries.build(queries.Filters(), dialect="sqlite", sort=sort, limit=50, peek=True)
    plan = _plan(listed, query.sql, query.params)
    assert "USING INDEX" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


@pytest.mark.parametrize("given", FILTERS, ids=lambda given: next(iter(given)) + "=" + str(next(iter(given.values()))))
def test_each_filter_reads_an_index_for_its_page_and_its_count(listed, given):
    query = queries.build(ProspectFilter.model_validate(given).query(), dialect="sqlite", limit=50, peek=True)
    for sql, params in ((query.sql, query.params), (query.count_sql, query.count_params)):
        plan = _plan(listed, sql, params)
        assert not any(step.strip() == "SCAN prospects" for step in plan.split("|")), plan
