"""Migration 0029: the totals table, filled from the rows already there (the recount's code); downgrade drops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadline.analytics import totals
from leadline.calls.models import CallActivity
from leadline.config import Settings
from leadline.customers.models import Customer
from leadline.db import dispose_engines
from leadline.emails.models import EmailActivity
from leadline.migrate import downgrade, head_revision, upgrade
from leadline.prospects.models import Prospect
from tests.analytics.conftest import call_row, customer_row, email_row, prospect_row
from tests.test_migrations import _fresh_url

SENT = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_totals_are_counted_from_existing_rows_and_dropped_on_downgrade(kind, tmp_path):
    url = _fresh_url(kind, tmp_path)
    settings = Settings(database_url=url, timezone="America/Chicago")
    upgrade(settings, "0028")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(Prospect.__table__), [prospect_row(id=p, tier=1) for p in ("a", "b")])
            emails = [email_row("a", SENT, status="delivered", delivered_at=SENT + timedelta(minutes=1)),
                      email_row("b", SENT, status="opened", opened_at=SENT + timedelta(days=1), open_count=1)]  # fmt: skip
            keys = {key for row in emails for key in row}
            connection.execute(sa.insert(EmailActivity.__table__), [{k: r.get(k) for k in keys} for r in emails])
            connection.execute(sa.insert(CallActivity.__table__), [call_row("a", SENT + timedelta(days=2))])
            connection.execute(sa.insert(Customer.__table__), [customer_row("b", SENT + timedelta(days=3), 500.0)])
        assert upgrade(settings)[1] == head_revision()
        with engine.connect() as connection:
            kept = totals.stored(connection)
            assert totals.compare(totals.count_all(connection, settings.zone), kept) == []
            figures = {key[0] for key in kept}
            assert {
                "sent",
                "delivered",
                "opened",
                "calls.booked",
                "deals.won",
                "prospects",
                "reached.contacted",
            } <= figures
            assert sum(v[0] for k, v in kept.items() if k[0] == "sent") == 2
        downgrade(settings, "0028")
        with engine.connect() as connection:
            assert "analytics_totals" not in sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()
        dispose_engines()
