"""Builders for test data and helpers to check that nothing changed.

Each takes the test's settings (the ``settings`` fixture, or whatever settings the test runs
under): nothing here reads the process environment."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import text

from leadline.config import Settings
from leadline.db import Base, unit_of_work
from leadline.prospects import service as prospects
from leadline.prospects.schemas import ProspectCreate, ProspectRead

_numbers = itertools.count(1)


def make_prospect(settings: Settings, **overrides: Any) -> ProspectRead:
    """A prospect made through the service (so the timeline is right), committed."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "name": f"Test Plumbing {n}",
        "trade": "plumbing",
        "contact_name": "Pat Doe",
        "email": f"owner{n}@testplumbing{n}.com",
        "city": "Austin",
        "state": "TX",
        "tier": 1,
        "grid_health": 48,
        "critical_gaps": 3,
        "gaps": ["No online booking", "Fewer than 20 Google reviews"],
        "top_competitor": "Summit Plumbing",
        "competitor_health": 80,
    }
    values.update(overrides)
    with unit_of_work(settings) as session:
        prospect = prospects.create(session, ProspectCreate.model_validate(values), actor="test")
        return ProspectRead.model_validate(prospect)


BOOKKEEPING = {("api_tokens", "last_used_at")}


def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after a refused change.

    When an API token was last used is bookkeeping of the request itself, not a change, so it is left out."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with unit_of_work(settings, readonly=True) as session:
        for table in Base.metadata.sorted_tables:
            columns = ", ".join(c.name for c in table.columns if (table.name, c.name) not in BOOKKEEPING)
            rows = session.execute(text(f"SELECT {columns} FROM {table.name}")).all()
            found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return found


def count(settings: Settings, table: str) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def tampered(token: str) -> str:
    """``token`` with one character of its signature changed, so it can never verify.

    A character in the middle is changed, not the last: base64's last character carries spare bits, and a
    few different last characters decode to the same signature."""
    at = len(token) - 6
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
